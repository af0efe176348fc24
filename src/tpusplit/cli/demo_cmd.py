"""``tpusplit demo``: the end-to-end tour on a built-in model."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import typer

from tpusplit.cli.app import app
from tpusplit.cli.common import write_files
from tpusplit.graph import load, segments, split
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import LiteRTStage, random_inputs, run_sequential
from tpusplit.pipeline.litert import all_tensors
from tpusplit.report.console import console as make_console
from tpusplit.report.graph import graph_summary, graph_table


@app.command()
def demo(
    filters: int = typer.Option(682, "--filters", help="F of the conv family model."),
    num_segments: int = typer.Option(4, "--segments", help="How many segments."),
    output: Path = typer.Option(None, "-o", "--output", help="Keep the files in this directory."),
) -> None:
    """Build conv F=682, inspect it, split it, run the segments on LiteRT and check them."""
    out = make_console()
    workdir = output or Path(tempfile.mkdtemp(prefix="tpusplit-demo-"))
    data = conv(filters)
    model_path = workdir / f"conv_F{filters}.tflite"
    write_files({model_path: data})
    out.rule(f"1. build: conv family F={filters} -> {model_path}")
    graph = load(model_path)
    out.rule("2. inspect")
    out.print(graph_table(graph))
    out.print(graph_summary(graph))
    cum = graph.cumulative_param_bytes
    cuts = sorted({int(np.searchsorted(cum, graph.param_bytes * i / num_segments, side="right"))
                   for i in range(1, num_segments)})
    cuts = [c for c in cuts if 0 < c < len(graph.ops)]
    out.rule(f"3. split in {len(cuts) + 1} at {cuts} (even parameters)")
    blobs = split(graph, cuts)
    files = {workdir / f"{graph.name}_segment_{i}_of_{len(blobs)}.tflite": b
             for i, b in enumerate(blobs)}
    write_files(files)
    for seg, path in zip(segments(graph, cuts), files, strict=True):
        out.print(f"{path.name}: ops {seg.start}..{seg.end - 1}, "
                  f"{graph.segment_param_bytes(seg.start, seg.end) / 2**20:.2f} MiB parameters")
    out.rule("4. run the segments on LiteRT (CPU) and compare with the whole model")
    whole = LiteRTStage(data)
    feeds = random_inputs(whole, seed=0)
    expected = whole.run(feeds)
    reference = all_tensors(data, feeds)
    env = run_sequential([LiteRTStage(b) for b in blobs], feeds)
    crossing = {graph.tensors[t].name for c in cuts for t in graph.crossing(c)}
    ok = all(np.array_equal(env[k], v) for k, v in expected.items()) and all(
        np.array_equal(env[k], reference[k]) for k in crossing)
    out.print(f"outputs and {len(crossing)} boundary tensor(s) bit-exact with the whole model: "
              f"{'yes' if ok else 'NO'}")
    out.print(f"files in {workdir}")
    if not ok:
        raise typer.Exit(1)
