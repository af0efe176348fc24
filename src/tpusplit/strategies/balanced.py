"""The ``balanced`` strategy: Segm_Balanced (depth-aware cuts, balanced latency, no streaming).

Villarrubia, Costero, Igual, Olcoz, "Balanced segmentation of CNNs for multi-TPU inference",
J. Supercomputing 2025 (arXiv 2503.01035), made concrete on any cost source:

1. **Depth-aware cut points.** A cut is *narrow* when few tensors cross it. Cuts crossed by a
   single tensor are between blocks (never inside a branch or a residual); only when there
   are fewer of them than the N - 1 cuts needed, the width allowed grows (2 tensors, 3, ...)
   until there are enough. The bytes crossing a cut are paid in each segment's latency
   (boundary I/O), so step 2 already prefers small tensors among narrow cuts.
2. **Workload balancing.** Among partitions whose cuts are all narrow, the one with the
   smallest bottleneck latency, found exactly (the pruned min-max DP of
   :mod:`tpusplit.strategies.optimal` on the narrow positions only).
3. **Refinement against streaming.** If a segment of that partition streams parameters from
   the host, choose instead the narrow partition that streams the fewest bytes in total and,
   among those, has the smallest bottleneck (a DP on the lexicographic pair (streamed bytes,
   bottleneck), exact because the pair composes monotonically). If some parameters must still
   be streamed, the same refinement runs over every cut position (narrowness gives way when
   nothing else works) and wins if it streams less. Therefore, when the TPUs' total cache can
   hold the model with some cuts, no segment streams; and ``balanced`` never streams more than
   ``compiler``, whose partition is among those considered.

Complexity: step 2 evaluates at most m(m+1)/2 segments for m narrow cuts; step 3, only if
needed, all m(m+1)/2 (then n(n+1)/2) segments; O(N m^2) time.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.strategies.optimal import bisect_probe, exact_dp
from tpusplit.strategies.plan import Plan, Timer, check_num_segments, make_plan


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


def _minmax(positions: Sequence[int], num_segments: int, cost: CostSource
            ) -> tuple[tuple[int, ...], float]:
    """Exact min-bottleneck partition whose cuts are in ``positions`` (excluding 0 and n)."""
    pos = [0, *positions, len(cost.graph.ops)]
    m = len(pos) - 1

    def lat(i: int, j: int) -> float:
        return cost.latency(pos[i], pos[j])

    start = tuple(round(m * s / num_segments) for s in range(1, num_segments))
    start = tuple(sorted(set(max(1, min(m - 1, c)) for c in start)))
    if len(start) != num_segments - 1:
        start = tuple(range(1, num_segments))
    cuts, value, _ = bisect_probe(m, num_segments, lat, start, rel_tol=1e-3)
    cuts, value = exact_dp(m, num_segments, lat, (cuts, value))
    return tuple(pos[c] for c in cuts), value


def _least_streaming(positions: Sequence[int], num_segments: int, cost: CostSource
                     ) -> tuple[tuple[int, ...], tuple[int, float]]:
    """Partition with cuts in ``positions`` minimising (streamed bytes, bottleneck).

    DP over layers; every segment between two positions is evaluated. O(N m^2).
    """
    pos = [0, *positions, len(cost.graph.ops)]
    m = len(pos) - 1
    inf = (1 << 62, float("inf"))
    # best[k][j]: lexicographically best (sum, max) of pos[0..j) in k segments
    best: list[list[tuple[int, float]]] = [[inf] * (m + 1) for _ in range(num_segments + 1)]
    arg = [[-1] * (m + 1) for _ in range(num_segments + 1)]
    best[0][0] = (0, 0.0)
    for k in range(1, num_segments + 1):
        lo_j = k
        hi_j = m - (num_segments - k)
        for j in range(lo_j, hi_j + 1):
            for i in range(k - 1, j):
                prev = best[k - 1][i]
                if prev == inf:
                    continue
                seg = cost.segment(pos[i], pos[j])
                cand = (prev[0] + seg.off_chip_bytes, max(prev[1], seg.latency_ms))
                if cand < best[k][j]:
                    best[k][j] = cand
                    arg[k][j] = i
    cuts: list[int] = []
    j = m
    for k in range(num_segments, 1, -1):
        j = arg[k][j]
        cuts.append(pos[j])
    return tuple(sorted(cuts)), best[num_segments][m]


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
    edges = (0, *cuts, n)
    streamed = sum(cost.segment(a, b).off_chip_bytes for a, b in itertools.pairwise(edges))
    if streamed > 0:
        cuts, (streamed, _) = _least_streaming(positions, num_segments, cost)
        notes.append("refined: least streaming among narrow cuts")
        if streamed > 0 and len(positions) < n - 1:
            wide, (wide_streamed, _) = _least_streaming(range(1, n), num_segments, cost)
            if wide_streamed < streamed:
                cuts = wide
                notes.append("refined: least streaming over every cut (streams less)")
    return make_plan("balanced", graph, cost, cuts, timer, notes=notes)
