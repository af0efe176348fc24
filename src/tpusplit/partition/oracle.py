"""The naive, obviously correct oracle: try every partition of the chain, keep the best.

Kept beside the fast algorithms (like onnx's ``reference`` backend) so that tests, and users,
can check them on small instances.
"""

from __future__ import annotations

import itertools

from tpusplit.partition.chain import Cost, Partition, check_counts, spans


def brute_force(n: int, k: int, cost: Cost, streamed: Cost | None = None) -> Partition:
    """The best partition of ``[0, n)`` into ``k`` segments, by enumeration.

    Parameters
    ----------
    n, k : int
        Ops and non-empty contiguous segments, ``1 <= k <= n``.
    cost : callable
        ``cost(i, j)``, the cost of segment ``[i, j)``.
    streamed : callable, optional
        ``streamed(i, j) >= 0``; when given, the objective is lexicographic: the smallest
        total streamed, then the smallest bottleneck.

    Returns
    -------
    Partition
        The lexicographically first optimal cuts, their bottleneck (and streamed total).

    Notes
    -----
    Enumerates all C(n - 1, k - 1) partitions: exact for any costs, exponential in k.
    """
    check_counts(n, k)
    best: tuple[tuple[float, float], tuple[int, ...]] | None = None
    for cuts in itertools.combinations(range(1, n), k - 1):
        segs = spans(n, cuts)
        total = sum(streamed(a, b) for a, b in segs) if streamed is not None else 0.0
        key = (float(total), max(float(cost(a, b)) for a, b in segs))
        if best is None or key < best[0]:
            best = (key, cuts)
    assert best is not None
    (total, value), cuts = best
    return Partition(cuts, value, total)
