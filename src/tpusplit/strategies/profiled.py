"""The ``profiled`` strategy: Coral's ``partition_with_profiling`` on any cost source.

libcoral's profiling-based partitioner (tools/partitioner, used by Segm_Prof, Villarrubia et
al., PDP 2023), as described in docs/edgetpu-notes.md section 2:

1. start from the compiler's split (:mod:`tpusplit.strategies.compiler`) and evaluate its
   segments; lower/upper bound = fastest/slowest segment latency;
2. bisect on a target latency ``T = (lower + upper) / 2`` until ``upper - lower <=
   diff_threshold_ms`` (1 ms, libcoral's ``diff_threshold_ns`` default);
3. for each ``T``: segment 0 starts as long as possible (one op left for every later segment,
   model outputs in the last segment) and shrinks by ``search_step`` ops until its latency is
   ``<= T``; then segment 1 from where 0 ended, and so on, backtracking to a shorter earlier
   segment when the rest cannot meet ``T``; the last segment takes the remainder and ``T`` is
   feasible if its latency is ``< T``; feasible: ``upper = T`` and the partition is kept,
   else ``lower = T``;
4. latencies are cached by (start, length): each distinct segment costs one evaluation (a
   profiling run on real hardware).

If no target is feasible the compiler's split is returned. Failed (segment, start) states
are remembered per target, which changes neither the result nor the evaluations, only the
time. Complexity: O(log((upper - lower) / threshold)) targets; at most n(n+1)/2 evaluations.
"""

from __future__ import annotations

import math

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.partition import spans
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan
from tpusplit.strategies.compiler import compiler_cuts

#: libcoral's defaults.
DIFF_THRESHOLD_MS = 1.0
SEARCH_STEP = 1


def search(graph: Graph, num_segments: int, cost: CostSource, target: float,
           step: int = SEARCH_STEP) -> tuple[int, ...] | None:
    """Longest-first search with backtracking for cuts whose segments all meet ``target``.

    Returns the cuts, or None when no partition reachable by the search meets it.
    """
    n = len(graph.ops)
    first_output = graph.output_ops[0] if graph.output_ops else n - 1
    failed: set[tuple[int, int]] = set()
    ahead = cost.parallel

    def place(s: int, start: int) -> list[int] | None:
        if s == num_segments - 1:
            return [] if cost.latency(start, n) < target else None
        if (s, start) in failed:
            return None
        limit = first_output - (num_segments - 2 - s)  # largest end allowed
        length = limit - start
        while length >= 1:
            end = start + length
            if ahead > 1:  # several devices measure at once: ask the next candidates too
                cost.prefetch([(start, start + m) for m in
                               range(length, max(0, length - ahead * step), -step)])
            if cost.latency(start, end) <= target:
                rest = place(s + 1, end)
                if rest is not None:
                    return [end, *rest]
            length -= step
        failed.add((s, start))
        return None

    found = place(0, 0)
    return None if found is None else tuple(found)


def profiled(graph: Graph, num_segments: int, cost: CostSource,
             diff_threshold_ms: float = DIFF_THRESHOLD_MS, step: int = SEARCH_STEP) -> Plan:
    """Coral's profiling-based partition of ``graph`` on ``cost`` (see the module docstring)."""
    check_num_segments(graph, num_segments)
    timer = Timer(cost)
    n = len(graph.ops)
    best = compiler_cuts(graph, num_segments)
    lats = [cost.latency(a, b) for a, b in spans(n, best)]
    lower, upper = min(lats), max(lats)
    if not math.isfinite(upper):  # a segment that cannot run (compiler rejects it, --coral
        upper = cost.latency(0, n)  # exclude): search below the whole model instead
    targets = 0
    while num_segments > 1 and upper - lower > diff_threshold_ms:
        target = (lower + upper) / 2
        if not lower < target < upper:  # float resolution reached
            break
        targets += 1
        found = search(graph, num_segments, cost, target, step)
        if found is None:
            lower = target
        else:
            upper = target
            best = found
    return make_plan("profiled", graph, cost, best, timer,
                     notes=(f"{targets} bisection targets, threshold {diff_threshold_ms} ms",))
