"""The naive, obviously correct oracle: try every way to cut the chain, keep the best.

Kept in the package (like onnx's ``reference`` backend) so that tests and users can check any
strategy against it on small models.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.strategies.plan import Plan, Timer, check_num_segments, make_plan

#: Refuse instances with more partitions than this (the oracle is for small models).
MAX_PARTITIONS = 2_000_000


def brute_force_cuts(n: int, num_segments: int, latency: Callable[[int, int], float]
                     ) -> tuple[tuple[int, ...], float]:
    """Cuts minimising the largest segment latency, by enumeration.

    Parameters
    ----------
    n : int
        Number of ops.
    num_segments : int
        Number of non-empty contiguous segments.
    latency : callable
        ``latency(start, end) -> float`` for ops ``[start, end)``.

    Returns
    -------
    (cuts, bottleneck) : the lexicographically first optimal cuts and their bottleneck.

    Notes
    -----
    Enumerates all C(n - 1, N - 1) partitions: exact for any costs, exponential in N.
    """
    best: tuple[tuple[int, ...], float] | None = None
    for cuts in itertools.combinations(range(1, n), num_segments - 1):
        edges = (0, *cuts, n)
        value = max(latency(a, b) for a, b in itertools.pairwise(edges))
        if best is None or value < best[1]:
            best = (cuts, float(value))
    assert best is not None
    return best


def brute_force(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """The minimum-bottleneck plan, found by trying every partition (small models only).

    Complexity: C(n - 1, N - 1) partitions, every one of the n(n+1)/2 segments evaluated.
    Raises TpusplitError when there are more than :data:`MAX_PARTITIONS` partitions.
    """
    check_num_segments(graph, num_segments)
    n = len(graph.ops)
    from math import comb

    if comb(n - 1, num_segments - 1) > MAX_PARTITIONS:
        raise TpusplitError(f"{graph.source}: brute force would try "
                            f"{comb(n - 1, num_segments - 1):,} partitions; use optimal")
    timer = Timer(cost)
    cuts, value = brute_force_cuts(n, num_segments, cost.latency)
    return make_plan("brute_force", graph, cost, cuts, timer, lower_bound_ms=value)
