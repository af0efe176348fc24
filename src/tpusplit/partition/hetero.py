"""Heterogeneous chain partitioning: contiguous segments on devices of several kinds, exactly.

A chain of ``n`` ops runs as a pipeline of contiguous segments, each on its own device.
There are ``counts[t]`` devices of kind ``t``; a segment ``[i, j)`` on kind ``t`` costs
``cost[t, i, j]`` (the kinds differ: an Edge TPU on USB 3, one on PCIe, a CPU core). The
order of the devices along the pipeline is free and fewer stages than devices may be used.

:func:`hetero_partition` finds the exact optimum of

- ``objective="max"``: the bottleneck, the largest stage cost (throughput), or
- ``objective="sum"``: the total cost over the stages (latency of one input through the
  pipeline, or energy when ``cost`` is energy),

by the dynamic programme of PipeEdge (Hu et al., "PipeEdge: Pipeline Parallelism for Large-
Scale Model Inference on Heterogeneous Edge Devices", DSD 2022) over (prefix, devices used):
``B[u][j]`` is the best value of ops ``[0, j)`` on a multiset ``u`` of devices (``u[t] <=
counts[t]``), ``B[u][j] = min_t min_i combine(B[u - e_t][i], cost[t, i, j])``. Among
optimal pipelines the fewest stages win; among those, a smaller total is preferred where the
programme sees it (a heuristic tie-break for the pipeline fill, not a guarantee).

Complexity: O(U * T * n^2) time and O(U * n) memory for ``T`` kinds, ``n`` ops and
``U = prod(counts[t] + 1)`` device multisets (numpy vectorises the inner minimum over ``i``);
the ``T * n * (n + 1) / 2`` segment costs are the caller's (:data:`Costs`).

:func:`hetero_brute_force` tries every partition and every assignment: the oracle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: ``cost[t, i, j]``: segment ``[i, j)`` on a device of kind ``t`` (``np.inf`` where
#: impossible; only ``i < j`` is read).
Costs = np.ndarray

#: How stage costs combine: "max" (bottleneck, throughput) or "sum" (latency).
COMBINE = ("max", "sum")


@dataclass(frozen=True, slots=True)
class HeteroPartition:
    """Cuts (where segments 2..k begin), the kind of device of every segment, the value of the
    objective, and the sum of the stage costs."""

    cuts: tuple[int, ...]
    kinds: tuple[int, ...]
    value: float
    total: float


def _check(costs: Costs, counts: Sequence[int], objective: str) -> tuple[int, int]:
    if objective not in COMBINE:
        raise ValueError(f"objective must be one of {COMBINE}, got {objective!r}")
    if costs.ndim != 3 or costs.shape[1] != costs.shape[2] or costs.shape[0] != len(counts):
        raise ValueError(f"costs must have shape (kinds, n + 1, n + 1); got {costs.shape} for "
                         f"{len(counts)} kinds")
    if any(c < 0 for c in counts) or sum(counts) < 1:
        raise ValueError(f"device counts must be >= 0 with at least one device: {list(counts)}")
    return costs.shape[0], costs.shape[1] - 1


def hetero_partition(costs: Costs, counts: Sequence[int], objective: str = "max"
                     ) -> HeteroPartition:
    """The exact best pipeline of ops ``[0, n)`` on at most ``counts[t]`` devices of each kind.

    Parameters
    ----------
    costs : ndarray, shape (T, n + 1, n + 1)
        ``costs[t, i, j]``, segment ``[i, j)`` on a device of kind ``t``.
    counts : sequence of int
        Devices available of each kind.
    objective : ``"max"`` or ``"sum"``
        Minimise the largest stage cost, or the total.

    Returns
    -------
    HeteroPartition

    Raises
    ------
    ValueError
        Bad shapes or counts, or no finite partition.

    Notes
    -----
    See the module docstring for the recurrence and its complexity.
    """
    kinds, n = _check(costs, counts, objective)
    combine = np.maximum if objective == "max" else np.add
    shape = tuple(c + 1 for c in counts)
    multisets = sorted(itertools.product(*(range(s) for s in shape)), key=sum)
    index = {u: k for k, u in enumerate(multisets)}
    value = np.full((len(multisets), n + 1), np.inf)
    total = np.full((len(multisets), n + 1), np.inf)
    parent = np.full((len(multisets), n + 1, 2), -1, dtype=np.int64)  # (i, kind)
    value[0, 0] = 0.0
    total[0, 0] = 0.0
    for u in multisets[1:]:
        k = index[u]
        for t in range(kinds):
            if u[t] == 0:
                continue
            prev = index[tuple(c - (s == t) for s, c in enumerate(u))]
            for j in range(1, n + 1):
                seg = costs[t, :j, j]
                cand = combine(value[prev, :j], seg)
                tot = total[prev, :j] + seg
                # lexicographic (value, total): the best i for this (u, t, j)
                order = np.lexsort((tot, cand))
                i = int(order[0])
                v, s = float(cand[i]), float(tot[i])
                if v < value[k, j] or (v == value[k, j] and s < total[k, j]):
                    value[k, j], total[k, j] = v, s
                    parent[k, j] = (i, t)
    # fewest stages first among the best values, then the smallest total
    best = min(multisets[1:], key=lambda u: (value[index[u], n], sum(u), total[index[u], n]))
    k = index[best]
    if not np.isfinite(value[k, n]):
        raise ValueError("no finite partition: every assignment has an impossible segment")
    cuts: list[int] = []
    kinds_used: list[int] = []
    u, j = best, n
    while j > 0:
        i, t = (int(x) for x in parent[index[u], j])
        kinds_used.append(t)
        if i > 0:
            cuts.append(i)
        u = tuple(c - (s == t) for s, c in enumerate(u))
        j = i
    return HeteroPartition(tuple(sorted(cuts)), tuple(reversed(kinds_used)),
                           float(value[index[best], n]), float(total[index[best], n]))


def brute_force_min(n: int, counts: Sequence[int],
                    score: Callable[[tuple[int, ...], tuple[int, ...]], tuple[float, float]]
                    ) -> tuple[tuple[int, ...], tuple[int, ...], float, float]:
    """Every number of stages, cut set and assignment of kinds (at most ``counts[t]`` of kind
    ``t``); the ``(cuts, kinds, value, total)`` with the smallest value, then fewest stages,
    then smallest total, where ``score(cuts, kinds) = (value, total)``. The oracles' loop.

    Raises ValueError when every assignment has an infinite value.
    """
    best: tuple[tuple[float, int, float], tuple[int, ...], tuple[int, ...]] | None = None
    for k in range(1, min(n, sum(counts)) + 1):
        for cuts in itertools.combinations(range(1, n), k - 1):
            for assign in itertools.product(range(len(counts)), repeat=k):
                if any(assign.count(t) > counts[t] for t in range(len(counts))):
                    continue
                v, total = score(cuts, assign)
                key = (v, k, total)
                if best is None or key < best[0]:
                    best = (key, cuts, assign)
    assert best is not None
    (v, _, total), cuts, assign = best
    if not np.isfinite(v):
        raise ValueError("no finite partition: every assignment has an impossible segment")
    return cuts, assign, v, total


def hetero_brute_force(costs: Costs, counts: Sequence[int], objective: str = "max"
                       ) -> HeteroPartition:
    """Every number of stages, every cut set and every assignment of kinds: the oracle.

    Minimises the value, then the number of stages (then the total, which
    :func:`hetero_partition` does not promise). O(sum over k of C(n - 1, k - 1) * T^k) lookups.
    """
    _, n = _check(costs, counts, objective)

    def score(cuts: tuple[int, ...], assign: tuple[int, ...]) -> tuple[float, float]:
        edges = (0, *cuts, n)
        stage = [float(costs[t, a, b]) for t, a, b in zip(assign, edges, edges[1:], strict=False)]
        return (max(stage) if objective == "max" else sum(stage)), sum(stage)

    cuts, assign, v, total = brute_force_min(n, counts, score)
    return HeteroPartition(tuple(cuts), tuple(assign), v, total)
