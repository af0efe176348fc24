"""``tpusplit cluster probe``: measure a Ray cluster's links and write its description."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.api.tools import probe_cluster
from tpusplit.cli.app import app
from tpusplit.errors import TpusplitError
from tpusplit.files import write_file

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
    data, cluster = probe_cluster(address, byte_sizes, repeats, str(output))
    write_file(output, json.dumps(data, indent=1) + "\n", "cluster description")
    if as_json:
        print(json.dumps(data, indent=1))
    else:
        for lk in data["links"]:
            print(f"{lk['from']} -> {lk['to']}: {lk['bandwidth_mb_s']:.1f} MB/s, "
                  f"{lk['latency_ms']:.3f} ms")
        print(f"{len(cluster.hosts)} host(s), {len(data['links'])} link(s) -> {output}")
