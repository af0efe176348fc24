"""``tpusplit split``: write the segments of a model as standalone .tflite files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from tpusplit.api.tools import (
    Plan,
    check_cuts,
    compile_segments,
    compiled_files,
    coral_problems,
    load,
    split_files,
    stale_segments,
)
from tpusplit.cli.app import app
from tpusplit.cli.common import parse_cuts
from tpusplit.errors import TpusplitError
from tpusplit.files import write_files
from tpusplit.report.compile import compile_rows, compile_table
from tpusplit.report.console import console as make_console
from tpusplit.report.split import split_lines, split_rows


@app.command("split")
def split_command(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin, "
                             "e.g. 12,40."),
    output: Path = typer.Option(..., "-o", "--output", help="Directory for the segments."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as JSON."),
    compile_: bool = typer.Option(False, "--compile", help="Also compile each segment with "
                                  "edgetpu_compiler (must be on the PATH) and report its log."),
    plan_file: Path = typer.Option(None, "--plan", help="Cut where a plan from `tpusplit plan "
                                   "-o plan.json` says (instead of --cuts)."),
    coral: bool = typer.Option(None, "--coral/--no-coral", help="Wire segments for libcoral's "
                               "PipelinedModelRunner: tensors needed later pass through each "
                               "segment (default on with --compile or an Edge TPU plan)."),
) -> None:
    """Write <stem>_segment_<i>_of_<N>.tflite (Coral's naming) and show what crosses each cut."""
    if plan_file is not None and cuts is not None:
        raise TpusplitError(f"{plan_file}: give --cuts or --plan, not both")
    if plan_file is None and cuts is None:
        raise TpusplitError(f"{model}: give --cuts or --plan")
    if output.exists() and not output.is_dir():
        raise TpusplitError(f"{output}: exists and is not a directory")
    graph = load(model)
    edge = compile_
    if plan_file is not None:
        chosen = Plan.load(plan_file)
        graph = chosen.for_model(graph, str(plan_file))  # a plan may cut inside layers
        cut_list = list(chosen.cuts)
        edge = edge or chosen.device.startswith("edgetpu")
    else:
        cut_list = check_cuts(graph, parse_cuts(cuts, str(model)))
    carry = edge if coral is None else coral
    files = split_files(graph, cut_list, output, coral=carry)
    problems = [] if carry else coral_problems(graph, cut_list)
    if problems:
        print(f"warning: libcoral's PipelinedModelRunner would refuse these segments: "
              f"{problems[0]}; tpusplit run takes them, --coral wires them for libcoral",
              file=sys.stderr)
    compiled = compile_segments(files) if compile_ else {}  # before writing anything
    write_files({**files, **compiled_files(compiled)}, "segment")
    for old in stale_segments(output, graph.name, len(files)):  # an earlier split's set
        old.unlink(missing_ok=True)
        print(f"removed {old.name} (an earlier split into other than {len(files)} segments)",
              file=sys.stderr)
    rows = split_rows(graph, cut_list, list(files), coral=carry)
    if as_json:
        print(json.dumps({"model": str(model), "cuts": cut_list, "coral": carry,
                          "segments": rows,
                          **({"compiled": compile_rows(compiled)} if compiled else {})},
                         indent=1))
        return
    console = make_console()
    if compiled:
        console.print(compile_table(compiled))
    for line in split_lines(graph, cut_list, rows):
        console.print(line, highlight=False)
