"""``tpusplit simulate``: predict what a split model does on N Edge TPUs (no hardware)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.cli.app import app
from tpusplit.cli.common import CLOCK_HELP, HOST_MS_HELP, RUNNER_HELP, parse_cuts
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import GraphError, check_cuts, load
from tpusplit.report.console import console as make_console
from tpusplit.report.sim import check_plot_path, gantt_plot, sim_energy, sim_json, sim_table
from tpusplit.sim import check_batch, simulate


@app.command("simulate")
def simulate_command(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin, e.g. "
                             "12,40; omit for the whole model on one TPU."),
    device: str = typer.Option("edgetpu-usb3", "--device", help="edgetpu-usb3, edgetpu-usb2, "
                               "edgetpu-pcie, or a device-profile .json file."),
    batch: int = typer.Option(15, "--batch", help="Inputs pushed through the pipeline."),
    shared_bus: bool = typer.Option(False, "--shared-bus", help="All TPUs share one USB bus."),
    buses: str = typer.Option(None, "--buses", help="The link of each TPU, e.g. 0,0,1: TPUs "
                              "with the same number share a USB bus or host controller."),
    queue_size: int = typer.Option(None, "--queue-size", help="Bound every inter-segment "
                                   "queue (default unbounded, like Coral's runner)."),
    plot: Path = typer.Option(None, "--plot", help="Write a Gantt chart (PNG) here."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    runner: str = typer.Option("python", "--runner", help=RUNNER_HELP),
    host_ms: float = typer.Option(None, "--host-ms", min=0, help=HOST_MS_HELP),
    clock: str = typer.Option(None, "--clock", help=CLOCK_HELP),
) -> None:
    """Simulate a batch through the segments on N TPUs with the Edge TPU performance model."""
    check_batch(batch, f"{model}: --batch")
    if queue_size is not None and queue_size < 1:
        raise TpusplitError(f"{model}: --queue-size must be >= 1, got {queue_size}")
    if plot is not None:
        check_plot_path(plot)
    graph = load(model)
    cut_list = parse_cuts(cuts, str(model)) if cuts is not None else []
    try:
        check_cuts(graph, cut_list)
    except GraphError as exc:
        raise TpusplitError(str(exc)) from None
    bus_list = None
    if buses is not None:
        try:
            bus_list = [int(b) for b in buses.split(",")]
        except ValueError:
            raise TpusplitError(f"--buses: {buses!r} is not a list of integers like 0,0,1") \
                from None
        if len(bus_list) != len(cut_list) + 1:
            raise TpusplitError(f"--buses: {len(bus_list)} links for {len(cut_list) + 1} TPUs")
    cost = EdgeTPUCost(graph, device, runner=runner, host_ms=host_ms, clock=clock)
    result = simulate(cost, cut_list, batch=batch, shared_bus=shared_bus, queue_size=queue_size,
                      buses=bus_list)
    written = None
    if plot is not None:
        written = gantt_plot(result, plot, f"{graph.name}: {len(result.segments)} x "
                                           f"{cost.device}, {result.time_per_inference_ms:.2f} "
                                           f"ms per inference (batch {batch})")
    if as_json:
        print(json.dumps({**sim_json(cost, result), "plot": str(written) if written else None},
                         indent=1))
        return
    console = make_console()
    console.print(sim_table(cost, result))
    console.print(f"time per inference {result.time_per_inference_ms:.3f} ms, throughput "
                  f"{result.throughput_ips:.1f}/s, first result {result.first_result_ms:.3f} ms "
                  f"(batch {batch}, predicted by the {cost.device} model)")
    if len(result.segments) > 1:
        console.print(cost.runner.describe())
    expected = cost.expected_error(len(result.segments))
    if expected:
        console.print(expected)
    energy = sim_energy(cost, result)
    if energy is not None:
        console.print(f"energy {energy.total_mj:.2f} mJ per inference ({energy.active_mj:.2f} "
                      f"active), {energy.inferences_per_joule:.1f} inferences/J (power model: "
                      f"tpusplit.devices.energy)")
    if written is not None:
        console.print(f"Gantt chart written to {written}")
