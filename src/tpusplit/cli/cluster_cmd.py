"""``tpusplit cluster probe``: measure a Ray cluster's links and write its description."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.cli.app import app
from tpusplit.devices.cluster_spec import parse_cluster
from tpusplit.errors import TpusplitError

cluster_app = typer.Typer(help="Multi-host pipelines on Ray: describe a cluster.",
                          no_args_is_help=True)
app.add_typer(cluster_app, name="cluster")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(float(x) * 1000) for x in text.split(",") if x.strip()]
    except ValueError:
        raise TpusplitError(f"--sizes {text!r}: give kilobytes like 1,100,1000") from None
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise TpusplitError(f"--sizes {text!r}: give at least two sizes > 0 (kilobytes)")
    return sizes


@cluster_app.command("probe")
def probe(
    output: Path = typer.Option(..., "-o", "--output", help="Write the cluster description "
                                "JSON here (for plan --cluster and run --cluster-spec)."),
    address: str = typer.Option("auto", "--cluster", help="The Ray cluster: auto, "
                                "ray://HOST:PORT or HOST:PORT."),
    sizes: str = typer.Option("1,200,1000,4000", "--sizes", help="Buffer sizes, kilobytes."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Transfers per size (median)."),
    as_json: bool = typer.Option(False, "--json", help="Print the description too."),
) -> None:
    """Measure bandwidth and latency between every pair of nodes of a Ray cluster (buffers of
    a few sizes, latency + bytes / bandwidth fitted) and write the cluster description: one
    host per node (named by its custom resource), devices cpu:N (edit them: Ray does not know
    the Edge TPUs), and the links."""
    byte_sizes = _sizes(sizes)
    if output.is_dir():
        raise TpusplitError(f"{output}: is a directory; give a file name like cluster.json")
    from tpusplit.pipeline.ray_probe import live_nodes, probe_links
    from tpusplit.pipeline.ray_runner import connect, disconnect

    connected = connect(address)
    try:
        nodes, links = probe_links(live_nodes(), byte_sizes, repeats)
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
    cluster = parse_cluster(data, str(output))  # what plan --cluster will read
    from tpusplit.files import write_file

    write_file(output, json.dumps(data, indent=1) + "\n", "cluster description")
    if as_json:
        print(json.dumps(data, indent=1))
    else:
        for lk in links:
            print(f"{lk.a} -> {lk.b}: {lk.bandwidth_mb_s:.1f} MB/s, {lk.latency_ms:.3f} ms")
        print(f"{len(cluster.hosts)} host(s), {len(links)} link(s) -> {output}")
