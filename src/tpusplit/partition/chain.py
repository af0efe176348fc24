"""Cuts of a chain, the segments they make, and what a partition is worth."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: ``cost(i, j)``: the cost of segment ``[i, j)`` (``0 <= i < j <= n``).
Cost = Callable[[int, int], float]


@dataclass(frozen=True, slots=True)
class Partition:
    """Cuts (where segments 2..k begin), the bottleneck (largest segment cost) and, with a
    streamed-bytes objective, the summed streamed amount."""

    cuts: tuple[int, ...]
    value: float
    streamed: float = 0.0


def check_counts(n: int, k: int) -> None:
    """Raise ``ValueError`` unless ``1 <= k <= n`` (``k`` non-empty segments of ``n`` ops)."""
    if not 1 <= k <= n:
        raise ValueError(f"cannot cut {n} ops into {k} non-empty segments")


def spans(n: int, cuts: Sequence[int]) -> list[tuple[int, int]]:
    """The ``[start, end)`` bounds of the segments that ``cuts`` make of ``[0, n)``."""
    return list(itertools.pairwise((0, *cuts, n)))


def bottleneck(n: int, cuts: Sequence[int], cost: Cost) -> float:
    """The largest segment cost of the partition of ``[0, n)`` at ``cuts``."""
    return max(cost(a, b) for a, b in spans(n, cuts))
