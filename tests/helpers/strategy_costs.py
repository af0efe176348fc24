"""Small cost sources for strategy tests: latencies and streamed bytes from arrays."""

from __future__ import annotations

import itertools

import numpy as np

from tpusplit.costs.base import CostSource, LowerBound, SegmentCost
from tpusplit.graph import Graph


class MatrixCost(CostSource):
    """``latency[i, j]`` and ``off_chip[i, j]`` for ops ``[i, j)``, from (n+1)x(n+1) arrays."""

    device = "matrix"

    def __init__(self, graph: Graph, latency: np.ndarray, off_chip: np.ndarray | None = None,
                 monotone: bool = False, bound: float | None = None) -> None:
        super().__init__(graph)
        self.lat = latency
        self.off = off_chip if off_chip is not None else np.zeros_like(latency, dtype=np.int64)
        self.monotone = monotone
        self.bound = bound

    def lower_bound(self) -> LowerBound | None:
        """``bound`` times the latency, when a ``bound`` factor in [0, 1] was given."""
        if self.bound is None:
            return None
        lat, factor = self.lat, self.bound
        return lambda i, j: factor * lat[i, j]

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return SegmentCost(start, end, float(self.lat[start, end]), 0,
                           int(self.off[start, end]))


def random_costs(n: int, kind: str, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Random segment latencies of one of three kinds, and streamed bytes.

    ``additive``: sum of op weights (monotone). ``boundary``: additive plus a transfer cost at
    each end (not monotone). ``cliff``: Edge-TPU-like: params cached up to a capacity, the rest
    streamed at a high rate, plus boundary costs; a few segments get arbitrary costs.
    """
    w = rng.random(n) * rng.choice([1.0, 10.0, 100.0])
    params = rng.integers(0, 1000, n)
    io = rng.random(n + 1) * w.sum() / max(n, 1) * rng.random()
    cap = int(rng.integers(1, params.sum() + 2))
    lat = np.full((n + 1, n + 1), np.inf)
    off = np.zeros((n + 1, n + 1), dtype=np.int64)
    for i in range(n):
        for j in range(i + 1, n + 1):
            s = float(w[i:j].sum())
            p = int(params[i:j].sum())
            spill = max(0, p - cap)
            off[i, j] = spill
            if kind == "additive":
                lat[i, j] = s
            elif kind == "boundary":
                lat[i, j] = s + io[i] + io[j]
            else:
                lat[i, j] = s + 0.05 * spill + io[i] + io[j]
                if rng.random() < 0.05:
                    lat[i, j] = rng.random() * w.sum()
    return lat, off


def tied_costs(n: int, rng: np.random.Generator) -> np.ndarray:
    """Small integer segment latencies (op weights 1..3, plus 1 for a one-op segment): many
    partitions share the optimal bottleneck, which tests the tie-breaks."""
    w = rng.integers(1, 4, n)
    lat = np.full((n + 1, n + 1), np.inf)
    for i, j in itertools.combinations(range(n + 1), 2):
        lat[i, j] = float(w[i:j].sum() + (j - i == 1))
    return lat
