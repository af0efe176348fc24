"""Chain partitioning on device mixes, on one host or several: one exact programme.

A chain of ``n`` ops runs as a pipeline of contiguous segments, each on its own device. There
are ``counts[t]`` devices of kind ``t`` (an Edge TPU on USB 3, one on PCIe, a CPU core); a
segment ``[i, j)`` on kind ``t`` costs ``costs[t, i, j]``. The order of the devices along the
pipeline is free and fewer stages than devices may be used. Every kind lives on a host, and a
cut ``i`` between consecutive stages on different hosts ``a`` and ``b`` costs
``links[a, b, i]`` (the network transfer of the tensors crossing cut ``i``; 0 on one host).
The transfer is one more element of the pipeline: with ``objective="max"`` the value is the
largest of the stage costs and the transfers (throughput; a link moves the data of one input
while the stages compute others), with ``objective="sum"`` their total (one input's latency,
or energy when the costs are energy).

:func:`cluster_partition` is exact: the dynamic programme of PipeEdge (Hu et al., "PipeEdge:
Pipeline Parallelism for Large-Scale Model Inference on Heterogeneous Edge Devices", DSD 2022)
over (device multiset, prefix) with the kind of the last stage in the state, ``B[u][j][t] =
min_{t', i} combine(B[u - e_t][i][t'], links[host(t'), host(t), i], costs[t, i, j])``.
:func:`hetero_partition` is the same programme with every kind on one host; it may also charge
a pipeline runner's host time per stage and input (``host``, added to every stage of a
pipeline of two or more) and the part of it that serialises across stages (``serial``: the
period is at least ``stages * serial``). Both depend only on the number of stages, which is
the size of the device multiset in the state, so the programme stays exact: the slowest stage
of each multiset, then the runner's period of the best multiset. Among optimal
pipelines the fewest stages win, then a smaller total where the programme sees it (a
tie-break, not a guarantee). :func:`cluster_brute_force` and :func:`hetero_brute_force` try
every partition and every assignment: the oracles.

Complexity: O(U * T^2 * n^2) time (numpy over the n^2 segment pairs) and O(U * n * T) memory
for ``T`` kinds, ``n`` ops and ``U = prod(counts[t] + 1)`` device multisets.
"""


from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: ``costs[t, i, j]``: segment ``[i, j)`` on a device of kind ``t`` (``np.inf`` where
#: impossible; only ``i < j`` is read).
Costs = np.ndarray
#: How stage costs combine: "max" (bottleneck, throughput) or "sum" (latency).
COMBINE = ("max", "sum")


@dataclass(frozen=True, slots=True)
class ClusterPartition:
    """Cuts (where segments 2..k begin), the kind of every segment, the value of the
    objective, the sum of stage and transfer costs, and the transfer cost of every cut."""

    cuts: tuple[int, ...]
    kinds: tuple[int, ...]
    value: float
    total: float
    transfers: tuple[float, ...]


def _check(costs: Costs, counts: Sequence[int], hosts: Sequence[int], links: np.ndarray,
           objective: str) -> tuple[int, int]:
    if objective not in COMBINE:
        raise ValueError(f"objective must be one of {COMBINE}, got {objective!r}")
    if costs.ndim != 3 or costs.shape[1] != costs.shape[2] or costs.shape[0] != len(counts):
        raise ValueError(f"costs must have shape (kinds, n + 1, n + 1); got {costs.shape} for "
                         f"{len(counts)} kinds")
    if len(hosts) != len(counts):
        raise ValueError(f"{len(hosts)} hosts given for {len(counts)} kinds")
    if any(c < 0 for c in counts) or sum(counts) < 1:
        raise ValueError(f"device counts must be >= 0 with at least one device: {list(counts)}")
    n = costs.shape[1] - 1
    h = max(hosts) + 1
    if links.ndim != 3 or links.shape[0] < h or links.shape[1] < h or links.shape[2] != n + 1:
        raise ValueError(f"links must have shape (hosts, hosts, n + 1); got {links.shape}")
    return costs.shape[0], n


def evaluate(costs: Costs, hosts: Sequence[int], links: np.ndarray, cuts: Sequence[int],
             kinds: Sequence[int], objective: str = "max") -> tuple[float, float,
                                                                     tuple[float, ...]]:
    """(value, total, transfers) of the pipeline ``cuts`` with segment ``s`` on ``kinds[s]``.
    """
    n = costs.shape[1] - 1
    edges = (0, *cuts, n)
    stage = [float(costs[t, a, b]) for t, a, b in zip(kinds, edges, edges[1:], strict=False)]
    moves = tuple(float(links[hosts[kinds[s]], hosts[kinds[s + 1]], c]) if
                  hosts[kinds[s]] != hosts[kinds[s + 1]] else 0.0
                  for s, c in enumerate(cuts))
    parts = stage + list(moves)
    value = max(parts) if objective == "max" else sum(parts)
    return value, sum(parts), moves


def runner_period(value: float, stages: int, host: float, serial: float) -> float:
    """The period of a pipeline of ``stages`` whose slowest stage takes ``value``, with a
    runner's ``host`` time per stage and input (none for one stage on one device) of which
    ``serial`` serialises across stages (:meth:`tpusplit.costs.runner.RunnerModel.period_ms`)."""
    if stages < 2:
        return value
    return max(value + host, stages * serial)


def cluster_partition(costs: Costs, counts: Sequence[int], hosts: Sequence[int],
                      links: np.ndarray, objective: str = "max", host: float = 0.0,
                      serial: float = 0.0) -> ClusterPartition:
    """The exact best pipeline of ops ``[0, n)`` on at most ``counts[t]`` devices of each kind,
    kind ``t`` on host ``hosts[t]``, paying ``links[a, b, i]`` at a cut ``i`` from host ``a``
    to host ``b``.

    Parameters
    ----------
    costs : ndarray, shape (T, n + 1, n + 1)
        ``costs[t, i, j]``, segment ``[i, j)`` on a device of kind ``t`` (only ``i < j`` is
        read; ``inf`` where impossible).
    counts : sequence of int
        Devices available of each kind.
    hosts : sequence of int
        The host of each kind (``0 .. H - 1``).
    links : ndarray, shape (H, H, n + 1)
        ``links[a, b, i]``: moving the tensors crossing cut ``i`` from host ``a`` to ``b``
        (the diagonal is not read: one host costs nothing).
    objective : ``"max"`` or ``"sum"``
        Minimise the largest stage or transfer cost, or the total.

    Returns
    -------
    ClusterPartition

    Raises
    ------
    ValueError
        Bad shapes or counts, or no finite partition.
    """
    kinds, n = _check(costs, counts, hosts, links, objective)
    _check_runner(hosts, objective, host, serial)
    combine = np.maximum if objective == "max" else np.add
    shape = tuple(c + 1 for c in counts)
    multisets = sorted(itertools.product(*(range(s) for s in shape)), key=sum)
    index = {u: k for k, u in enumerate(multisets)}
    value = np.full((len(multisets), n + 1, kinds), np.inf)
    total = np.full((len(multisets), n + 1, kinds), np.inf)
    parent = np.full((len(multisets), n + 1, kinds, 2), -1, dtype=np.int64)  # (i, kind)
    upper = np.triu(np.ones((n + 1, n + 1), dtype=bool), 1)  # i < j
    for u in multisets[1:]:
        k = index[u]
        for t in range(kinds):
            if u[t] == 0:
                continue
            prev_u = tuple(c - (s == t) for s, c in enumerate(u))
            seg = np.where(upper, costs[t], np.inf)
            if sum(prev_u) == 0:  # the first stage: ops [0, j)
                value[k, 1:, t] = seg[0, 1:]
                total[k, 1:, t] = seg[0, 1:]
                parent[k, 1:, t] = (0, -1)
                continue
            prev = index[prev_u]
            for tp in range(kinds):
                if prev_u[tp] == 0:
                    continue
                move = (links[hosts[tp], hosts[t]] if hosts[tp] != hosts[t]
                        else np.zeros(n + 1))
                before = combine(value[prev, :, tp], move)[:, None]
                cand = combine(before, seg)
                tot = (total[prev, :, tp] + move)[:, None] + seg
                vmin = cand.min(axis=0)
                masked = np.where(cand == vmin[None, :], tot, np.inf)
                best_i = masked.argmin(axis=0)
                smin = masked[best_i, np.arange(n + 1)]
                better = (vmin < value[k, :, t]) | ((vmin == value[k, :, t])
                                                    & (smin < total[k, :, t]))
                better &= np.isfinite(vmin)
                value[k, better, t] = vmin[better]
                total[k, better, t] = smin[better]
                parent[k, better, t, 0] = best_i[better]
                parent[k, better, t, 1] = tp
    finals = [(runner_period(float(value[index[u], n, t]), sum(u), host, serial), sum(u),
               float(total[index[u], n, t]), u, t)
              for u in multisets[1:] for t in range(kinds) if u[t] > 0]
    best = min(finals, key=lambda x: x[:3])
    if not np.isfinite(best[0]):
        raise ValueError("no finite partition: every assignment has an impossible segment")
    u, t, j = best[3], best[4], n
    cuts: list[int] = []
    used: list[int] = []
    while t >= 0:
        i, tp = (int(x) for x in parent[index[u], j, t])
        used.append(t)
        if i > 0:
            cuts.append(i)
        u = tuple(c - (s == t) for s, c in enumerate(u))
        j, t = i, tp
    cut_t = tuple(sorted(cuts))
    kinds_t = tuple(reversed(used))
    _, tot, moves = evaluate(costs, hosts, links, cut_t, kinds_t, objective)
    return ClusterPartition(cut_t, kinds_t, best[0], tot, moves)


def cluster_brute_force(costs: Costs, counts: Sequence[int], hosts: Sequence[int],
                        links: np.ndarray, objective: str = "max", host: float = 0.0,
                        serial: float = 0.0) -> ClusterPartition:
    """Every number of stages, cut set and assignment of kinds: the oracle.

    Minimises the value (with the runner's period, as :func:`cluster_partition`), then the
    number of stages, then the total. O(sum over k of C(n - 1, k - 1) * T^k) evaluations.
    """
    _, n = _check(costs, counts, hosts, links, objective)
    _check_runner(hosts, objective, host, serial)

    def score(c: tuple[int, ...], a: tuple[int, ...]) -> tuple[float, float]:
        v, tot = evaluate(costs, hosts, links, c, a, objective)[:2]
        return runner_period(v, len(a), host, serial), tot

    cuts, assign, v, total = brute_force_min(n, counts, score)
    return ClusterPartition(tuple(cuts), tuple(assign), v, total,
                            evaluate(costs, hosts, links, cuts, assign, objective)[2])


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


def _check_runner(hosts: Sequence[int], objective: str, host: float, serial: float) -> None:
    if not (host or serial):
        return
    if objective != "max" or len(set(hosts)) > 1:
        raise ValueError("a runner's host time is charged for the bottleneck of a pipeline "
                         "on one host only")
    if host < 0 or serial < 0 or serial > host:
        raise ValueError(f"need 0 <= serial <= host, got host={host}, serial={serial}")


def _one_host(costs: Costs) -> tuple[list[int], np.ndarray]:
    return [0] * costs.shape[0], np.zeros((1, 1, costs.shape[1]))


def hetero_partition(costs: Costs, counts: Sequence[int], objective: str = "max",
                     host: float = 0.0, serial: float = 0.0) -> ClusterPartition:
    """The exact best pipeline of ops ``[0, n)`` on at most ``counts[t]`` devices of each
    kind, all on one host (:func:`cluster_partition` without links; module docstring), with
    a runner's ``host`` and ``serial`` time per stage and input."""
    hosts, links = _one_host(costs)
    return cluster_partition(costs, counts, hosts, links, objective, host, serial)


def hetero_brute_force(costs: Costs, counts: Sequence[int], objective: str = "max",
                       host: float = 0.0, serial: float = 0.0) -> ClusterPartition:
    """The oracle of :func:`hetero_partition`: every partition and assignment."""
    hosts, links = _one_host(costs)
    return cluster_brute_force(costs, counts, hosts, links, objective, host, serial)
