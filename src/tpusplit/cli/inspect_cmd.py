"""``tpusplit inspect``: the ops of a model, their costs, and what crosses each cut."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.api.tools import load
from tpusplit.cli.app import app
from tpusplit.report.console import console as make_console
from tpusplit.report.graph import graph_dict, graph_summary, graph_table


@app.command()
def inspect(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
) -> None:
    """One row per op (MACs, parameters, depth, bytes crossing the cut before it) and a summary."""
    graph = load(model)
    if as_json:
        print(json.dumps(graph_dict(graph), indent=1))
        return
    console = make_console()
    console.print(graph_table(graph))
    console.print(graph_summary(graph))
