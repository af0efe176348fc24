"""``tpusplit simulate``: predict what a split model does on N Edge TPUs (no hardware)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.api import graph_of, simulation
from tpusplit.api.tools import Plan
from tpusplit.cli.app import app
from tpusplit.cli.common import CLOCK_HELP, HOST_MS_HELP, RUNNER_HELP, parse_cuts
from tpusplit.errors import TpusplitError
from tpusplit.report.console import console
from tpusplit.report.sim import check_plot_path, gantt_plot, show_simulation, sim_json


@app.command("simulate")
def simulate_command(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin, e.g. "
                             "12,40; omit for the whole model on one TPU."),
    plan: Path = typer.Option(None, "--plan", help="A plan JSON (tpusplit plan -o): its cuts, "
                              "replicas and target (device, runner, clock)."),
    device: str = typer.Option(None, "--device", help="edgetpu-usb3 (default), edgetpu-usb2, "
                               "edgetpu-pcie, ..., or a device-profile .json file; a plan "
                               "brings its own."),
    batch: int = typer.Option(None, "--batch", min=1, max=100_000, help="Inputs pushed "
                              "through the pipeline (default 15, or the plan's)."),
    shared_bus: bool = typer.Option(False, "--shared-bus", help="All TPUs share one USB bus."),
    buses: str = typer.Option(None, "--buses", help="The link of each TPU, e.g. 0,0,1: TPUs "
                              "with the same number share a USB bus or host controller."),
    queue_size: int = typer.Option(None, "--queue-size", help="Bound every inter-segment "
                                   "queue (default unbounded, like Coral's runner)."),
    plot: Path = typer.Option(None, "--plot", help="Write a Gantt chart (PNG) here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    runner: str = typer.Option(None, "--runner", help=RUNNER_HELP),
    host_ms: float = typer.Option(None, "--host-ms", min=0, help=HOST_MS_HELP),
    clock: str = typer.Option(None, "--clock", help=CLOCK_HELP),
) -> None:
    """Simulate a batch through the segments on N TPUs with the Edge TPU performance model."""
    if plan is not None and cuts is not None:
        raise TpusplitError("give --plan or --cuts, not both")
    if plot is not None:
        check_plot_path(plot)
    graph = graph_of(model)
    chosen = Plan.load(plan) if plan is not None else (
        parse_cuts(cuts, str(model)) if cuts is not None else [])
    bus_list = None
    if buses is not None:
        try:
            bus_list = [int(b) for b in buses.split(",")]
        except ValueError:
            raise TpusplitError(f"--buses: {buses!r} is not a list of integers like 0,0,1") \
                from None
    costs, result = simulation(graph, chosen, device=device, batch=batch,
                               shared_bus=shared_bus, buses=bus_list, queue_size=queue_size,
                               runner=runner, host_ms=host_ms, clock=clock)
    cost = costs[0] if isinstance(costs, list) else costs
    device_name = chosen.device if isinstance(chosen, Plan) else cost.device
    title = (f"{graph.name}: {len(result.segments)} x {device_name}, "
             f"{result.time_per_inference_ms:.2f} ms per inference (batch {result.batch})")
    written = gantt_plot(result, plot, title) if plot is not None else None
    if as_json:
        print(json.dumps({**sim_json(cost, result), "plot": str(written) if written else None},
                         indent=1))
        return
    show_simulation(console(), cost, result, device_name, written)
