"""``tpusplit run --cluster``: the same run with each stage a Ray actor on a cluster's hosts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tpusplit.cli.common import parse_cuts
from tpusplit.cli.run_cmd import plan_backends, report
from tpusplit.devices.catalogue import resolve
from tpusplit.devices.cluster_spec import Cluster, load_cluster
from tpusplit.errors import TpusplitError, read_bytes
from tpusplit.graph import check_cuts, load, split
from tpusplit.graph.coral import split_coral
from tpusplit.pipeline.assemble import io_names, reference_stage, whole_model
from tpusplit.pipeline.inputs import random_feeds, read_inputs
from tpusplit.pipeline.measure import measure_runner, whole_model_ms
from tpusplit.pipeline.ray_runner import (
    ActorPlacement,
    RayPipeline,
    connect,
    disconnect,
    import_ray,
)
from tpusplit.pipeline.registry import BackendSpec
from tpusplit.report.progress import counting
from tpusplit.strategies import Plan


def placements(names: list[str], spec: Cluster | None) -> list[ActorPlacement]:
    """Where each stage goes: a host of the description (its node id or resources), else a
    Ray custom resource of that name."""
    if spec is not None:
        out = []
        for name in names:
            h = spec.host(name)
            out.append(ActorPlacement(node_id=h.node_id, resources=h.ray_resources, label=name))
        return out
    return [ActorPlacement(resources={n: 0.001}, label=n) for n in names]


def run_on_cluster(paths: list[Path], *, plan: Path | None, cuts: str | None, device: str,
                   threads: int, inputs: Path | None, random: int | None, check: bool,
                   reference: Path | None, queue_size: int, seed: int, as_json: bool,
                   tpu_map: str | None, coral: bool | None, simulate_tpu: bool, address: str,
                   spec: Path | None, hosts: str | None) -> None:
    """``tpusplit run ... --cluster ADDRESS``: segments as Ray actors (see
    :mod:`tpusplit.pipeline.ray_runner`), measured, checked and reported as ``run`` does."""
    import_ray()  # a one-line error at once when Ray is missing
    if tpu_map is not None:
        raise TpusplitError("--tpu-map is for one host; with --cluster each host's stages use "
                            "its Edge TPUs in order")
    dev = resolve(device)
    carry = coral if coral is not None else dev.backend == "edgetpu"
    cluster = load_cluster(spec) if spec is not None else None
    context: dict[str, Any] = {"device": dev.name, "cluster": address}
    backends: list[BackendSpec] | None = None
    names: list[str] = []
    whole: bytes | None = None
    outputs: list[str] | None = None
    if plan is not None or cuts is not None:
        if len(paths) != 1:
            raise TpusplitError(f"{paths[1]}: with --plan/--cuts give exactly one model")
        graph = load(paths[0])
        if plan is not None:
            chosen = Plan.load(plan)
            chosen.check_graph(graph, str(plan))
            cut_list = list(chosen.cuts)
            backends = plan_backends(chosen, simulate_tpu, str(plan), threads)
            if backends is not None:
                context["device"] = chosen.device
            names = [s.host for s in chosen.segments] if all(s.host for s in
                                                             chosen.segments) else []
        else:
            cut_list = check_cuts(graph, parse_cuts(cuts or "", str(paths[0])))
        segments = split_coral(graph, cut_list) if carry else split(graph, cut_list)
        outputs = io_names(graph)[1]
        whole = whole_model(graph)
        context.update(model=str(paths[0]), cuts=cut_list)
    else:
        segments = [read_bytes(p, "TFLite segment") for p in paths]
        context.update(model=str(paths[0]) if len(paths) == 1 else None,
                       segment_files=[str(p) for p in paths])
        ref = reference or (paths[0] if len(paths) == 1 else None)
        if ref is not None:
            whole = read_bytes(ref, "TFLite model")
    if simulate_tpu and backends is None:
        raise TpusplitError("--simulate-tpu needs --plan with a plan for a mix of devices "
                            "(tpusplit plan --devices or --cluster)")
    if hosts is not None:
        names = [h.strip() for h in hosts.split(",") if h.strip()]
        if len(names) != len(segments):
            raise TpusplitError(f"--hosts names {len(names)} host(s) for {len(segments)} "
                                "segment(s): give one per segment")
    if check and whole is None:
        raise TpusplitError("--check with segment files needs --reference WHOLE_MODEL")
    places = placements(names, cluster) if names else None
    if backends is None:
        backends = [(dev.backend, {"num_threads": threads})] * len(segments)
    context.update(segments=len(segments), hosts=names or None)
    connected = connect(address)
    try:
        with RayPipeline(segments, backends, places, outputs,
                         max_in_flight=queue_size * len(segments), stage_cpus=threads) as pipe:
            specs = {n: pipe.input_specs[n] for n in pipe.input_names}
            feeds = (read_inputs(inputs, specs) if inputs is not None
                     else random_feeds(specs, random or 100, seed))
            source = str(reference or paths[0])
            checker = reference_stage(whole, specs, source) if check and whole else None
            context["nodes"] = pipe.nodes
            pipe.warmup(feeds[0])
            with counting("run", len(feeds), hidden=as_json) as update:
                m = measure_runner(pipe, feeds, keep_results=check, progress=update)
    finally:
        if connected:
            disconnect()
    if dev.backend == "cpu" and whole is not None and threads == 1:
        m.baseline_ms = whole_model_ms(whole, feeds)
    where = ",".join(names) if names else "Ray"
    report(m, feeds, checker, as_json, context,
           f"{context.get('model') or 'segments'} on {where} ({address}): "
           f"{len(segments)} stage(s)")
