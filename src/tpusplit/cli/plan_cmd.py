"""``tpusplit plan``: choose the cuts of a model for N devices with a strategy, or compare them."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.api import make_plans, parse_target
from tpusplit.cli.app import app
from tpusplit.cli.common import (
    CLOCK_HELP,
    CORAL_HELP,
    COST_HELP,
    HOST_MS_HELP,
    RUNNER_HELP,
    check_output,
    parse_tpus,
    warn,
)
from tpusplit.errors import TpusplitError
from tpusplit.report.console import console
from tpusplit.report.plan import planning_json, show_planning
from tpusplit.report.texts import DEVICE_HELP_PLANNING, STRATEGY_HELP


@app.command("plan")
def plan_command(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    tpus: str = typer.Option(None, "--tpus", "-n", help="Number of devices (segments), or "
                             "'auto': the fewest reaching the best throughput within 5% (or "
                             "--target-ips)."),
    devices: str = typer.Option(None, "--devices", help="A mix of devices instead of --tpus, "
                                "e.g. usb3:2,pcie:1,cpu:2 (Edge TPU profiles by short name, "
                                "cpu or cpu@THREADS): the exact best contiguous pipeline, "
                                "devices in any order, some possibly unused."),
    objective: str = typer.Option("throughput", "--objective", help="throughput (smallest "
                                  "bottleneck), latency (smallest sum of stage times) or "
                                  "energy (smallest active energy per inference)."),
    strategy: str = typer.Option(None, "--strategy", "-s", help=STRATEGY_HELP),
    device: str = typer.Option("edgetpu-usb3", "--device", help=DEVICE_HELP_PLANNING),
    batch: int = typer.Option(15, "--batch", min=1, help="Inputs in flight for the time per "
                              "inference."),
    compare_all: bool = typer.Option(False, "--compare", help="Run every strategy side by "
                                     "side (with --tpus auto: at the N it chooses)."),
    max_tpus: int = typer.Option(8, "--max-tpus", min=1, help="Largest N tried by --tpus "
                                 "auto."),
    target_ips: float = typer.Option(None, "--target-ips", help="With --tpus auto: the "
                                     "fewest devices reaching this many inferences/s."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list with --compare)."),
    output: Path = typer.Option(None, "-o", "--output", help="Write the plan (of --strategy) "
                                "as JSON, for `tpusplit split --plan` and `tpusplit run "
                                "--plan`."),
    cost_kind: str = typer.Option(None, "--cost", help=COST_HELP),
    coral: str = typer.Option(None, "--coral", help=CORAL_HELP),
    profile_cache: Path = typer.Option(None, "--profile-cache", help="JSON cache of Edge TPU "
                                       "measurements (default ~/.cache/tpusplit/"
                                       "edgetpu-profile.json)."),
    cluster: Path = typer.Option(None, "--cluster", help="A cluster description (JSON: hosts, "
                                 "their devices, network links; tpusplit cluster probe): the "
                                 "exact best pipeline across its hosts, cuts between hosts "
                                 "paying the network transfer (instead of --tpus/--devices)."),
    runner: str = typer.Option("python", "--runner", help=RUNNER_HELP),
    host_ms: float = typer.Option(None, "--host-ms", min=0, help=HOST_MS_HELP),
    clock: str = typer.Option(None, "--clock", help=CLOCK_HELP),
    replicas: int = typer.Option(None, "--replicas", min=1, help="At most this many copies "
                                 "of a stage, inputs dealt to whichever is free (default: as "
                                 "many as help with the Edge TPU model; 1: a pure pipeline)."),
    split_layers: bool = typer.Option(False, "--split-layers", help="Let the strategy cut "
                                      "inside large layers (conv, depthwise, fully connected "
                                      ">= 1 MiB) by output channels, in multiples of 64; the "
                                      "plan records the rewrite, split and run reproduce it."),
) -> None:
    """Choose where to cut MODEL for N devices; show segments, bottleneck and throughput."""
    if cluster is None and (tpus is None) == (devices is None):
        raise TpusplitError(f"{model}: give --tpus N or --devices KIND:COUNT,..., one of them")
    check_output(output)
    target = parse_target(device, parse_tpus(tpus, str(model)), devices=devices,
                          cluster=cluster, runner=runner, host_ms=host_ms, clock=clock,
                          source=str(model))
    found = make_plans(model, target, strategy=strategy, cost=cost_kind, batch=batch,
                       coral=coral, compare_all=compare_all, objective=objective,
                       max_tpus=max_tpus, target_ips=target_ips, profile_cache=profile_cache,
                       replicas=replicas, split_layers=split_layers, progress=True,
                       warn=warn)
    if output is not None:
        if found.plan is None:
            raise TpusplitError(f"{output}: strategy {strategy or 'optimal'} did not produce "
                                "a plan")
        found.plan.save(output)
    if as_json:
        print(json.dumps(planning_json(found, batch, compare_all), indent=1))
    else:
        show_planning(console(), found, batch)
