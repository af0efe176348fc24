"""The exact min-max partition of a chain for arbitrary segment costs: a bound-ordered, pruned DP.

Chains-on-chains partitioning (Bokhari 1988; Pinar & Aykanat, J. Parallel Distrib. Comput.
64(8), 2004, section 2) asks for the cuts of ``[0, n)`` into ``k`` contiguous non-empty
segments that minimise the largest segment cost. When a segment's cost includes its boundary
transfers it is not monotone in the segment, so the probe-based algorithms are not exact; the
dynamic programme over ``B[t][j]`` (the best bottleneck of ``[0, j)`` in ``t`` segments),
``B[t][j] = min_i max(B[t-1][i], cost(i, j))``, is exact for any costs. Evaluations (a
profiling run, or a model call) are what cost time, so this implementation evaluates a
segment only when it can still matter:

1. **Incumbent.** Only partitions strictly better than a known one are searched for.
2. **Lower bounds** (optional: ``lower(i, j) <= cost(i, j)``, cheap and vectorised, from the
   caller). A segment already evaluated is its own bound.
3. **Lazy evaluation on the relaxation** (with bounds): solve the problem with every
   unevaluated segment at its bound (a lower bound on the optimum, no evaluation), evaluate
   the at most ``k`` new segments of that solution, repeat. When the relaxation's optimum
   is fully evaluated it is optimal (its value is achieved and is a lower bound); otherwise
   the rounds leave a strong incumbent and tighter bounds (the idea of lazy shortest-path
   search: Dellin & Srinivasa, "A unifying formalism for shortest path problems with
   expensive edge evaluations via lazy best-first search over paths with edge selectors",
   ICAPS 2016).
4. **Best-first order.** A lower bound ``H[m][j]`` on the best bottleneck of the suffix
   ``[j, n)`` in ``m`` segments is computed from the bounds alone. For each state ``(t, j)``
   the predecessors ``i`` are tried in increasing optimistic value ``max(B[t-1][i],
   lower(i, j), H[k-t][j])``; the scan stops at the first one that cannot beat the best
   value found, and a state whose optimistic value cannot beat the incumbent is never
   opened. Values below ``H[k-t][j]`` are all equivalent (whatever follows costs at least
   that much), so a state is done as soon as one predecessor reaches its suffix bound.

Every pruning step discards only partitions proved no better than one already found, so the
result is optimal for any costs (tested against :func:`~tpusplit.partition.oracle.
brute_force` on random instances: additive, with boundary costs, with cliffs, arbitrary).
How many evaluations it needs depends on the bounds: with none, every segment that a prefix
better than the incumbent reaches (at most n(n+1)/2); with tight ones, about ``k`` per round.

Options: a *streamed-bytes objective* (the lexicographically smallest pair (total streamed,
bottleneck); exact because the pair composes monotonically) and a *shortest-fill tie-break*
(among the optimal partitions, the smallest cost sum: the shortest pipeline fill; exact by
the same lazy evaluation on a min-sum relaxation restricted to segments no slower than the
optimum, or, without bounds, among the partitions whose segments were evaluated).

Complexity: O(k n^2) numpy time per round and for the programme at worst (once a partition
is known, rows that cannot beat it are skipped: about O(k n b) for segments of at most ``b``
useful lengths), plus, per opened state, the predecessors it tries; O(n^2) memory (one
float matrix of bounds; temporaries in blocks of :data:`BLOCK` rows); at most n(n+1)/2
distinct evaluations.

Size: over 400 lines because one algorithm (the exact min-max programme with lazy evaluation,
blocked bound matrices and row banding) whose parts share its state; split, they would pass a
dozen arrays around.
"""

from __future__ import annotations

import math
from collections.abc import Callable, MutableMapping, Sequence

import numpy as np

from tpusplit.partition.chain import Cost, Partition, bottleneck, check_counts, spans

#: ``lower(i, j)``: a lower bound on ``cost(i, j)``, elementwise on integer numpy arrays.
Bound = Callable[[np.ndarray, np.ndarray], np.ndarray]

_INF = math.inf
#: Rounds of lazy evaluation the exact shortest-fill tie-break may take before it settles
#: for the best partition of evaluated segments.
FILL_ROUNDS = 64


#: Rows (or columns) of an (n+1) x (n+1) matrix handled per numpy step: temporaries stay
#: O(BLOCK n) however long the chain (a 3,000-op model must not need gigabytes).
BLOCK = 256


def _bound_matrix(n: int, lower: Bound | None) -> np.ndarray:
    """``L[i, j]`` = ``lower(i, j)`` for ``i < j`` (-inf without bounds), +inf elsewhere.

    Evaluated in blocks of rows (``lower`` broadcasts), so its temporaries stay small."""
    low = np.full((n + 1, n + 1), _INF)
    cols = np.arange(n + 1)
    for r0 in range(0, n, BLOCK):
        rows = np.arange(r0, min(n, r0 + BLOCK))
        upper = cols[None, :] > rows[:, None]
        if lower is None:
            block = np.where(upper, -_INF, _INF)
        else:
            values = np.broadcast_to(np.asarray(lower(rows[:, None], cols[None, :]),
                                                dtype=np.float64), upper.shape)
            block = np.where(upper, values, _INF)
        low[rows] = block
    return low


def _suffix_bounds(n: int, k: int, low: np.ndarray) -> np.ndarray:
    """``H[m][j]``: a lower bound on the best bottleneck of ``[j, n)`` in ``m`` segments
    (+inf where ``m`` non-empty segments do not fit), from the segment bounds alone."""
    h = np.full((k, n + 1), _INF)
    h[0, n] = -_INF
    for m in range(1, k):
        for r0 in range(0, n + 1, BLOCK):
            r1 = min(n + 1, r0 + BLOCK)
            h[m, r0:r1] = np.min(np.maximum(low[r0:r1, r0:], h[m - 1][None, r0:]), axis=1)
    return h


def minmax(n: int, k: int, cost: Cost, *, lower: Bound | None = None,
           incumbent: Sequence[int] | None = None, streamed: Cost | None = None,
           fill: bool = False, known: MutableMapping[tuple[int, int], float] | None = None,
           rounds: int = 64) -> Partition:
    """The exact minimum-bottleneck partition of ``[0, n)`` into ``k`` segments.

    Parameters
    ----------
    n, k : int
        Ops and non-empty contiguous segments, ``1 <= k <= n``.
    cost : callable
        ``cost(i, j)``, the cost of segment ``[i, j)``; called at most once per segment, only
        where it can beat the best partition known.
    lower : callable, optional
        ``lower(i, j) <= cost(i, j)`` for every segment, evaluated once on integer arrays of
        every ``i < j`` (elementwise, broadcasting); segments whose bound cannot beat the best
        value known are never evaluated.
    incumbent : sequence of int, optional
        Cuts of a known partition; only strictly better ones are searched for (the
        incumbent is returned when none exists).
    streamed : callable, optional
        ``streamed(i, j) >= 0``; when given, the objective is the smallest total streamed,
        then the smallest bottleneck (lexicographically).
    fill : bool
        Tie-break (bottleneck objective only): among the optimal partitions, the smallest sum
        of costs (the shortest pipeline fill). Exact by lazy evaluation when ``lower`` is
        given and ``rounds > 0`` (it may evaluate more segments; after
        :data:`FILL_ROUNDS` rounds it settles for the evaluated ones), else among the
        partitions whose segments were all evaluated.
    known : mutable mapping, optional
        ``(i, j) -> cost`` of segments already evaluated; shared, new evaluations are added.
    rounds : int
        With ``lower``: rounds of lazy evaluation on the relaxation before the programme
        (each solves it with unevaluated segments at their bound and evaluates the at most
        ``k`` new segments of its optimum; it stops early when that optimum is fully
        evaluated, which proves it optimal). 0: no lazy evaluation at all (for bounds too
        loose to guide it).

    Returns
    -------
    Partition
        Optimal cuts, their bottleneck (and total streamed).

    Notes
    -----
    See the module docstring. O(k n^2) numpy time and memory O(n^2); at most n(n+1)/2
    evaluations of ``cost`` (and of ``streamed``).
    """
    check_counts(n, k)
    if fill and streamed is not None:
        raise ValueError("the shortest-fill tie-break applies to the bottleneck objective only")
    memo: MutableMapping[tuple[int, int], float] = {} if known is None else known
    extra: dict[tuple[int, int], float] = {}

    def c(i: int, j: int) -> float:
        v = memo.get((i, j))
        if v is None:
            v = memo[(i, j)] = float(cost(i, j))
        return v

    def s(i: int, j: int) -> float:
        if streamed is None:
            return 0.0
        v = extra.get((i, j))
        if v is None:
            v = extra[(i, j)] = float(streamed(i, j))
        return v

    def worth(cuts: Sequence[int]) -> tuple[float, float]:
        segs = spans(n, cuts)
        return sum(s(a, b) for a, b in segs), max(c(a, b) for a, b in segs)

    if k == 1:
        total, value = worth(())
        return Partition((), value, total)
    best_cuts: tuple[int, ...] | None = None
    bound_s, bound_m = _INF, _INF
    if incumbent is not None:
        best_cuts = tuple(int(x) for x in incumbent)
        bound_s, bound_m = worth(best_cuts)
    low = _bound_matrix(n, lower)
    lazy = lower is not None and rounds > 0
    if lower is not None:
        for (a, b), v in memo.items():  # what is known is the tightest bound
            if 0 <= a < b <= n:
                low[a, b] = v
    if lazy and streamed is None:
        found = _refine(n, k, low, c, rounds)  # evaluated segments replace their bound
        if found is not None:
            cuts, proved = found
            value_m = bottleneck(n, cuts, c)
            if best_cuts is None or value_m < bound_m:
                best_cuts, bound_m = cuts, value_m
            if proved:  # the relaxation's optimum is fully evaluated: it is optimal
                if fill:
                    best_cuts = _fill(n, k, low if lazy else None, c, memo, bound_m,
                                      best_cuts)
                return Partition(best_cuts, bound_m)
    suffix = _suffix_bounds(n, k, low)
    # g_s, g_m: value of the best prefix [0, j) in t segments (streamed total, bottleneck
    # raised to the suffix bound); +inf where no prefix can beat the incumbent
    g_s = np.full(n + 1, _INF)
    g_m = np.full(n + 1, _INF)
    g_s[0], g_m[0] = 0.0, -_INF
    parents: list[dict[int, int]] = []
    for t in range(1, k + 1):
        h = suffix[k - t]
        alive = np.flatnonzero(g_s < _INF)
        key_m = np.maximum(np.maximum(g_m[alive, None], low[alive]), h[None, :])
        key_s = g_s[alive]
        ok = (key_m < _INF) & ((key_s[:, None] < bound_s)
                               | ((key_s[:, None] == bound_s) & (key_m < bound_m)))
        new_s = np.full(n + 1, _INF)
        new_m = np.full(n + 1, _INF)
        par: dict[int, int] = {}
        for j in np.flatnonzero(ok.any(axis=0)):
            rows = np.flatnonzero(ok[:, j])
            if streamed is None:
                order = rows[np.argsort(key_m[rows, j], kind="stable")]
            else:
                order = rows[np.lexsort((key_m[rows, j], key_s[rows]))]
            best_s, best_m, arg = bound_s, bound_m, -1
            hj = float(h[j])
            jj = int(j)
            for r in order:
                ks, km = float(key_s[r]), float(key_m[r, j])
                if ks > best_s or (ks == best_s and km >= best_m):
                    break
                i = int(alive[r])
                vs = float(g_s[i]) + s(i, jj)
                vm = max(float(g_m[i]), c(i, jj), hj)
                if vs < best_s or (vs == best_s and vm < best_m):
                    best_s, best_m, arg = vs, vm, i
            if arg >= 0:
                new_s[jj], new_m[jj] = best_s, best_m
                par[jj] = arg
        parents.append(par)
        g_s, g_m = new_s, new_m
    if g_s[n] < _INF:
        path: list[int] = []
        end = n
        for t in range(k - 1, 0, -1):
            end = parents[t][end]
            path.append(end)
        best_cuts = tuple(sorted(path))
        bound_s, bound_m = float(g_s[n]), float(g_m[n])
    if best_cuts is None:  # every partition costs +inf
        best_cuts = tuple(range(1, k))
        bound_s, bound_m = worth(best_cuts)
    if fill:
        best_cuts = _fill(n, k, low if lazy else None, c, memo, bound_m, best_cuts)
    return Partition(best_cuts, bound_m, bound_s)


def _matrix_dp(n: int, k: int, w: np.ndarray, combine: Callable[[np.ndarray, np.ndarray],
               np.ndarray], first: np.ndarray | None = None) -> tuple[tuple[int, ...], float]:
    """The best ``k``-segment partition under a full cost matrix ``w`` (``w[i, j]`` for
    ``i < j``, +inf elsewhere) when a prefix's value composes as ``combine(prefix, segment)``
    (``np.maximum``: the bottleneck, ``np.add``: the sum): ``V[t][j] = min_i combine(V[t-1][i],
    w[i, j])`` on arrays, first minimum on ties.

    ``first[j]``: no row above it can matter for column ``j`` (their entries are +inf, or
    cannot beat the value sought); default 0. Columns are handled in blocks, each over the
    rows from its smallest ``first`` to its last column: O(k n^2) numpy time at worst, about
    O(k n b) for segments of at most ``b`` useful lengths, O(BLOCK n) extra memory.
    """
    best = w[0].copy()
    choice = []
    for _ in range(1, k):
        new = np.full(n + 1, _INF)
        arg = np.zeros(n + 1, dtype=np.int64)
        for c0 in range(1, n + 1, BLOCK):
            c1 = min(n + 1, c0 + BLOCK)
            r0 = 0 if first is None else int(first[c0:c1].min())
            if r0 >= c1:
                continue
            cand = combine(best[r0:c1, None], w[r0:c1, c0:c1])
            a = np.argmin(cand, axis=0)
            new[c0:c1] = cand[a, np.arange(c1 - c0)]
            arg[c0:c1] = a + r0
        best = new
        choice.append(arg)
    cuts = []
    j = n
    for arg in reversed(choice):
        j = int(arg[j])
        cuts.append(j)
    return tuple(sorted(cuts)), float(best[n])


def _first_rows(w: np.ndarray, cap: float) -> np.ndarray:
    """For every column ``j``, the first row ``i`` with ``w[i, j] <= cap`` (``j`` when none):
    rows above it cannot contribute a segment worth at most ``cap``. O(n^2) in blocks."""
    n1 = w.shape[1]
    out = np.arange(n1)
    for c0 in range(0, n1, BLOCK):
        c1 = min(n1, c0 + BLOCK)
        ok = w[:c1, c0:c1] <= cap
        has = ok.any(axis=0)
        out[c0:c1] = np.where(has, np.argmax(ok, axis=0), np.arange(c0, c1))
    return out


def _refine(n: int, k: int, low: np.ndarray, cost: Cost, rounds: int
            ) -> tuple[tuple[int, ...], bool] | None:
    """Lazy evaluation on the relaxation (segments not yet evaluated cost their lower bound):
    solve it, evaluate its optimum's segments, repeat up to ``rounds`` times. Returns the
    best partition seen and whether it is proved optimal (the relaxation's optimum was fully
    evaluated, so its value is both a lower bound and achieved), or None (no finite one).
    Each round costs O(k n^2) numpy time and at most ``k`` evaluations."""
    mixed = low
    done: set[tuple[int, int]] = set()
    best: tuple[tuple[int, ...], float] | None = None
    first: np.ndarray | None = None
    for _ in range(rounds):
        # once a partition of true value U is known, no segment whose bound exceeds U can be
        # in a better one: rows above a column's first such entry are skipped
        cuts, value = _matrix_dp(n, k, mixed, np.maximum, first)
        if not value < _INF:
            break
        segs = spans(n, cuts)
        if all(seg in done for seg in segs):
            return cuts, True
        for a, b in segs:
            mixed[a, b] = cost(a, b)
            done.add((a, b))
        true = max(mixed[a, b] for a, b in segs)
        if best is None or true < best[1]:
            best = (cuts, float(true))
            first = _first_rows(mixed, best[1])
    return (best[0], False) if best is not None else None


def _fill(n: int, k: int, low: np.ndarray | None, cost: Cost,
          known: MutableMapping[tuple[int, int], float], value: float,
          cuts: tuple[int, ...]) -> tuple[int, ...]:
    """The shortest-fill tie-break: exact (lazy evaluation) with bounds, else among the
    partitions whose segments were evaluated."""
    if low is None:
        return shortest_fill(n, k, known, value, cuts)
    return _lazy_fill(n, k, low, cost, known, value, cuts, FILL_ROUNDS)


def _lazy_fill(n: int, k: int, low: np.ndarray, cost: Cost,
               known: MutableMapping[tuple[int, int], float], value: float,
               cuts: tuple[int, ...], rounds: int) -> tuple[int, ...]:
    """The smallest cost sum among partitions with bottleneck ``<= value``, by lazy
    evaluation: unevaluated segments weigh their bound (so the relaxed minimum is a lower
    bound on the true one), the relaxed optimum's segments are evaluated, repeat until it
    is fully evaluated (then it is exact) or ``rounds`` run out (then the best partition of
    evaluated segments, :func:`shortest_fill`). ``cuts`` is returned if nothing is better."""
    w = np.where(low <= value, low, _INF)
    for (a, b), v in known.items():
        if 0 <= a < b <= n:
            w[a, b] = v if v <= value else _INF
    first = _first_rows(w, value)  # the rest of each column is +inf
    for _ in range(rounds):
        found, total = _matrix_dp(n, k, w, np.add, first)
        if not total < _INF:
            break
        todo = [seg for seg in spans(n, found) if seg not in known]
        if not todo:
            current = sum(known[seg] for seg in spans(n, cuts))
            return found if total < current else tuple(cuts)
        for a, b in todo:
            v = cost(a, b)
            w[a, b] = v if v <= value else _INF
    return shortest_fill(n, k, known, value, cuts)


def shortest_fill(n: int, k: int, known: MutableMapping[tuple[int, int], float] |
                  dict[tuple[int, int], float], value: float, cuts: Sequence[int]
                  ) -> tuple[int, ...]:
    """Among the partitions whose segments are all in ``known`` and cost ``<= value``, the one
    with the smallest cost sum (the shortest pipeline fill, so the lowest time per inference
    for a finite batch). ``cuts`` (such a partition) is returned if nothing is better.

    No new evaluation; the bottleneck stays ``<= value``. Complexity O(k K) for K known
    segments.
    """
    ok: dict[int, list[tuple[int, float]]] = {}
    for (i, j), v in known.items():
        if v <= value:
            ok.setdefault(i, []).append((j, v))
    best: list[dict[int, float]] = [{0: 0.0}]
    parent: list[dict[int, int]] = [{}]
    for t in range(k):
        nxt: dict[int, float] = {}
        par: dict[int, int] = {}
        for i, total in best[t].items():
            for j, v in ok.get(i, ()):
                if j > n - (k - t - 1) or (t == k - 1 and j != n):
                    continue
                if total + v < nxt.get(j, _INF):
                    nxt[j], par[j] = total + v, i
        best.append(nxt)
        parent.append(par)
    current = sum(known[(a, b)] for a, b in spans(n, cuts))
    if best[k].get(n, _INF) >= current:
        return tuple(cuts)
    out: list[int] = []
    j = n
    for t in range(k, 1, -1):
        j = parent[t][j]
        out.append(j)
    return tuple(sorted(out))
