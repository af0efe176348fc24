"""The ``optimal`` strategy: the exact minimum bottleneck over all contiguous partitions.

A thin adapter over :mod:`tpusplit.partition` (chains-on-chains partitioning with arbitrary
segment costs; a segment's latency includes its boundary transfers, so costs need not be
monotone in the op range):

* a cost source that declares itself ``monotone`` is solved by probe-and-bisect
  (:func:`tpusplit.partition.bisect`, Pinar & Aykanat 2004), exact for such costs;
* otherwise the exact dynamic programme :func:`tpusplit.partition.minmax` runs with the cost
  source's lower bound when it has one (:meth:`~tpusplit.costs.base.CostSource.
  lower_bound`: lazy evaluation on the relaxation, then bound-ordered pruning), else from a
  probe-and-bisect incumbent. Among the optimal partitions whose segments were evaluated, the
  one with the smallest latency sum is returned (shortest pipeline fill).

Complexity: at most n(n+1)/2 evaluations and O(N n^2) numpy time; with the Edge TPU model's
bound a few dozen evaluations on the Keras zoo (``benchmarks/partition``).
"""

from __future__ import annotations

import math

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.partition import bisect, minmax
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan


def optimal(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """The exact minimum-bottleneck plan under ``cost`` (see the module docstring)."""
    check_num_segments(graph, num_segments)
    timer = Timer(cost)
    n = len(graph.ops)
    seen: dict[tuple[int, int], float] = {}

    def lat(i: int, j: int) -> float:
        v = seen.get((i, j))
        if v is None:
            v = seen[(i, j)] = cost.latency(i, j)
        return v

    if num_segments == 1:
        return make_plan("optimal", graph, cost, (), timer, lower_bound_ms=lat(0, n))
    start = even_param_cuts(graph, num_segments)
    if cost.monotone:
        found, lower = bisect(n, num_segments, lat, start, rel_tol=1e-9)
        return make_plan("optimal", graph, cost, found.cuts, timer, lower_bound_ms=lower,
                         notes=("monotone cost source: probe-and-bisect is exact",))
    bound = cost.lower_bound()
    notes = ["exact: pruned dynamic programme over all cut positions"]
    incumbent = None
    if bound is None:
        incumbent = bisect(n, num_segments, lat, start, rel_tol=1e-3)[0].cuts
    else:
        notes.append(f"pruned with the {cost.device} lower bound")
    found = minmax(n, num_segments, lat, lower=bound, incumbent=incumbent, fill=True,
                   known=seen)
    return make_plan("optimal", graph, cost, found.cuts, timer, lower_bound_ms=found.value,
                     notes=notes)


def even_param_cuts(graph: Graph, num_segments: int) -> tuple[int, ...]:
    """A valid starting partition: about equal parameter bytes (or ops) per segment."""
    n = len(graph.ops)
    cum = graph.cumulative_param_bytes
    total = int(cum[-1])
    cuts: list[int] = []
    prev = 0
    for s in range(1, num_segments):
        if total > 0:
            target = total * s / num_segments
            k = int(next((i for i in range(prev + 1, n) if cum[i] >= target), n - 1))
        else:
            k = math.floor(n * s / num_segments)
        k = max(k, prev + 1)
        k = min(k, n - (num_segments - s))
        cuts.append(k)
        prev = k
    return tuple(cuts)
