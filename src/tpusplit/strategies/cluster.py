"""Planning across hosts: the exact best pipeline on a cluster, network transfers at cuts.

:func:`plan_cluster` costs every segment on every kind of device of every host (as
:func:`~tpusplit.strategies.heterogeneous.plan_devices` does for one machine), costs every
cut between two hosts as the network transfer of the tensors crossing it (the graph's
``crossing_bytes``; :meth:`~tpusplit.devices.cluster_spec.Link.transfer_ms`), and solves
:func:`~tpusplit.partition.device_chain.cluster_partition` exactly. The plan's segments name their
host and device kind; its ``network_ms`` gives the transfer at each cut (a pipeline element
of its own: the bottleneck is the slowest stage or transfer, and the time per inference is
that of a flow shop whose stages are the segments and the transfers).

Not modelled: the driver's own transfers (inputs to the first stage, results back), the
serialisation cost of Ray's object store, and two crossings sharing one link's bandwidth.
"""

from __future__ import annotations

import time

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.devices.cluster_spec import Cluster
from tpusplit.devices.energy import pipeline_energy
from tpusplit.devices.kinds import DeviceKind
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, bounds
from tpusplit.partition.device_chain import cluster_partition
from tpusplit.profiling.sources import kind_cost
from tpusplit.strategies.base import DEFAULT_BATCH, Plan, SegmentFigures, pipeline_time_ms

CLUSTER_OBJECTIVES = {"throughput": "max", "latency": "sum"}


def cluster_kinds(cluster: Cluster) -> tuple[list[DeviceKind], list[int]]:
    """Every (host, device kind) of the cluster as one kind, and the host index of each."""
    kinds: list[DeviceKind] = []
    hosts: list[int] = []
    for h, host in enumerate(cluster.hosts):
        for k in host.kinds:
            kinds.append(k)
            hosts.append(h)
    return kinds, hosts


def link_matrix(graph: Graph, cluster: Cluster) -> np.ndarray:
    """``m[a, b, i]``: moving the tensors crossing cut ``i`` from host ``a`` to host ``b``."""
    names = [h.name for h in cluster.hosts]
    crossing = graph.crossing_bytes.astype(np.float64)
    m = np.zeros((len(names), len(names), len(crossing)))
    for a, x in enumerate(names):
        for b, y in enumerate(names):
            if a != b:
                m[a, b] = cluster.link(x, y).transfer_ms(crossing)
    return m


def plan_cluster(graph: Graph, cluster: Cluster, objective: str = "throughput",
                 batch: int = DEFAULT_BATCH) -> Plan:
    """The exact best contiguous pipeline of ``graph`` on ``cluster`` for ``objective``
    (``throughput``: smallest bottleneck over stages and transfers; ``latency``: smallest
    sum). One-line :class:`TpusplitError` for another objective or no possible plan.

    The one plan built outside :func:`~tpusplit.strategies.base.make_plan`: its network
    transfers are pipeline elements of their own, which the simulator does not model, so
    its time per inference is the flow shop's closed form over stages and transfers
    (:func:`~tpusplit.strategies.base.pipeline_time_ms`)."""
    if objective not in CLUSTER_OBJECTIVES:
        raise TpusplitError(f"--objective: {objective!r}; a cluster plan minimises "
                            f"{' or '.join(CLUSTER_OBJECTIVES)}")
    kinds, host_of = cluster_kinds(cluster)
    t0 = time.perf_counter()
    sources: dict[str, CostSource] = {}
    for k in kinds:  # one cost source per kind of device, shared by the hosts having it
        if k.label not in sources:
            sources[k.label] = kind_cost(k, graph)
    mats: dict[str, np.ndarray] = {label: c.matrix() for label, c in sources.items()}
    costs = np.stack([mats[k.label] for k in kinds])
    links = link_matrix(graph, cluster)
    try:
        part = cluster_partition(costs, [k.count for k in kinds], host_of, links,
                                 CLUSTER_OBJECTIVES[objective])
    except ValueError as exc:
        raise TpusplitError(f"{cluster.source}: {exc}") from None
    seconds = time.perf_counter() - t0
    figures = []
    for t, (a, b) in zip(part.kinds, bounds(graph, part.cuts), strict=True):
        seg = sources[kinds[t].label].segment(a, b)
        figures.append(SegmentFigures(a, b, float(seg.latency_ms), int(seg.on_chip_bytes),
                                      int(seg.off_chip_bytes), kinds[t].label,
                                      cluster.hosts[host_of[t]].name))
    stage_ms = [f.latency_ms for f in figures]
    tpi = pipeline_time_ms(stage_ms + [m for m in part.transfers if m > 0], batch)
    crossings = [f"cut {c}: {figures[s].host} -> {figures[s + 1].host}, "
                 f"{int(graph.crossing_bytes[c])} B, {part.transfers[s]:.3f} ms"
                 for s, c in enumerate(part.cuts) if figures[s].host != figures[s + 1].host]
    notes = [f"exact: every contiguous pipeline on every device of {len(cluster.hosts)} "
             f"host(s), network transfers at cuts between hosts ({objective})",
             f"network: {'; '.join(crossings) if crossings else 'none (one host)'}"]
    device = ";".join(f"{h.name}={h.devices}" for h in cluster.hosts)
    evaluations = sum(c.evaluations for c in sources.values())
    # energy: each stage's device busy for its latency, idle the rest of the period
    energy = pipeline_energy(stage_ms, max([*stage_ms, *part.transfers]),
                             [kinds[t].power for t in part.kinds]).total_mj
    return Plan(strategy=f"cluster-{objective}", device=device, model=graph.name,
                num_ops=len(graph.ops), cuts=part.cuts, segments=tuple(figures), batch=batch,
                time_per_inference_ms=tpi, cost_evaluations=evaluations,
                solve_seconds=seconds, notes=tuple(notes), model_fingerprint=graph.fingerprint,
                network_ms=part.transfers, energy_mj=energy)
