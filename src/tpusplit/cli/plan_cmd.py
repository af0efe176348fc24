"""``tpusplit plan``: choose the cuts of a model for N devices with a strategy, or compare them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from tpusplit.cli.app import app
from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.files import write_files
from tpusplit.graph import Graph, load
from tpusplit.report.console import console as make_console
from tpusplit.report.plan import compare_rows, compare_table, plan_summary, plan_table
from tpusplit.strategies import Plan, auto, get, names, plan
from tpusplit.strategies.base import DEFAULT_BATCH, rebatch

#: Devices with a cost source: the Edge TPU model's shipped profiles, and the CPU profiler.
DEVICES = ("edgetpu-usb3", "edgetpu-pcie", "edgetpu-usb2", "cpu")


def make_cost(graph: Graph, device: str) -> CostSource:
    """The cost source for ``device``: the Edge TPU model (a profile name or .json file) or,
    for ``cpu``, the profiler (every evaluation is a real LiteRT run)."""
    if device == "cpu":
        from tpusplit.costs.profiler import ProfilerCost

        return ProfilerCost(graph)
    if device.startswith("edgetpu") or device.endswith(".json"):
        from tpusplit.costs.edgetpu import EdgeTPUCost

        return EdgeTPUCost(graph, device)
    raise TpusplitError(f"unknown device {device!r}; use one of {', '.join(DEVICES)} or a "
                        "device profile .json file")


def _parse_tpus(text: str, source: str) -> int | None:
    if text == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise TpusplitError(f"{source}: --tpus must be a number of devices or 'auto', "
                            f"got {text!r}") from None
    return value


@app.command("plan")
def plan_command(
    model: Path = typer.Argument(..., help="An int8 .tflite model."),
    tpus: str = typer.Option(..., "--tpus", "-n", help="Number of devices (segments), or "
                             "'auto': the fewest reaching the best throughput within 5% (or "
                             "--target-ips)."),
    strategy: str = typer.Option("optimal", "--strategy", "-s",
                                 help=f"One of {', '.join(names(include_oracles=True))}."),
    device: str = typer.Option("edgetpu-usb3", "--device", help=f"{', '.join(DEVICES)}, or "
                               "a device profile .json."),
    batch: int = typer.Option(DEFAULT_BATCH, "--batch", min=1, help="Inputs in flight for "
                              "the time per inference."),
    compare: bool = typer.Option(False, "--compare", help="Run every strategy side by side."),
    max_tpus: int = typer.Option(8, "--max-tpus", min=1, help="Largest N tried by --tpus "
                                 "auto."),
    target_ips: float = typer.Option(None, "--target-ips", help="With --tpus auto: the "
                                     "fewest devices reaching this many inferences/s."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list with --compare)."),
    output: Path = typer.Option(None, "-o", "--output", help="Write the plan (of --strategy) "
                                "as JSON, for `tpusplit split --plan`."),
) -> None:
    """Choose where to cut MODEL for N devices; show segments, bottleneck and throughput."""
    graph = load(model)
    get(strategy)
    n = _parse_tpus(tpus, str(model))
    cost = make_cost(graph, device)
    console = make_console()
    if n is None:
        res = auto(graph, cost, strategy, max_tpus, target_ips)
        chosen = rebatch(res.plan, cost, batch)
        if not res.target_reached:
            print(f"warning: {model}: {res.reason}", file=sys.stderr)
        if as_json:
            print(json.dumps({**chosen.as_dict(), "auto": {
                "reason": res.reason, "target_reached": res.target_reached,
                "tried": [{"num_segments": p.num_segments,
                           "throughput_ips": rebatch(p, cost, batch).throughput_ips,
                           "cuts": list(p.cuts)} for p in res.tried]}}, indent=1))
        else:
            console.print(compare_table([rebatch(p, cost, batch) for p in res.tried],
                                        rebatch(res.tried[0], cost, batch),
                                        title=f"{graph.name}: {strategy}, N = 1..{max_tpus} "
                                        "(evaluations: new ones, the cache is shared)"))
            console.print(f"--tpus auto: N = {chosen.num_segments} ({res.reason})")
            console.print(plan_table(chosen))
            console.print(plan_summary(chosen))
        _write(output, chosen)
        return
    if compare:
        plans: list[Plan] = []
        for name in names():
            try:
                plans.append(rebatch(plan(graph, n, cost, name, fresh=True), cost, batch))
            except TpusplitError as exc:
                print(f"warning: {name} skipped: {exc}", file=sys.stderr)
        if not plans:
            raise TpusplitError(f"{model}: no strategy could plan {n} segments")
        single = rebatch(plan(graph, 1, cost, "compiler"), cost, batch)
        if as_json:
            print(json.dumps(compare_rows(plans, single), indent=1))
        else:
            console.print(compare_table(plans, single, title=f"{graph.name}: {n} x {device}, "
                                        f"batch {batch}"))
        chosen_list = [p for p in plans if p.strategy == strategy]
        if output is not None and not chosen_list:
            raise TpusplitError(f"{output}: strategy {strategy} did not produce a plan")
        _write(output, chosen_list[0] if chosen_list else None)
        return
    result = rebatch(plan(graph, n, cost, strategy, fresh=True), cost, batch)
    _write(output, result)
    if as_json:
        print(result.to_json())
        return
    console.print(plan_table(result))
    console.print(plan_summary(result))


def _write(output: Path | None, result: Plan | None) -> None:
    if output is None or result is None:
        return
    if output.is_dir():
        raise TpusplitError(f"{output}: is a directory; give a file name like plan.json")
    write_files({output: (result.to_json() + "\n").encode()})
