"""Measuring the links of a Ray cluster: byte buffers of a few sizes sent node to node.

For every ordered pair of live nodes ``(a, b)``, a probe actor on ``a`` makes a buffer of
each size and a probe actor on ``b`` receives it as a task argument (Ray moves it as the
runner moves tensors: inline through the driver below 100 KiB, through the object store
above); the time of the receiving call, median of ``repeats``, is fitted as
``latency + bytes / bandwidth`` by least squares. The latency therefore includes Ray's
per-call cost, which the runner pays at every hop too.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tpusplit.pipeline.ray_runner import PipelineError, import_ray

#: Standard Ray resources: anything else a node has is a custom resource naming it.
STANDARD = ("CPU", "GPU", "memory", "object_store_memory", "accelerator_type")


@dataclass(frozen=True)
class ProbedNode:
    """A live Ray node: id, hostname, logical CPUs, custom resources, and a name for it."""

    node_id: str
    hostname: str
    cpus: int
    resources: dict[str, float]
    name: str


@dataclass(frozen=True)
class ProbedLink:
    """A fitted link from node ``a`` to node ``b`` and the medians it was fitted on."""

    a: str
    b: str
    bandwidth_mb_s: float
    latency_ms: float
    samples: tuple[tuple[int, float], ...]  # (bytes, ms)


class _Probe:
    """The probe actor: makes buffers, receives them."""

    def make(self, size: int) -> np.ndarray:
        return np.ones(size, dtype=np.uint8)

    def take(self, buf: np.ndarray) -> int:
        return int(buf.nbytes)


def live_nodes() -> list[ProbedNode]:
    """The cluster's live nodes, named after their first custom resource (else hostname and
    index)."""
    ray = import_ray()
    out = []
    for i, n in enumerate(sorted((n for n in ray.nodes() if n.get("Alive")),
                                 key=lambda n: n["NodeID"])):
        custom = {k: float(v) for k, v in n.get("Resources", {}).items()
                  if k not in STANDARD and not k.startswith(("node:", "accelerator_type"))}
        name = next(iter(sorted(custom)), f"{n.get('NodeManagerHostname', 'node')}-{i}")
        out.append(ProbedNode(n["NodeID"], str(n.get("NodeManagerHostname", "")),
                              int(n.get("Resources", {}).get("CPU", 0)), custom, name))
    return out


def fit(samples: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """``(bandwidth MB/s, latency ms)`` of ``ms = latency + bytes / bandwidth``.

    Least squares on *relative* error (each sample weighted by 1 / its time), so the small
    transfers, which say what the latency is, count as much as the large ones, which say what
    the bandwidth is (plain least squares let the large ones move the latency by milliseconds).
    A slope that is not positive gives an unmeasurably fast link: 1e6 MB/s.
    """
    x = np.array([s[0] for s in samples], float)
    y = np.array([s[1] for s in samples], float)
    w = 1.0 / np.maximum(y, 1e-6)
    slope, intercept = (np.polyfit(x, y, 1, w=w) if len(set(x)) > 1
                        else (0.0, float(y.mean())))
    bandwidth = 1e-3 / slope if slope > 0 else 1e6  # ms per byte -> MB/s
    return float(bandwidth), float(max(intercept, 0.0))


def probe_links(nodes: Sequence[ProbedNode], sizes: Sequence[int], repeats: int = 5
                ) -> tuple[list[ProbedNode], list[ProbedLink]]:
    """Measure every ordered pair of ``nodes`` (module docstring).

    Returns the nodes that answered and their links. A node whose probe actor cannot start
    (a node that just died may still be listed as alive for a while) is left out with a
    warning; a node lost during the measurement stops it with a one-line
    :class:`PipelineError`.
    """
    ray = import_ray()
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    remote = ray.remote(_Probe)
    actors: dict[str, Any] = {
        n.node_id: remote.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(
            n.node_id, soft=False)).remote() for n in nodes}
    try:
        ready = {n.node_id: actors[n.node_id].take.remote(np.zeros(1, np.uint8)) for n in nodes}
        answered = []
        for n in nodes:
            try:
                ray.get(ready[n.node_id], timeout=120)
                answered.append(n)
            except (ray.exceptions.RayError, TimeoutError) as exc:
                warnings.warn(f"node {n.name} ({n.node_id[:12]}) left out: its probe actor "
                              f"did not start ({type(exc).__name__})", stacklevel=2)
        if len(answered) < 2:
            raise PipelineError(f"the Ray cluster has {len(answered)} live node(s): a link "
                                "needs two")
        try:
            return answered, [_link(ray, actors, a, b, sizes, repeats)
                              for a in answered for b in answered if a.node_id != b.node_id]
        except ray.exceptions.RayError as exc:
            raise PipelineError(f"a node was lost during the probe ({type(exc).__name__}); "
                                "probe again") from None
    finally:
        for actor in actors.values():
            with contextlib.suppress(Exception):  # already dead, or the cluster is gone
                ray.kill(actor)


def _link(ray: Any, actors: dict[str, Any], a: ProbedNode, b: ProbedNode,
          sizes: Sequence[int], repeats: int) -> ProbedLink:
    """Time buffers of every size from ``a`` to ``b`` and fit the link."""
    samples = []
    for size in sizes:
        times = []
        for _ in range(repeats + 1):  # the first one warms up
            ref = actors[a.node_id].make.remote(int(size))
            ray.wait([ref], fetch_local=False)
            t0 = time.perf_counter()
            ray.get(actors[b.node_id].take.remote(ref))
            times.append(1e3 * (time.perf_counter() - t0))
        samples.append((int(size), float(np.median(times[1:]))))
    bw, lat = fit(samples)
    return ProbedLink(a.name, b.name, bw, lat, tuple(samples))
