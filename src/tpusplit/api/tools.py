"""What the other commands use, in one place: the application layer's surface for ``cli``.

The commands import nothing below ``api`` but ``report`` (the layering test checks it); the
building blocks they call directly (reading and splitting models, the compiler, the device
list, the zoo, calibration, predictors, the cluster probe) are re-exported here.
"""

from typing import Any

from tpusplit.calibration.fit import calibrate
from tpusplit.calibration.measurements import read_any
from tpusplit.devices.catalogue import device_help
from tpusplit.devices.cluster_spec import Cluster, parse_cluster
from tpusplit.devices.profiles import save_profile
from tpusplit.graph import Graph, check_cuts, load, segments, split_files, stale_segments
from tpusplit.models import zoo
from tpusplit.models.synthetic import conv
from tpusplit.pipeline.edgetpu import library_name, list_devices
from tpusplit.pipeline.edgetpu_compiler import (
    COMPILER,
    compile_segments,
    compiled_files,
    find_compiler,
)
from tpusplit.predictor import evaluate, load_predictor, predictor_class
from tpusplit.predictor.dataset import Dataset, collect, model_specs
from tpusplit.profiling.sources import cost_factory
from tpusplit.strategies import Plan


def coral_problems(graph: Graph, cuts: list[int]) -> list[str]:
    """Why libcoral's PipelinedModelRunner would refuse the plain segments of ``cuts`` (a
    tensor carried past a segment; :func:`tpusplit.graph.coral.chain_violations`); empty
    when it takes them."""
    from tpusplit.graph.coral import chain_violations

    names = [t.name for t in graph.tensors]
    ios = [([names[i] for i in s.inputs], [names[o] for o in s.outputs])
           for s in segments(graph, cuts)]
    return chain_violations(ios)


def probe_cluster(address: str, sizes: list[int], repeats: int, source: str
                  ) -> tuple[dict[str, Any], Cluster]:
    """Connect to the Ray cluster at ``address``, measure bandwidth and latency between
    every pair of its nodes (:mod:`tpusplit.pipeline.ray_probe`), disconnect; return the
    cluster description (JSON-ready, one host per node with ``cpu:N`` devices, every link
    with its samples) and the :class:`Cluster` it parses to (named ``source``)."""
    from tpusplit.pipeline.ray_probe import live_nodes, probe_links
    from tpusplit.pipeline.ray_runner import connect, disconnect

    connected = connect(address)
    try:
        nodes, links = probe_links(live_nodes(), sizes, repeats)
    finally:
        if connected:
            disconnect()
    hosts = []
    for n in nodes:
        host: dict[str, object] = {"name": n.name, "devices": f"cpu:{max(n.cpus, 1)}",
                                   "address": n.hostname}
        if n.resources:
            host["resources"] = {n.name: 0.001}
        else:
            host["node_id"] = n.node_id
        hosts.append(host)
    data = {"hosts": hosts,
            "links": [{"from": lk.a, "to": lk.b, "bandwidth_mb_s": round(lk.bandwidth_mb_s, 3),
                       "latency_ms": round(lk.latency_ms, 4),
                       "measured": [{"bytes": s, "ms": round(ms, 4)} for s, ms in lk.samples]}
                      for lk in links]}
    return data, parse_cluster(data, source)  # what plan --cluster will read


__all__ = [
    "COMPILER",
    "Dataset",
    "Graph",
    "Plan",
    "calibrate",
    "check_cuts",
    "collect",
    "compile_segments",
    "compiled_files",
    "conv",
    "coral_problems",
    "cost_factory",
    "device_help",
    "evaluate",
    "find_compiler",
    "library_name",
    "list_devices",
    "load",
    "load_predictor",
    "model_specs",
    "parse_cluster",
    "predictor_class",
    "probe_cluster",
    "read_any",
    "save_profile",
    "segments",
    "split_files",
    "stale_segments",
    "zoo",
]
