"""``tpusplit run``: run a model's segments as a pipeline, measure it, check it."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tpusplit.api import execute, prepare
from tpusplit.cli.app import app
from tpusplit.cli.common import parse_cuts, warn
from tpusplit.errors import TpusplitError
from tpusplit.report.console import console
from tpusplit.report.progress import counting
from tpusplit.report.run import check_line, run_dict, stage_table, summary_table
from tpusplit.report.texts import DEVICE_HELP


@app.command("run")
def run_command(
    paths: list[Path] = typer.Argument(..., help="A model (with --plan or --cuts), or its "
                                       "segment files in pipeline order."),
    plan: Path = typer.Option(None, "--plan", help="A plan JSON (tpusplit plan --json)."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin."),
    device: str = typer.Option("cpu", "--device", help=DEVICE_HELP),
    threads: int = typer.Option(1, "--threads", min=1, help="LiteRT threads per stage."),
    inputs: Path = typer.Option(None, "--inputs", help="An .npy/.npz file or a directory of "
                                "them (one input or a batch per file)."),
    random: int = typer.Option(None, "--random", min=1, help="Run N random inputs "
                               "(default 100 without --inputs)."),
    check: bool = typer.Option(False, "--check", help="Compare every output with the whole "
                               "model (exit status 1 when one differs)."),
    reference: Path = typer.Option(None, "--reference", help="The whole model for --check "
                                   "when segment files are given."),
    pin: bool = typer.Option(False, "--pin", help="Pin stage i's thread to core i mod #cores."),
    queue_size: int = typer.Option(4, "--queue-size", min=1, help="Capacity of each queue."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the random inputs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead."),
    tpu_map: str = typer.Option(None, "--tpu-map", help="Which Edge TPU runs which segment, "
                                "e.g. 0:usb:0,1:pci:0 (names from `tpusplit devices`); "
                                "default: segment i on the i-th TPU found."),
    coral: bool = typer.Option(None, "--coral/--no-coral", help="Cut segments so libcoral's "
                               "PipelinedModelRunner takes them too (tensors needed later "
                               "pass through each segment; default on for Edge TPUs)."),
    simulate_tpu: bool = typer.Option(False, "--simulate-tpu", help="With a plan for a mix of "
                                      "devices (plan --devices): run the Edge TPU stages on "
                                      "the CPU, paced at their predicted latency."),
    cluster: str = typer.Option(None, "--cluster", help="Run each stage as a Ray actor on a "
                                "Ray cluster: auto (the cluster this host is in, or "
                                "RAY_ADDRESS), ray://HOST:PORT (Ray Client) or HOST:PORT "
                                "(needs pip install 'tpusplit[cluster]')."),
    cluster_spec: Path = typer.Option(None, "--cluster-spec", help="With --cluster: the "
                                      "cluster description (tpusplit cluster probe, or by "
                                      "hand) saying how Ray finds each host."),
    rebalance: bool = typer.Option(False, "--rebalance", help="Let the runner move a replica "
                                   "from a stage that can spare it to the slowest stage when "
                                   "the measured stage times call for it (a plan with "
                                   "replicas; the report lists the moves)."),
    hosts: str = typer.Option(None, "--hosts", help="With --cluster: the host of each "
                              "segment, e.g. pi-a,pi-b (hosts of --cluster-spec, else Ray "
                              "custom resource names); default: the hosts of a plan from "
                              "plan --cluster, else anywhere."),
) -> None:
    """Run segments as a pipeline (one worker per segment): throughput, latency, utilisation."""
    if inputs is not None and random is not None:
        raise TpusplitError("give --inputs or --random, not both")
    prep = prepare(paths, plan, parse_cuts(cuts, str(paths[0])) if cuts is not None else None,
                   device=device, threads=threads, coral=coral, tpu_map=tpu_map,
                   simulate_tpu=simulate_tpu, reference=reference, cluster=cluster,
                   cluster_spec=cluster_spec, hosts=hosts, warn=warn)
    result = execute(prep, inputs, random, check=check, seed=seed, threads=threads,
                     queue_size=queue_size, pin=pin, cluster=cluster, rebalance=rebalance,
                     progress=lambda count: counting("run", count, hidden=as_json))
    if as_json:
        print(json.dumps(run_dict(result.measurement, result.check, **result.context),
                         indent=1))
    else:
        out = console()
        out.print(summary_table(result.measurement, title=result.title))
        out.print(stage_table(result.measurement))
        for move in result.measurement.moves:
            out.print(f"rebalanced: {move}")
        if result.check is not None:
            out.print(check_line(result.check))
    if result.check is not None and not result.check.ok:
        raise typer.Exit(1)
