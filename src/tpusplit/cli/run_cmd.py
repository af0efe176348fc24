"""``tpusplit run``: run a model's segments as a pipeline, measure it, check it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from tpusplit.cli.app import app
from tpusplit.cli.common import parse_cuts
from tpusplit.devices.catalogue import device_help, resolve
from tpusplit.devices.kinds import parse_devices
from tpusplit.errors import TpusplitError
from tpusplit.graph import bounds, check_cuts, load
from tpusplit.graph.coral import chain_violations, split_coral
from tpusplit.pipeline import check_outputs, load_stages, make_backend, measure_pipeline
from tpusplit.pipeline.assemble import io_names, reference_stage, spread_cores, whole_model
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.inputs import random_feeds, read_inputs, read_segments, stage_specs
from tpusplit.pipeline.measure import PipelineMeasurement, whole_model_ms
from tpusplit.pipeline.paced import PacedBackend
from tpusplit.pipeline.registry import BackendSpec, build_backend
from tpusplit.pipeline.runner import StageError, wire
from tpusplit.report.console import console as make_console
from tpusplit.report.progress import counting
from tpusplit.report.run import check_line, run_dict, stage_table, summary_table
from tpusplit.strategies import Plan


@app.command("run")
def run_command(
    paths: list[Path] = typer.Argument(..., help="A model (with --plan or --cuts), or its "
                                       "segment files in pipeline order."),
    plan: Path = typer.Option(None, "--plan", help="A plan JSON (tpusplit plan --json)."),
    cuts: str = typer.Option(None, "--cuts", help="Op indices where segments 2..N begin."),
    device: str = typer.Option("cpu", "--device", help=device_help()),
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
    hosts: str = typer.Option(None, "--hosts", help="With --cluster: the host of each "
                              "segment, e.g. pi-a,pi-b (hosts of --cluster-spec, else Ray "
                              "custom resource names); default: the hosts of a plan from "
                              "plan --cluster, else anywhere."),
) -> None:
    """Run segments as a pipeline (one worker per segment): throughput, latency, utilisation."""
    if inputs is not None and random is not None:
        raise TpusplitError("give --inputs or --random, not both")
    if plan is not None and cuts is not None:
        raise TpusplitError("give --plan or --cuts, not both")
    if cluster is None and (cluster_spec is not None or hosts is not None):
        raise TpusplitError(f"{'--cluster-spec' if cluster_spec is not None else '--hosts'} "
                            "goes with --cluster ADDRESS")
    if cluster is not None and pin:
        raise TpusplitError("--pin pins the threaded runner's stages to this host's cores; "
                            "with --cluster each stage is a Ray actor on its host")
    if cluster is not None:
        from tpusplit.cli.cluster_run import run_on_cluster

        run_on_cluster(paths, plan=plan, cuts=cuts, device=device, threads=threads,
                       inputs=inputs, random=random, check=check, reference=reference,
                       queue_size=queue_size, seed=seed, as_json=as_json, tpu_map=tpu_map,
                       coral=coral, simulate_tpu=simulate_tpu, address=cluster,
                       spec=cluster_spec, hosts=hosts)
        return
    dev = resolve(device)
    if dev.backend == "edgetpu":  # uncompiled segments compile on the fly
        from tpusplit.pipeline import edgetpu_run

        backend = edgetpu_run.run_backend(tpu_map, threads, [str(p) for p in paths])
    elif tpu_map is not None:
        raise TpusplitError(f"--tpu-map is for Edge TPUs (--device edgetpu), not {dev.name}")
    else:
        backend = make_backend(dev.backend, num_threads=threads)
    carry = coral if coral is not None else dev.backend == "edgetpu"
    context: dict[str, Any] = {"device": dev.name}
    graph = None
    whole: bytes | None = None
    if plan is not None or cuts is not None:
        if len(paths) != 1:
            raise TpusplitError(f"{paths[1]}: with --plan/--cuts give exactly one model")
        graph = load(paths[0])
        mixed: list[Backend] | None = None
        if plan is not None:
            chosen = Plan.load(plan)
            chosen.check_graph(graph, str(plan))
            cut_list = list(chosen.cuts)
            specs = plan_backends(chosen, simulate_tpu, str(plan))
            if specs is not None:
                mixed = [build_backend(spec) for spec in specs]
                context["device"] = chosen.device
        else:
            cut_list = check_cuts(graph, parse_cuts(cuts, str(paths[0])))
        if dev.backend == "edgetpu":
            backend.sources = [f"segment {i} (ops [{a}, {b}))"
                               for i, (a, b) in enumerate(bounds(graph, cut_list))]
        stages = load_stages(graph, cut_list, mixed or backend,
                             split_coral(graph, cut_list) if carry else None)
        outputs: list[str] | None = io_names(graph)[1]
        whole = whole_model(graph)
        context.update(model=str(paths[0]), cuts=cut_list)
    else:
        stages = read_segments(paths, backend)
        outputs = None
        context.update(model=str(paths[0]) if len(paths) == 1 else None,
                       segment_files=[str(p) for p in paths])
        ref = reference or (paths[0] if len(paths) == 1 else None)
        if ref is not None:
            try:
                whole = ref.read_bytes()
            except OSError as exc:
                raise TpusplitError(f"{ref}: cannot read ({exc.strerror})") from None
    if simulate_tpu and (plan is None or context["device"] == dev.name):
        raise TpusplitError("--simulate-tpu needs --plan with a plan for a mix of devices "
                            "(tpusplit plan --devices)")
    context["segments"] = len(stages)
    if dev.backend == "edgetpu":
        backend.check_all_used(len(stages))
        context["tpus"] = list(backend.devices[:len(stages)])
    if carry:
        for problem in chain_violations([(s.input_names, s.output_names) for s in stages])[:1]:
            print(f"warning: libcoral's PipelinedModelRunner would refuse these segments: "
                  f"{problem}; split them from the model with --coral", file=sys.stderr)
    if check and whole is None:
        raise TpusplitError("--check with segment files needs --reference WHOLE_MODEL")
    names = wire(stages, outputs).inputs
    specs = stage_specs(stages, names)
    feeds = (read_inputs(inputs, specs) if inputs is not None
             else random_feeds(specs, random or 100, seed))
    source = str(reference or paths[0])
    checker = reference_stage(whole, specs, source) if check and whole is not None else None
    with counting("run", len(feeds), hidden=as_json) as update:
        try:
            m = measure_pipeline(stages, feeds, outputs=outputs, queue_size=queue_size,
                                 cores=spread_cores(len(stages)) if pin else None,
                                 keep_results=check, progress=update)
        except StageError as exc:
            if dev.backend != "edgetpu":
                raise
            from tpusplit.pipeline.edgetpu_run import stage_failure

            raise stage_failure(exc, backend) from None
    if dev.backend == "cpu" and whole is not None and threads == 1:
        m.baseline_ms = whole_model_ms(whole, feeds)
    report(m, feeds, checker, as_json, context,
           f"{context.get('model') or 'segments'} on {dev.name}: {len(stages)} stage(s)")


def report(m: PipelineMeasurement, feeds: list[dict[str, Any]], checker: Stage | None,
           as_json: bool, context: dict[str, Any], title: str) -> None:
    """Check the results against the whole model (``checker``), print the run (JSON or
    tables); exit status 1 when an output differs."""
    result = check_outputs(checker, feeds, m.results) if checker is not None else None
    if as_json:
        print(json.dumps(run_dict(m, result, **context), indent=1))
    else:
        out = make_console()
        out.print(summary_table(m, title=title))
        out.print(stage_table(m))
        if result is not None:
            out.print(check_line(result))
    if result is not None and not result.ok:
        raise typer.Exit(1)


def plan_backends(plan: Plan, simulate_tpu: bool, source: str, threads: int | None = None
                  ) -> list[BackendSpec] | None:
    """One backend per segment of a plan naming device kinds (``plan --devices`` or
    ``--cluster``; None for an ordinary plan): LiteRT with the stage's threads on CPU kinds;
    the Edge TPU delegate on TPU kinds (``threads`` CPU threads when given), or with
    ``simulate_tpu`` LiteRT paced at the plan's predicted latency. TPU and CPU backends are
    given by name, built where they run (:func:`~tpusplit.pipeline.registry.build_backend`)."""
    if not any(s.device for s in plan.segments):
        return None
    options = {} if threads is None else {"num_threads": threads}
    out: list[BackendSpec] = []
    for i, seg in enumerate(plan.segments):
        try:  # each segment names its kind (a cluster plan's device lists hosts too)
            kind = parse_devices(seg.device)[0]
        except TpusplitError:
            raise TpusplitError(f"{source}: segment {i} runs on {seg.device!r}, not a device "
                                f"kind (the plan's devices: {plan.device})") from None
        if kind.backend == "cpu":
            out.append(("cpu", {"num_threads": kind.threads}))
        elif simulate_tpu:
            out.append(PacedBackend([s.latency_ms for s in plan.segments], threads or 1))
        else:
            out.append(("edgetpu", options))
    return out
