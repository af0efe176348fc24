"""``tpusplit demo``: the end-to-end tour on a built-in model."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from tpusplit.cli.app import app
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.files import write_files
from tpusplit.graph import load, segments, split
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import LiteRTBackend
from tpusplit.pipeline.assemble import run_and_check
from tpusplit.report.console import console as make_console
from tpusplit.report.graph import graph_summary
from tpusplit.report.plan import compare_table
from tpusplit.report.run import check_line, stage_table, summary_table
from tpusplit.strategies import Plan, names, plan
from tpusplit.units import MiB


@app.command()
def demo(
    filters: int = typer.Option(682, "--filters", help="F of the conv family model."),
    tpus: int = typer.Option(4, "--tpus", help="Simulated Edge TPUs to plan for."),
    device: str = typer.Option("edgetpu-usb3", "--device", help="Simulated Edge TPU profile."),
    inputs: int = typer.Option(8, "--inputs", help="Inputs to run through the CPU pipeline."),
    output: Path = typer.Option(None, "-o", "--output", help="Keep the files in this directory."),
) -> None:
    """The tour: build conv F=682, plan it on simulated TPUs, split, run on CPU, check."""
    out = make_console()
    workdir = output or Path(tempfile.mkdtemp(prefix="tpusplit-demo-"))
    model_path = workdir / f"conv_F{filters}.tflite"
    write_files({model_path: conv(filters)})
    out.rule(f"1. build: the conv family at F={filters} (5 x Conv2D 3x3, 64x64 input)")
    graph = load(model_path)
    out.print(f"{model_path}\n{graph_summary(graph)}")

    out.rule(f"2. plan: every strategy, {tpus} x {device} (performance model, batch 15)")
    cost = EdgeTPUCost(graph, device)
    plans: list[Plan] = []
    skipped: dict[str, str] = {}
    for name in names():
        try:
            plans.append(plan(graph, tpus, cost, name, fresh=True))
        except TpusplitError as exc:  # e.g. no trained latency predictor for this device
            skipped[name] = str(exc)
    if skipped:
        why = next(iter(skipped.values()))
        if "no latency predictor" in why:
            why = f"no trained latency predictor for {device} (see `tpusplit predictor --help`)"
        print(f"note: {', '.join(skipped)} skipped: {why}", file=sys.stderr)
    single = plan(graph, 1, cost, "compiler", fresh=True)
    out.print(compare_table(plans, single, title=f"{graph.name} on {tpus} simulated TPUs"))
    best = min(plans, key=lambda p: (p.bottleneck_ms, p.strategy != "optimal"))
    comp = next(p for p in plans if p.strategy == "compiler")
    out.print(f"{best.strategy}: cuts {list(best.cuts)}, {best.throughput_ips:.1f} inferences/s, "
              f"{single.time_per_inference_ms / best.time_per_inference_ms:.2f}x one TPU, "
              f"{comp.time_per_inference_ms / best.time_per_inference_ms:.2f}x the compiler split")

    cuts = list(best.cuts)
    out.rule(f"3. split at {cuts}")
    blobs = split(graph, cuts)
    files = {workdir / f"{graph.name}_segment_{i}_of_{len(blobs)}.tflite": b
             for i, b in enumerate(blobs)}
    write_files(files)
    for seg, path in zip(segments(graph, cuts), files, strict=True):
        out.print(f"{path.name}: ops {seg.start}..{seg.end - 1}, "
                  f"{graph.segment_param_bytes(seg.start, seg.end) / MiB:.2f} MiB parameters")

    out.rule(f"4. run: {len(blobs)}-stage pipeline on LiteRT (CPU), {inputs} random inputs")
    measurement, check = run_and_check(graph, cuts, count=inputs, backend=LiteRTBackend())
    out.print(summary_table(measurement, title="CPU pipeline"))
    out.print(stage_table(measurement))
    assert check is not None
    out.print(check_line(check))
    out.print(f"files in {workdir}")
    if not check.ok:
        raise typer.Exit(1)
