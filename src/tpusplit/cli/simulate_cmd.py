"""``tpusplit simulate``: predict what a split model does on N Edge TPUs (no hardware)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.cli.app import app
from tpusplit.cli.common import parse_cuts
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import GraphError, check_cuts, load
from tpusplit.report.console import console as make_console
from tpusplit.report.sim import gantt_plot, sim_json, sim_table
from tpusplit.sim import simulate


@app.command("simulate")
def simulate_command(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin, e.g. "
                             "12,40; omit for the whole model on one TPU."),
    device: str = typer.Option("edgetpu-usb3", "--device", help="edgetpu-usb3, edgetpu-usb2, "
                               "edgetpu-pcie, or a device-profile .json file."),
    batch: int = typer.Option(15, "--batch", help="Inputs pushed through the pipeline."),
    shared_bus: bool = typer.Option(False, "--shared-bus", help="All TPUs share one USB bus."),
    queue_size: int = typer.Option(None, "--queue-size", help="Bound every inter-segment "
                                   "queue (default unbounded, like Coral's runner)."),
    plot: Path = typer.Option(None, "--plot", help="Write a Gantt chart (PNG) here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Simulate a batch through the segments on N TPUs with the Edge TPU performance model."""
    if batch < 1:
        raise TpusplitError(f"{model}: --batch must be >= 1, got {batch}")
    if queue_size is not None and queue_size < 1:
        raise TpusplitError(f"{model}: --queue-size must be >= 1, got {queue_size}")
    graph = load(model)
    cut_list = parse_cuts(cuts, str(model)) if cuts is not None else []
    try:
        check_cuts(graph, cut_list)
    except GraphError as exc:
        raise TpusplitError(str(exc)) from None
    cost = EdgeTPUCost(graph, device)
    result = simulate(cost, cut_list, batch=batch, shared_bus=shared_bus, queue_size=queue_size)
    if plot is not None:
        gantt_plot(result, plot, f"{graph.name}: {len(result.segments)} x {cost.device}, "
                                 f"{result.time_per_inference_ms:.2f} ms per inference")
    if as_json:
        print(json.dumps(sim_json(cost, result), indent=1))
        return
    console = make_console()
    console.print(sim_table(cost, result))
    console.print(f"time per inference {result.time_per_inference_ms:.3f} ms, throughput "
                  f"{result.throughput_ips:.1f}/s, first result {result.first_result_ms:.3f} ms "
                  f"(batch {batch}, predicted by the {cost.device} model)")
