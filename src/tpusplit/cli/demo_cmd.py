"""``tpusplit demo``: the end-to-end tour on a built-in model."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from tpusplit.cli.app import app
from tpusplit.cli.common import CLOCK_HELP, RUNNER_HELP
from tpusplit.costs.base import CostSource
from tpusplit.devices.catalogue import REGISTRY, resolve
from tpusplit.devices.kinds import DeviceKind, describe, parse_devices
from tpusplit.errors import TpusplitError
from tpusplit.files import write_files
from tpusplit.graph import Graph, load, segments, split_files
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import LiteRTBackend, run_and_check
from tpusplit.profiling.sources import kind_cost, make_cost
from tpusplit.report.console import console as make_console
from tpusplit.report.format import op_range
from tpusplit.report.graph import graph_summary
from tpusplit.report.plan import compare_table, plan_summary, plan_table
from tpusplit.report.run import check_line, stage_table, summary_table
from tpusplit.strategies import compare
from tpusplit.strategies.base import DEFAULT_BATCH, Plan
from tpusplit.strategies.heterogeneous import plan_as_slowest, plan_devices
from tpusplit.units import MiB

EDGETPUS = [name for name, d in REGISTRY.items() if d.backend == "edgetpu"]


@app.command()
def demo(
    filters: int = typer.Option(682, "--filters", min=1, help="F of the conv family model."),
    tpus: int = typer.Option(4, "--tpus", min=1, help="Simulated Edge TPUs to plan for (at "
                             "most the model's 6 ops)."),
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
    kinds = parse_devices(devices) if devices is not None else None
    if kinds is None and resolve(device).backend != "edgetpu":
        raise TpusplitError(f"--device {device}: the demo simulates Edge TPUs; choose one of "
                            f"{', '.join(EDGETPUS)} or a device-profile .json file")
    out = make_console()
    name = f"conv_F{filters}"
    data = conv(filters)
    graph = load(data, name=name)
    if kinds is None and tpus > len(graph.ops):
        raise TpusplitError(f"--tpus {tpus}: the demo model has {len(graph.ops)} ops, so at "
                            f"most {len(graph.ops)} segments")
    out.rule(f"1. build: the conv family at F={filters} (5 x Conv2D 3x3, 64x64 input)")
    out.print(graph_summary(graph))
    best = (_plan_tpus(out, graph, tpus, make_cost(graph, device, runner, clock=clock))
            if kinds is None else _plan_mix(out, graph, kinds))

    cuts = list(best.cuts)
    out.rule(f"3. split at {cuts}")
    files = split_files(graph, cuts, output or Path("."))
    for seg, path in zip(segments(graph, cuts), files, strict=True):
        out.print(f"{path.name}: ops {op_range(seg.start, seg.end)}, "
                  f"{graph.segment_param_bytes(seg.start, seg.end) / MiB:.2f} MiB parameters")
    if output is not None:
        write_files({output / f"{name}.tflite": data, **files})
        out.print(f"wrote {name}.tflite and {len(files)} segments to {output}")
    else:
        out.print("(not written; -o DIR keeps the model and its segments)")

    out.rule(f"4. run: {len(files)}-stage pipeline on LiteRT (CPU), {random} random inputs")
    measurement, check = run_and_check(graph, cuts, count=random, backend=LiteRTBackend(),
                                       baseline=True)
    out.print(summary_table(measurement, title="CPU pipeline (one thread per stage) against "
                            "the whole model on one thread"))
    out.print(stage_table(measurement))
    assert check is not None
    out.print(check_line(check))
    if not check.ok:
        raise typer.Exit(1)


def _plan_tpus(out: Console, graph: Graph, tpus: int, cost: CostSource) -> Plan:
    """Step 2 with ``--tpus``: every strategy on N identical simulated TPUs; the best plan."""
    out.rule(f"2. plan: every strategy, {tpus} x {cost.device} (performance model)")
    found = compare(graph, tpus, cost)
    if found.skipped:
        why = next(iter(found.skipped.values()))
        if "no latency predictor" in why:
            why = (f"no trained latency predictor for {cost.device} (see `tpusplit predictor "
                   "-h`)")
        print(f"note: {', '.join(found.skipped)} skipped: {why}", file=sys.stderr)
    out.print(compare_table(found.plans, found.single,
                            title=f"{graph.name} on {tpus} simulated TPUs"))
    best = min(found.plans, key=lambda p: (p.bottleneck_ms, p.strategy != "optimal"))
    comp = found.plan("compiler")
    vs_compiler = (f", {comp.time_per_inference_ms / best.time_per_inference_ms:.2f}x the "
                   "compiler split" if comp is not None else "")
    out.print(f"{best.strategy}: cuts {list(best.cuts)}, slowest stage "
              f"{best.bottleneck_ms:.1f} ms; a batch of {DEFAULT_BATCH} inputs in flight takes "
              f"{best.time_per_inference_ms:.1f} ms per inference ({best.throughput_ips:.1f} "
              f"inferences/s: the pipeline fills and drains), "
              f"{found.single.time_per_inference_ms / best.time_per_inference_ms:.2f}x one TPU"
              f"{vs_compiler}")
    out.print(f"{best.runner.describe()}; {best.expected_error}" if best.expected_error
              else best.runner.describe())
    return best


def _plan_mix(out: Console, graph: Graph, kinds: list[DeviceKind]) -> Plan:
    """Step 2 with ``--devices``: the exact heterogeneous plan, next to the plan that treats
    every device as the slowest."""
    out.rule(f"2. plan: exact heterogeneous pipeline on {describe(kinds)} (cost models)")
    costs = [kind_cost(k, graph) for k in kinds]
    best = plan_devices(graph, kinds, "throughput", DEFAULT_BATCH, costs)
    slowest = plan_as_slowest(graph, kinds, DEFAULT_BATCH, costs)
    out.print(plan_table(best))
    out.print(plan_summary(best))
    out.print(f"{slowest.strategy}: time per inference {slowest.time_per_inference_ms:.1f} ms "
              f"({slowest.notes[0]}); the heterogeneous plan is "
              f"{slowest.time_per_inference_ms / best.time_per_inference_ms:.2f}x faster")
    return best
