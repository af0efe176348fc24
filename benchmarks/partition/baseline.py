"""The ``optimal`` strategy as it was before issue 13 (commit 4639155), kept to time it.

Frozen copy of the old strategies/optimal.py algorithm (probe-and-bisect incumbent, pruned
DP with the Edge TPU lower bound of that time, shortest fill among the evaluated segments),
so ``benchmarks/partition/run.py`` measures old and new side by side in one run. Not used by
tpusplit. ``segment_lower_bound`` asks the cost source for its bound, as the new search does.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph

Latency = Callable[[int, int], float]


def probe(n: int, num_segments: int, latency: Latency, target: float,
          lo: int = 0) -> tuple[int, ...] | None:
    """Greedy probe: cuts where every segment's latency is ``<= target``, or None.

    Each segment ``[s, e)`` takes the largest ``e`` (found by binary search, which assumes the
    latency grows with ``e``) that leaves one op per remaining segment; the segment found is
    checked, so a non-monotone cost can only make the probe say "no", never return a bad plan.
    Complexity: O(N log n) evaluations.
    """
    cuts: list[int] = []
    start = lo
    for s in range(num_segments - 1):
        hi_end = n - (num_segments - 1 - s)
        if latency(start, start + 1) > target:
            return None
        a, b = start + 1, hi_end  # invariant: latency(start, a) <= target
        while a < b:
            mid = (a + b + 1) // 2
            if latency(start, mid) <= target:
                a = mid
            else:
                b = mid - 1
        cuts.append(a)
        start = a
    if latency(start, n) > target:
        return None
    return tuple(cuts)


def bottleneck(n: int, cuts: tuple[int, ...], latency: Latency) -> float:
    """Largest segment latency of ``cuts``."""
    edges = (0, *cuts, n)
    return max(latency(a, b) for a, b in itertools.pairwise(edges))


def bisect_probe(n: int, num_segments: int, latency: Latency, incumbent: tuple[int, ...],
                 rel_tol: float = 1e-9) -> tuple[tuple[int, ...], float, float]:
    """Bisection on the target latency with :func:`probe`, from a known partition.

    Returns ``(cuts, value, lower)``: the best partition found, its bottleneck, and the largest
    target the probe rejected. For monotone costs ``lower`` is a proved lower bound on the
    optimum and ``value`` is optimal to ``rel_tol``. Complexity: O(log(1/rel_tol)) probes.
    """
    best = incumbent
    hi = bottleneck(n, best, latency)
    lo = 0.0
    while hi - lo > rel_tol * max(hi, 1e-300):
        target = (lo + hi) / 2
        cuts = probe(n, num_segments, latency, target)
        if cuts is None:
            lo = target
        else:
            value = bottleneck(n, cuts, latency)
            best, hi = cuts, value
    return best, hi, lo


def exact_dp(n: int, num_segments: int, latency: Latency,
             incumbent: tuple[tuple[int, ...], float] | None = None,
             lower: Latency | None = None) -> tuple[tuple[int, ...], float]:
    """Exact min-max contiguous partition for arbitrary segment costs (pruned DP).

    Parameters
    ----------
    n, num_segments : int
        Ops and non-empty segments (``1 <= num_segments <= n``).
    latency : callable
        ``latency(i, j)``, cost of ops ``[i, j)``; called only where it can beat the incumbent.
    incumbent : (cuts, value), optional
        A known partition; only strictly better ones are searched for.
    lower : callable, optional
        ``lower(i, j) <= latency(i, j)`` for every segment, cheap (no evaluation); a segment
        whose bound cannot beat the best value known is not evaluated.

    Returns
    -------
    (cuts, value) : an optimal partition and its bottleneck.

    Notes
    -----
    O(N n^2) time and at most n(n+1)/2 cost evaluations. Pruning is exact: a prefix whose
    bottleneck already reaches the best value known cannot be part of a better partition.
    """
    big_n = num_segments
    if incumbent is None:
        inc_cuts = tuple(range(1, big_n))
        incumbent = (inc_cuts, bottleneck(n, inc_cuts, latency))
    best_cuts, upper = incumbent
    if big_n == 1:
        return (), latency(0, n)
    # layer 1: prefix [0, j) as one segment; j leaves one op for each later segment.
    values: dict[int, float] = {}
    for j in range(1, n - big_n + 2):
        if lower is not None and lower(0, j) >= upper:
            continue
        v = latency(0, j)
        if v < upper:
            values[j] = v
    parents: list[dict[int, int]] = [{}]
    for k in range(1, big_n):  # build layer k + 1 from layer k
        last = k == big_n - 1
        order = sorted(values, key=lambda i: (values[i], i))
        nxt: dict[int, float] = {}
        par: dict[int, int] = {}
        ends = [n] if last else range(k + 1, n - (big_n - k - 1) + 1)
        for j in ends:
            best = upper
            arg = -1
            for i in order:
                bi = values[i]
                if bi >= best:
                    break
                if i >= j or (lower is not None and lower(i, j) >= best):
                    continue
                v = latency(i, j)
                if v < bi:
                    v = bi
                if v < best:
                    best, arg = v, i
            if arg >= 0:
                nxt[j] = best
                par[j] = arg
        parents.append(par)
        values = nxt
        if not values:
            return best_cuts, upper
    cuts: list[int] = []
    j = n
    for k in range(big_n - 1, 0, -1):
        j = parents[k][j]
        cuts.append(j)
    return tuple(sorted(cuts)), values[n]


def shortest_fill(n: int, num_segments: int, known: dict[tuple[int, int], float],
                  value: float, cuts: tuple[int, ...]) -> tuple[int, ...]:
    """Tie-break among optimal partitions: the smallest sum of latencies (shortest pipeline
    fill, so the lowest time per inference for a finite batch), using only the segments
    already evaluated (``known``) whose latency is ``<= value``. No new evaluation; the
    bottleneck stays ``value``; ``cuts`` (optimal, all known) is returned if nothing is better.

    Complexity: O(N K) for K known segments.
    """
    ok: dict[int, list[tuple[int, float]]] = {}
    for (i, j), v in known.items():
        if v <= value:
            ok.setdefault(i, []).append((j, v))
    inf = float("inf")
    best: list[dict[int, float]] = [{0: 0.0}]
    parent: list[dict[int, int]] = [{}]
    for k in range(num_segments):
        nxt: dict[int, float] = {}
        par: dict[int, int] = {}
        for i, total in best[k].items():
            for j, v in ok.get(i, ()):
                if j > n - (num_segments - k - 1) or (k == num_segments - 1 and j != n):
                    continue
                if total + v < nxt.get(j, inf):
                    nxt[j], par[j] = total + v, i
        best.append(nxt)
        parent.append(par)
    edges = (0, *cuts, n)
    current = sum(known[(a, b)] for a, b in itertools.pairwise(edges))
    if best[num_segments].get(n, inf) >= current:
        return cuts
    out: list[int] = []
    j = n
    for k in range(num_segments, 1, -1):
        j = parent[k][j]
        out.append(j)
    return tuple(sorted(out))


def segment_lower_bound(cost: CostSource) -> Latency | None:
    """The cost source's own lower bound, called one segment at a time as the old DP did.

    (The old code computed the Edge TPU model's bound itself from model internals that the
    Edge TPU model v2 replaced; the bound now lives on the cost source, so the baseline asks
    it, keeping the comparison about the search algorithm.)
    """
    bound = cost.lower_bound()
    if bound is None:
        return None
    return lambda i, j: float(bound(i, j))  # type: ignore[arg-type]


def _even_param_cuts(graph: Graph, num_segments: int) -> tuple[int, ...]:
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


def solve(graph: Graph, num_segments: int, cost: CostSource) -> tuple[tuple[int, ...], float]:
    """The old strategy's cuts and bottleneck (same steps as its ``optimal``, no Plan)."""
    n = len(graph.ops)
    seen: dict[tuple[int, int], float] = {}

    def lat(i: int, j: int) -> float:
        v = seen.get((i, j))
        if v is None:
            v = seen[(i, j)] = cost.latency(i, j)
        return v

    if num_segments == 1:
        return (), lat(0, n)
    start = _even_param_cuts(graph, num_segments)
    monotone = bool(getattr(cost, "monotone", False))
    cuts, value, _ = bisect_probe(n, num_segments, lat, start,
                                  rel_tol=1e-9 if monotone else 1e-3)
    if monotone:
        return cuts, value
    bound = segment_lower_bound(cost)
    cuts, value = exact_dp(n, num_segments, lat, (cuts, value), bound)
    return shortest_fill(n, num_segments, seen, value, cuts), value
