"""``tpusplit split``: write the segments of a model as standalone .tflite files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from tpusplit.cli.app import app
from tpusplit.cli.common import parse_cuts
from tpusplit.errors import TpusplitError
from tpusplit.files import write_files
from tpusplit.graph import load, segments, split
from tpusplit.pipeline.edgetpu_compiler import compile_segments, compiled_files
from tpusplit.report.compile import compile_rows, compile_table
from tpusplit.report.console import console as make_console
from tpusplit.strategies import Plan
from tpusplit.units import MiB


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
) -> None:
    """Write <stem>_segment_<i>_of_<N>.tflite (Coral's naming) and show what crosses each cut."""
    graph = load(model)
    if plan_file is not None:
        if cuts is not None:
            raise TpusplitError(f"{plan_file}: give --cuts or --plan, not both")
        chosen = Plan.load(plan_file)
        chosen.check_graph(graph, str(plan_file))
        cut_list = list(chosen.cuts)
    elif cuts is None:
        raise typer.BadParameter("give --cuts or --plan", param_hint="--cuts")
    else:
        cut_list = parse_cuts(cuts, str(model))
    blobs = split(graph, cut_list)
    segs = segments(graph, cut_list)
    n = len(blobs)
    files = {output / f"{graph.name}_segment_{i}_of_{n}.tflite": b for i, b in enumerate(blobs)}
    compiled = compile_segments(files) if compile_ else {}  # before writing anything
    write_files({**files, **compiled_files(compiled)})
    rows: list[dict[str, Any]] = []
    for seg, path in zip(segs, files, strict=True):
        rows.append({
            "file": str(path), "ops": [seg.start, seg.end],
            "param_bytes": graph.segment_param_bytes(seg.start, seg.end),
            "inputs": [graph.tensors[t].name for t in seg.inputs],
            "outputs": [graph.tensors[t].name for t in seg.outputs],
            "input_bytes": sum(graph.tensors[t].nbytes for t in seg.inputs),
        })
    if as_json:
        print(json.dumps({"model": str(model), "cuts": cut_list, "segments": rows,
                          **({"compiled": compile_rows(compiled)} if compiled else {})},
                         indent=1))
        return
    console = make_console()
    if compiled:
        console.print(compile_table(compiled))
    for r in rows:
        console.print(f"[bold]{r['file']}[/]  ops {r['ops'][0]}..{r['ops'][1] - 1}  "
                      f"params {r['param_bytes'] / MiB:.2f} MiB")
    for k, c in enumerate(cut_list):
        crossing = graph.crossing(c)
        names = ", ".join(graph.tensors[t].name for t in crossing)
        console.print(f"cut {k + 1} before op {c}: {len(crossing)} tensor(s), "
                      f"{int(graph.crossing_bytes[c]):,} bytes: {names}")
