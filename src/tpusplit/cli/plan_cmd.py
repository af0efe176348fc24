"""``tpusplit plan``: choose the cuts of a model for N devices with a strategy, or compare them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from tpusplit.cli import edgetpu_plan
from tpusplit.cli.app import app
from tpusplit.cli.common import CLOCK_HELP, HOST_MS_HELP, RUNNER_HELP
from tpusplit.devices.catalogue import device_help
from tpusplit.devices.kinds import describe, parse_devices
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.profiling.sources import kind_cost
from tpusplit.report.console import console as make_console
from tpusplit.report.plan import auto_dict, compare_rows, compare_table, plan_summary, plan_table
from tpusplit.strategies import auto, compare, get, names, plan
from tpusplit.strategies.base import DEFAULT_BATCH, rebatch
from tpusplit.strategies.heterogeneous import (
    check_objective,
    place_layers,
    plan_as_slowest,
    plan_devices,
)


def _parse_tpus(text: str, source: str) -> int | None:
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise TpusplitError(f"{source}: --tpus must be a number of devices or 'auto', "
                            f"got {text!r}") from None


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
    strategy: str = typer.Option(None, "--strategy", "-s",
                                 help=f"One of {', '.join(names(include_oracles=True))} "
                                 "(default optimal; profiled with --cost profile)."),
    device: str = typer.Option("edgetpu-usb3", "--device", help=device_help(planning=True)),
    batch: int = typer.Option(DEFAULT_BATCH, "--batch", min=1, help="Inputs in flight for "
                              "the time per inference."),
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
    cost_kind: str = typer.Option(None, "--cost", help=edgetpu_plan.COST_HELP),
    coral: str = typer.Option(None, "--coral", help=edgetpu_plan.CORAL_HELP),
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
) -> None:
    """Choose where to cut MODEL for N devices; show segments, bottleneck and throughput."""
    check_objective(objective)
    if cluster is not None:
        if tpus is not None or devices is not None or compare_all:
            raise TpusplitError(f"{cluster}: --cluster plans on the hosts' own devices; leave "
                                "out --tpus, --devices and --compare")
        _plan_cluster(model, cluster, objective, batch, as_json, output)
        return
    if (tpus is None) == (devices is None):
        raise TpusplitError(f"{model}: give --tpus N or --devices KIND:COUNT,..., one of them")
    if devices is not None or objective != "throughput":
        if cost_kind == "profile":
            raise TpusplitError(f"{model}: --cost profile plans --tpus N on one kind of Edge "
                                "TPU; --devices and --objective plan on the models")
        _plan_devices(model, devices, tpus, device, objective, batch, compare_all, as_json,
                      output)
        return
    if strategy is not None:
        get(strategy)
    n = _parse_tpus(str(tpus), str(model))
    if output is not None and output.is_dir():
        raise TpusplitError(f"{output}: is a directory; give a file name like plan.json")
    graph = load(model)
    setup = edgetpu_plan.setup(graph, device, cost_kind, strategy, coral, profile_cache,
                               runner=runner, host_ms=host_ms, clock=clock)
    cost, strategy = setup.cost, setup.strategy
    setup.estimate(n or max_tpus, names() if compare_all else [strategy])
    res = None
    with setup.progress(f"planning {graph.name}") as step:
        if n is None:
            step(f"--tpus auto: {strategy}, N = 1..{max_tpus}")
            res = auto(graph, cost, strategy, max_tpus, target_ips)
            n = res.plan.num_segments
        if compare_all:
            found = compare(graph, n, cost, batch=batch,
                            progress=lambda name: step(f"{name} on {n} x {cost.device}"))
        else:
            step(f"{strategy} on {n} x {cost.device}")
            chosen = setup.finish(rebatch(res.plan if res is not None
                                          else plan(graph, n, cost, strategy), cost, batch))
    if res is not None and not res.target_reached:
        print(f"warning: {model}: {res.reason}", file=sys.stderr)
    console = make_console()
    if compare_all:
        found = setup.finish_all(found)
        for name, why in found.skipped.items():
            print(f"warning: {name} skipped: {why}", file=sys.stderr)
        mine = found.plan(strategy)
        if output is not None:
            if mine is None:
                raise TpusplitError(f"{output}: strategy {strategy} did not produce a plan "
                                    f"({found.skipped.get(strategy, 'not compared')})")
            mine.save(output)
        if as_json:
            rows = compare_rows(found.plans, found.single)
            print(json.dumps(rows if res is None else {"auto": auto_dict(res, cost, batch),
                                                      "plans": rows}, indent=1))
            return
        if res is not None:
            console.print(f"--tpus auto: N = {n} ({res.reason})")
        console.print(compare_table(found.plans, found.single,
                                    title=f"{graph.name}: {n} x {cost.device}, batch {batch} "
                                    "(the strategies share one cost cache)"))
        return
    if output is not None:
        chosen.save(output)
    if as_json:
        extra = {} if res is None else {"auto": auto_dict(res, cost, batch)}
        print(json.dumps({**chosen.as_dict(), **extra}, indent=1))
        return
    if res is not None:
        tried = [rebatch(p, cost, batch) for p in res.tried]
        console.print(compare_table(tried, tried[0], title=f"{graph.name}: {strategy}, "
                                    f"N = 1..{max_tpus}"))
        console.print(f"--tpus auto: N = {chosen.num_segments} ({res.reason})")
    console.print(plan_table(chosen))
    console.print(plan_summary(chosen))


def _plan_devices(model: Path, devices: str | None, tpus: str | None, device: str,
                  objective: str, batch: int, compare_all: bool, as_json: bool,
                  output: Path | None) -> None:
    """``plan --devices`` (or ``--tpus N --objective latency|energy``): the exact planner for
    device sets; with ``--compare``, next to the "every device as the slowest" baseline and,
    for latency or energy, the per-layer placement."""
    if devices is not None:
        kinds = parse_devices(devices)
    else:
        n = _parse_tpus(str(tpus), str(model))
        if n is None or n < 1:
            raise TpusplitError(f"{model}: --objective {objective} needs --tpus N (a number) "
                                f"or --devices")
        kinds = parse_devices(f"{device.removeprefix('edgetpu-') if device != 'cpu' else 'cpu'}"
                              f":{n}")
    if output is not None and output.is_dir():
        raise TpusplitError(f"{output}: is a directory; give a file name like plan.json")
    graph = load(model)
    console = make_console()
    with console.status(f"costing every segment of {graph.name} on {describe(kinds)}"):
        costs = [kind_cost(k, graph) for k in kinds]
        chosen = plan_devices(graph, kinds, objective, batch, costs)
        others = [plan_as_slowest(graph, kinds, batch, costs)] if compare_all else []
        layers = (place_layers(graph, kinds, objective, costs)
                  if compare_all and objective != "throughput" else None)
    if output is not None:
        chosen.save(output)
    if as_json:
        out = {**chosen.as_dict(), "objective": objective}
        if compare_all:
            out["compare"] = [p.as_dict() for p in others]
            if layers is not None:
                out["per_layer_placement"] = {"runs": [list(r) for r in layers.runs],
                                              "cost": layers.cost, "unit": layers.unit}
        print(json.dumps(out, indent=1))
        return
    console.print(plan_table(chosen))
    console.print(plan_summary(chosen))
    for other in others:
        console.print(f"{other.strategy}: bottleneck {other.bottleneck_ms:.3f} ms, time per "
                      f"inference {other.time_per_inference_ms:.3f} ms, energy "
                      f"{other.energy_mj or 0:.2f} mJ ({other.notes[0]})")
    if layers is not None:
        runs = ", ".join(f"{a}..{b - 1} {label}" for a, b, label in layers.runs)
        console.print(f"per-layer placement (one input at a time): {layers.cost:.3f} "
                      f"{layers.unit}; runs {runs}")


def _plan_cluster(model: Path, cluster_file: Path, objective: str, batch: int, as_json: bool,
                  output: Path | None) -> None:
    """``plan --cluster FILE``: the exact plan across the hosts of a cluster description."""
    from tpusplit.devices.cluster_spec import load_cluster
    from tpusplit.strategies.cluster import plan_cluster

    spec = load_cluster(cluster_file)
    if output is not None and output.is_dir():
        raise TpusplitError(f"{output}: is a directory; give a file name like plan.json")
    graph = load(model)
    console = make_console()
    with console.status(f"costing every segment of {graph.name} on {len(spec.hosts)} host(s)"):
        chosen = plan_cluster(graph, spec, objective, batch)
    if output is not None:
        chosen.save(output)
    if as_json:
        print(json.dumps({**chosen.as_dict(), "objective": objective}, indent=1))
        return
    console.print(plan_table(chosen))
    console.print(plan_summary(chosen))
