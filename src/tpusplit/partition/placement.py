"""Per-layer placement: runs of ops on the device kind that suits them, for one input at a time.

Mensa (Boroumand et al., "Google Neural Network Models for Edge Devices: Analyzing and
Mitigating Machine Learning Inference Bottlenecks", PACT 2021) schedules each layer of a
network on the accelerator that runs it best, weighing how well a device suits a layer
against the cost of moving activations between devices. Here one input goes through the ops
``0 .. n-1`` in execution order; a placement splits them into maximal *runs* ``[i, j)``, each
on one kind ``t`` of device, with consecutive runs on different kinds. A run costs
``cost[t, i, j]``: its own time (or energy) on the kind *including* moving its input and
output tensors between the device and the host, so every switch is paid for. The cost of a
placement is the sum over its runs; unlike a pipeline, kinds may come back (CPU, TPU, CPU).

:func:`place` minimises it exactly, as a shortest path over (boundary, kind):
``best[j][t] = min_{i < j, t' != t} best[i][t'] + cost[t, i, j]``, ``best[0][*] = 0``.
Complexity O(T^2 n^2) for ``T`` kinds and ``n`` ops. :func:`place_brute_force` enumerates
every placement: the oracle.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Placement:
    """The runs ``(start, end, kind)`` of a placement and its total cost."""

    runs: tuple[tuple[int, int, int], ...]
    cost: float

    @property
    def kinds(self) -> tuple[int, ...]:
        """The kind of every op."""
        return tuple(t for a, b, t in self.runs for _ in range(a, b))


def _check(cost: np.ndarray) -> tuple[int, int]:
    if cost.ndim != 3 or cost.shape[1] != cost.shape[2] or cost.shape[1] < 2:
        raise ValueError(f"cost must have shape (kinds, n + 1, n + 1) with n >= 1, got "
                         f"{cost.shape}")
    return cost.shape[0], cost.shape[1] - 1


def place(cost: np.ndarray) -> Placement:
    """The cheapest placement of ops ``0 .. n-1`` (module docstring).

    Parameters
    ----------
    cost : ndarray, shape (T, n + 1, n + 1)
        ``cost[t, i, j]``: ops ``[i, j)`` run on kind ``t`` (``np.inf`` forbids).

    Returns
    -------
    Placement

    Notes
    -----
    O(T^2 n^2) time, O(T n) memory; exact for any costs.
    """
    kinds, n = _check(cost)
    best = np.full((n + 1, kinds), np.inf)
    came = np.full((n + 1, kinds, 2), -1, dtype=np.int64)  # (i, previous kind)
    best[0] = 0.0
    for j in range(1, n + 1):
        for t in range(kinds):
            # the best prefix [0, i) whose last run is on another kind (any kind at i = 0)
            prev = best[:j].copy()
            prev[1:, t] = np.inf
            k = int(np.argmin(prev.min(axis=1) + cost[t, :j, j]))
            p = int(np.argmin(prev[k]))
            value = prev[k, p] + cost[t, k, j]
            if value < best[j, t]:
                best[j, t] = value
                came[j, t] = (k, p)
    t = int(np.argmin(best[n]))
    if not np.isfinite(best[n, t]):
        raise ValueError("no finite placement")
    runs = []
    j = n
    while j > 0:
        i, p = (int(x) for x in came[j, t])
        runs.append((i, j, t))
        j, t = i, p
    return Placement(tuple(reversed(runs)), float(best[n].min()))


def place_brute_force(cost: np.ndarray) -> Placement:
    """Every split into runs and every kind per run (no two neighbours alike): the oracle.
    O(sum over r of C(n - 1, r - 1) * T^r)."""
    kinds, n = _check(cost)
    best: Placement | None = None
    for r in range(1, n + 1):
        for cuts in itertools.combinations(range(1, n), r - 1):
            edges = (0, *cuts, n)
            for assign in itertools.product(range(kinds), repeat=r):
                if any(a == b for a, b in itertools.pairwise(assign)):
                    continue
                runs = tuple((a, b, t) for (a, b), t in
                             zip(itertools.pairwise(edges), assign, strict=True))
                c = float(sum(cost[t, a, b] for a, b, t in runs))
                if best is None or c < best.cost:
                    best = Placement(runs, c)
    assert best is not None
    if not np.isfinite(best.cost):
        raise ValueError("no finite placement")
    return best
