"""The ``balanced`` strategy: Segm_Balanced (depth-aware cuts, balanced latency, no streaming).

Villarrubia, Costero, Igual, Olcoz, "Balanced segmentation of CNNs for multi-TPU inference",
J. Supercomputing 2025 (arXiv 2503.01035), made concrete on any cost source:

1. **Depth-aware cut points.** A cut is *narrow* when few tensors cross it. Cuts crossed by a
   single tensor are between blocks (never inside a branch or a residual); only when there
   are fewer of them than the N - 1 cuts needed, the width allowed grows (2 tensors, 3, ...)
   until there are enough. The bytes crossing a cut are paid in each segment's latency
   (boundary I/O), so step 2 already prefers small tensors among narrow cuts.
2. **Workload balancing.** Among partitions whose cuts are all narrow, the one with the
   smallest bottleneck latency, found exactly (:func:`tpusplit.partition.minmax` on the
   narrow positions only, with the cost source's lower bound when it has one); among equal
   bottlenecks, the smallest latency sum (the shortest pipeline fill).
3. **Refinement against streaming.** If a segment of that partition streams parameters from
   the host, take instead the fastest partition in which no segment streams (the same exact
   DP with streaming segments forbidden; a segment is assumed to keep streaming when it
   grows, so each start's longest fitting segment is found by binary search), on narrow cuts
   first and on any cut only when narrow cuts cannot avoid streaming. So when the TPUs' total
   cache can hold the model, no segment streams. If streaming is unavoidable and the
   balanced partition streams more than the compiler's split, take the partition that
   streams the fewest bytes, then has the smallest bottleneck (a DP on the lexicographic pair
   (streamed bytes, bottleneck), exact because the pair composes monotonically) among the
   narrow cuts and the compiler's cuts: ``balanced`` never streams more than ``compiler``.

Complexity: step 2 evaluates at most m(m+1)/2 segments for m narrow cuts (pruned like
``optimal``); step 3, only if needed, O(n log n) fit checks plus at most n(n+1)/2 fitting
segments, or (m + N)^2 / 2 for the least-streaming DP; O(N n^2) time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.partition import bisect, minmax, spans
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan
from tpusplit.strategies.compiler import compiler_cuts


def narrow_cuts(graph: Graph, needed: int) -> tuple[list[int], int]:
    """Inner cut positions crossed by the fewest tensors, at least ``needed`` of them.

    Returns the positions (increasing) and the width (tensor count) allowed.
    """
    n = len(graph.ops)
    widths = {k: len(graph.crossing(k)) for k in range(1, n)}
    for w in sorted(set(widths.values())):
        cand = [k for k in range(1, n) if widths[k] <= w]
        if len(cand) >= needed:
            return cand, w
    return list(range(1, n)), max(widths.values(), default=0)


def _minmax(positions: Sequence[int], num_segments: int, cost: CostSource,
            reach: Sequence[int] | None = None) -> tuple[tuple[int, ...], float]:
    """Exact min-bottleneck partition whose cuts are in ``positions`` (excluding 0 and n).

    With ``reach``, segment ``[a, b)`` is allowed only if ``b <= reach[a]`` (others count as
    infinitely slow and are never evaluated); the value is ``inf`` when nothing is allowed.
    """
    pos = np.array([0, *positions, len(cost.graph.ops)])
    m = len(pos) - 1
    limit = None if reach is None else np.asarray([*reach, len(cost.graph.ops)])[pos]
    bound = cost.lower_bound()

    def allowed(i: Any, j: Any) -> Any:
        return True if limit is None else pos[j] <= limit[i]

    def lat(i: int, j: int) -> float:
        return cost.latency(int(pos[i]), int(pos[j])) if allowed(i, j) else math.inf

    def lower(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        base = bound(pos[i], pos[j]) if bound is not None else np.zeros(np.shape(i))
        return np.where(allowed(i, j), base, np.inf)

    start = tuple(round(m * s / num_segments) for s in range(1, num_segments))
    start = tuple(sorted(set(max(1, min(m - 1, c)) for c in start)))
    if len(start) != num_segments - 1:
        start = tuple(range(1, num_segments))
    incumbent = None if bound is not None else bisect(m, num_segments, lat, start, 1e-3)[0].cuts
    found = minmax(m, num_segments, lat, lower=lower, incumbent=incumbent, fill=True,
                   rounds=8 if bound is not None else 0)
    return tuple(int(pos[c]) for c in found.cuts), found.value


def fit_reach(cost: CostSource) -> list[int]:
    """``reach[a]``: the largest ``b`` with ops ``[a, b)`` fitting on chip (``a`` if none).

    Binary search per start, assuming that a segment that streams keeps streaming when it
    grows (true of whole-layer caching up to boundary effects). O(n log n) evaluations.
    """
    n = len(cost.graph.ops)
    reach = []
    for a in range(n):
        lo, hi = a, n  # lo: known to fit (a: the empty segment)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if cost.fits(a, mid):
                lo = mid
            else:
                hi = mid - 1
        reach.append(lo)
    return reach


def _least_streaming(positions: Sequence[int], num_segments: int, cost: CostSource
                     ) -> tuple[int, ...]:
    """Partition with cuts in ``positions`` minimising (streamed bytes, bottleneck)."""
    pos = [0, *positions, len(cost.graph.ops)]
    found = minmax(len(pos) - 1, num_segments, lambda i, j: cost.latency(pos[i], pos[j]),
                   streamed=lambda i, j: cost.segment(pos[i], pos[j]).off_chip_bytes)
    return tuple(pos[c] for c in found.cuts)


def balanced(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """Segm_Balanced's plan of ``graph`` on ``cost`` (see the module docstring)."""
    check_num_segments(graph, num_segments)
    timer = Timer(cost)
    n = len(graph.ops)
    if num_segments == 1:
        return make_plan("balanced", graph, cost, (), timer)
    positions, width = narrow_cuts(graph, num_segments - 1)
    notes = [f"{len(positions)} narrow cut positions (<= {width} crossing tensors)"]
    cuts, _ = _minmax(positions, num_segments, cost)
    streamed = _streamed(cost, cuts)
    if streamed == 0:
        return make_plan("balanced", graph, cost, cuts, timer, notes=notes)
    # refinement 1: the fastest partition in which no segment streams, narrow cuts first
    reach = fit_reach(cost)
    for where, pos in (("narrow", positions), ("any", range(1, n))):
        if where == "any" and len(positions) == n - 1:
            break
        fit_cuts, value = _minmax(pos, num_segments, cost, reach)
        if math.isfinite(value):
            notes.append(f"refined: fastest partition without streaming ({where} cuts)")
            return make_plan("balanced", graph, cost, fit_cuts, timer, notes=notes)
    # refinement 2: streaming is unavoidable; never stream more than the compiler's split
    try:
        comp = compiler_cuts(graph, num_segments)
    except TpusplitError:
        comp = None
    if comp is not None and streamed > _streamed(cost, comp):
        pos = sorted(set(positions) | set(comp))
        cuts = _least_streaming(pos, num_segments, cost)
        notes.append("refined: least streaming (narrow cuts and the compiler's)")
    else:
        notes.append("streaming unavoidable; no more than the compiler's split")
    return make_plan("balanced", graph, cost, cuts, timer, notes=notes)


def _streamed(cost: CostSource, cuts: Sequence[int]) -> int:
    return sum(cost.segment(a, b).off_chip_bytes for a, b in spans(len(cost.graph.ops), cuts))
