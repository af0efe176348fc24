"""``tpusplit demo``: the end-to-end tour on a built-in model."""

from __future__ import annotations

from pathlib import Path

import typer

from tpusplit.api import cores_note, execute, make_plans, parse_target, prepare
from tpusplit.api.tools import conv, load, split_files
from tpusplit.cli.app import app
from tpusplit.cli.common import CLOCK_HELP, RUNNER_HELP
from tpusplit.errors import TpusplitError
from tpusplit.files import write_files
from tpusplit.report.console import console
from tpusplit.report.demo import show_mix, show_split, show_strategies
from tpusplit.report.graph import graph_summary
from tpusplit.report.run import check_line, stage_table, summary_table
from tpusplit.report.texts import EDGETPUS

MAX_FILTERS = 1024  # conv F: 5 x 3x3 x F x F int8 weights, 45 MiB at 1024


@app.command()
def demo(
    filters: int = typer.Option(682, "--filters", min=1, max=MAX_FILTERS,
                                help="F of the conv family model."),
    tpus: int = typer.Option(None, "--tpus", min=1, help="Simulated Edge TPUs to plan for "
                             "(default 4; at most the model's 6 ops)."),
    device: str = typer.Option("edgetpu-usb3", "--device", help="The simulated Edge TPU: "
                               f"{', '.join(EDGETPUS)}, or a device-profile .json file."),
    devices: str = typer.Option(None, "--devices", help="A mix of devices instead of --tpus "
                                "and --device, e.g. usb3:2,pcie:1 or usb3:1,cpu@2:1: planned "
                                "with the exact heterogeneous planner."),
    random: int = typer.Option(8, "--random", min=1, help="Random inputs to run through the "
                               "CPU pipeline."),
    output: Path = typer.Option(None, "-o", "--output", help="Write the model and its "
                                "segments to this directory (default: nothing is written)."),
    runner: str = typer.Option("python", "--runner", help=RUNNER_HELP),
    clock: str = typer.Option(None, "--clock", help=CLOCK_HELP),
) -> None:
    """The tour: build conv F=682, plan it on simulated TPUs, split, run on CPU, check."""
    if devices is not None and tpus is not None:
        raise TpusplitError("give --tpus (with --device) or --devices, not both")
    tpus = 4 if tpus is None else tpus
    if output is not None and output.exists() and not output.is_dir():
        raise TpusplitError(f"{output}: exists and is not a directory")
    target = parse_target(device if devices is None else None, tpus if devices is None
                          else None, devices=devices, runner=runner, clock=clock)
    if devices is None and target.backend != "edgetpu":
        raise TpusplitError(f"--device {device}: the demo simulates Edge TPUs; choose one of "
                            f"{', '.join(EDGETPUS)} or a device-profile .json file")
    out = console()
    name = f"conv_F{filters}"
    data = conv(filters)
    graph = load(data, name=name)
    if devices is None and tpus > len(graph.ops):
        raise TpusplitError(f"--tpus {tpus}: the demo model has {len(graph.ops)} ops, so at "
                            f"most {len(graph.ops)} segments")
    out.rule(f"1. build: the conv family at F={filters} (5 x Conv2D 3x3, 64x64 input)")
    out.print(graph_summary(graph))
    found = make_plans(graph, target, compare_all=True)
    best = show_strategies(out, found) if devices is None else show_mix(out, found)
    cuts = list(best.cuts)
    out.rule(f"3. split at {cuts}")
    files = split_files(graph, cuts, output or Path("."))
    show_split(out, graph, cuts, files)
    if output is not None:
        write_files({output / f"{name}.tflite": data, **files})
        out.print(f"wrote {name}.tflite and {len(files)} segments to {output}")
    else:
        out.print("(not written; -o DIR keeps the model and its segments)")
    out.rule(f"4. run: {len(files)}-stage pipeline on LiteRT (CPU), {random} random inputs")
    run = execute(prepare([], None, cuts, graph=graph), None, random, check=True)
    out.print(summary_table(run.measurement, title="CPU pipeline (one thread per stage) "
                            "against the whole model on one thread"))
    out.print(stage_table(run.measurement))
    assert run.check is not None
    out.print(check_line(run.check))
    shared = cores_note(len(files))
    if shared:
        out.print(f"note: {shared}")
    if not run.check.ok:
        raise typer.Exit(1)
