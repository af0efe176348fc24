"""Probe-and-bisect for the min-max partition of a chain (exact when costs are monotone).

Pinar & Aykanat, "Fast optimal load balancing algorithms for 1D partitioning", J. Parallel
Distrib. Comput. 64(8), 2004: bisection on a target bottleneck ``T`` whose feasibility a greedy
*probe* decides. Here costs are arbitrary functions of the segment, so the probe finds each
segment's end by binary search (exact when ``cost(i, j)`` grows with ``j``) and checks every
segment it returns: a non-monotone cost can make it miss a partition, never return a bad one.
"""

from __future__ import annotations

from collections.abc import Sequence

from tpusplit.partition.chain import Cost, Partition, bottleneck, check_counts


def probe(n: int, k: int, cost: Cost, target: float) -> tuple[int, ...] | None:
    """Greedy probe: cuts where every segment costs ``<= target``, or None.

    Each segment ``[s, e)`` takes the largest ``e`` (binary search, assuming the cost grows
    with ``e``) that leaves one op for each later segment; its cost is checked.

    Complexity: O(k log n) cost evaluations.
    """
    check_counts(n, k)
    cuts: list[int] = []
    start = 0
    for s in range(k - 1):
        if cost(start, start + 1) > target:
            return None
        lo, hi = start + 1, n - (k - 1 - s)  # invariant: cost(start, lo) <= target
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if cost(start, mid) <= target:
                lo = mid
            else:
                hi = mid - 1
        cuts.append(lo)
        start = lo
    return tuple(cuts) if cost(start, n) <= target else None


def bisect(n: int, k: int, cost: Cost, incumbent: Sequence[int],
           rel_tol: float = 1e-9) -> tuple[Partition, float]:
    """Bisection on the target bottleneck with :func:`probe`, from a known partition.

    Parameters
    ----------
    n, k : int
        Ops and segments.
    cost : callable
        ``cost(i, j)`` of segment ``[i, j)``.
    incumbent : sequence of int
        Any valid cuts (``k - 1`` strictly increasing positions in ``(0, n)``).
    rel_tol : float
        Stop when the bracket is this small relative to the best value.

    Returns
    -------
    (Partition, float)
        The best partition found and the largest target the probe rejected. For monotone
        costs that target is a proved lower bound and the partition is optimal to
        ``rel_tol``; otherwise the partition is a good incumbent for :func:`minmax`.

    Notes
    -----
    O(log(1 / rel_tol)) probes of O(k log n) evaluations each.
    """
    best = tuple(incumbent)
    hi = bottleneck(n, best, cost)
    lo = 0.0
    while hi - lo > rel_tol * max(hi, 1e-300):
        target = (lo + hi) / 2
        cuts = probe(n, k, cost, target)
        if cuts is None:
            lo = target
        else:
            best, hi = cuts, bottleneck(n, cuts, cost)
    return Partition(best, hi), lo
