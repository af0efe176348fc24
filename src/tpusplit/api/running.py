"""Running: the one path from a model and a plan (or segment files) to a measured pipeline.

:func:`prepare` turns what the user gave (a model with a plan or cuts, or segment files; a
device; Edge TPU, Ray and replica options) into a :class:`Prepared` set of stages or segment
bytes; :func:`execute` runs inputs through it (threads on this host, or Ray actors across a
cluster), measures it and checks it against the whole model. ``tpusplit run``, ``run
--cluster``, the demo and :func:`tpusplit.run` all go through here; :func:`tpusplit.pipeline`
uses :func:`prepare` for a streaming pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.devices.catalogue import resolve
from tpusplit.devices.cluster_spec import Cluster, load_cluster
from tpusplit.devices.kinds import DeviceKind, parse_devices
from tpusplit.errors import TpusplitError, read_bytes
from tpusplit.graph import Graph, bounds, check_cuts, check_segment_set, split
from tpusplit.graph.coral import chain_violations, split_coral
from tpusplit.pipeline import check_outputs, make_backend, measure_pipeline
from tpusplit.pipeline.assemble import (
    CheckResult,
    SegmentLoader,
    io_names,
    loaded_replicas,
    reference_stage,
    spread_cores,
    whole_model,
)
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.inputs import random_feeds, read_inputs, read_segments, stage_specs
from tpusplit.pipeline.measure import PipelineMeasurement, whole_model_ms
from tpusplit.pipeline.paced import PacedBackend
from tpusplit.pipeline.rebalance import Rebalance
from tpusplit.pipeline.registry import BackendSpec, build_backend
from tpusplit.pipeline.runner import StageError, wire
from tpusplit.strategies import Plan

Feeds = Mapping[str, np.ndarray]
Warn = Callable[[str], None]
#: A progress display for ``count`` results: entered around a measured run, it gives the
#: callback told of each result (``report.progress.counting``).
Progress = Callable[[int], AbstractContextManager[Callable[[int], None] | None]]


def _progress(progress: Progress | None, count: int
              ) -> AbstractContextManager[Callable[[int], None] | None]:
    return progress(count) if progress is not None else nullcontext(None)


@dataclass
class Run:
    """A batch through a real pipeline: its measurement, the results in input order (when
    kept), the check against the whole model (None unless asked), and what was run."""

    measurement: PipelineMeasurement
    outputs: list[dict[str, np.ndarray]] = field(repr=False)
    check: CheckResult | None = None
    context: dict[str, Any] = field(default_factory=dict)
    title: str = ""


@dataclass
class Prepared:
    """What to run: stages (threads) or segment bytes with backend specs (Ray)."""

    stages: list[list[Stage]]
    segments: list[bytes]
    outputs: list[str] | None
    whole: bytes | None
    context: dict[str, Any]
    backend: Backend | None
    specs: list[BackendSpec] | None = None
    hosts: list[str] = field(default_factory=list)
    source: str = ""
    #: The backend of the ``device`` asked for: ``cpu``, ``edgetpu`` or ``null``.
    kind: str = "cpu"
    cluster_spec: Cluster | None = None
    #: Loads a prepared segment on a device again and knows each replica's device (threads,
    #: a model cut here): what a rebalancing runner needs to move a replica.
    loader: SegmentLoader | None = None


def _kind_of(plan: Plan, i: int, source: str) -> DeviceKind:
    """The device kind segment ``i`` of a mixed plan runs on: from the plan's target, else
    (plans written before targets) from the segment's device label."""
    label = plan.segments[i].device
    if plan.target is not None:
        for k in plan.target.kinds:
            if k.label == label:
                return k
        if plan.target.cluster is not None:
            for h in plan.target.cluster.hosts:
                for k in h.kinds:
                    if k.label == label:
                        return k
    try:
        return parse_devices(label)[0]
    except TpusplitError:
        raise TpusplitError(f"{source}: segment {i} runs on {label!r}, not a device kind "
                            f"(the plan's devices: {plan.device})") from None


def plan_backends(plan: Plan, simulate_tpu: bool, source: str, threads: int | None = None
                  ) -> list[BackendSpec] | None:
    """One backend per segment of a plan naming device kinds (``plan --devices`` or
    ``--cluster``; None for an ordinary plan): LiteRT with the stage's threads on CPU kinds;
    the Edge TPU delegate on TPU kinds (``threads`` CPU threads when given), or with
    ``simulate_tpu`` LiteRT paced at the plan's predicted latency."""
    if not any(s.device for s in plan.segments):
        return None
    options = {} if threads is None else {"num_threads": threads}
    out: list[BackendSpec] = []
    for i in range(len(plan.segments)):
        kind = _kind_of(plan, i, source)
        if kind.backend == "cpu":
            out.append(("cpu", {"num_threads": kind.threads}))
        elif simulate_tpu:
            out.append(PacedBackend(plan.segments[i].latency_ms, threads or 1))
        else:
            out.append(("edgetpu", options))
    return out


def _mixed_backends(specs: list[BackendSpec]) -> list[Backend]:
    """The backends of a mixed plan's segments; without libedgetpu, the hint is
    ``--simulate-tpu`` (``--device cpu`` is what the mixed plan already runs its CPU stages
    on)."""
    try:
        return [build_backend(s) for s in specs]
    except TpusplitError as exc:
        text = str(exc)
        if "libedgetpu" not in text:
            raise
        raise TpusplitError(text.split(" (or run on CPU")[0] + "; or run this plan's Edge TPU "
                            "stages on the CPU, paced at their predicted latency, with "
                            "--simulate-tpu") from None


def _plan_of(plan: Plan | Path | str | None) -> tuple[Plan | None, str]:
    if plan is None:
        return None, ""
    if isinstance(plan, Plan):
        return plan, f"plan of {plan.model}"
    return Plan.load(plan), str(plan)


def prepare(paths: Sequence[Path | str], plan: Plan | Path | str | None = None,
            cuts: Sequence[int] | None = None, *, device: str = "cpu", threads: int = 1,
            coral: bool | None = None, tpu_map: str | None = None, simulate_tpu: bool = False,
            reference: Path | None = None, cluster: str | None = None,
            cluster_spec: Path | Cluster | None = None, hosts: str | None = None,
            warn: Warn | None = None, graph: Graph | None = None) -> Prepared:
    """Stages (or, with ``cluster``, segment bytes) for a model cut by ``plan`` or ``cuts``,
    or for ready segment files (module docstring). A plan's replica counts are honoured:
    segment ``i`` is loaded on ``replicas[i]`` devices."""
    if plan is not None and cuts is not None:
        raise TpusplitError("give --plan or --cuts, not both")
    if cluster is None and (cluster_spec is not None or hosts is not None):
        raise TpusplitError(f"{'--cluster-spec' if cluster_spec is not None else '--hosts'} "
                            "goes with --cluster ADDRESS")
    if cluster is not None and tpu_map is not None:
        raise TpusplitError("--tpu-map is for one host; with --cluster each host's stages use "
                            "its Edge TPUs in order")
    dev = resolve(device)
    if tpu_map is not None and dev.backend != "edgetpu":
        raise TpusplitError(f"--tpu-map is for Edge TPUs (--device edgetpu), not {dev.name}")
    backend: Backend | None = None
    if cluster is None:
        if dev.backend == "edgetpu":  # uncompiled segments compile on the fly
            from tpusplit.pipeline import edgetpu_run

            backend = edgetpu_run.run_backend(tpu_map, threads, [str(p) for p in paths])
        else:
            backend = make_backend(dev.backend, num_threads=threads)
    carry = coral if coral is not None else dev.backend == "edgetpu"
    chosen, plan_source = _plan_of(plan)
    ctx: dict[str, Any] = {"device": dev.name}
    if cluster is not None:
        ctx["cluster"] = cluster
    specs: list[BackendSpec] | None = None
    names: list[str] = []
    whole: bytes | None = None
    outputs: list[str] | None = None
    replicas: list[int] | None = None
    if chosen is not None or cuts is not None or graph is not None:
        if graph is None:
            if len(paths) != 1:
                raise TpusplitError(f"{paths[1]}: with --plan/--cuts give exactly one model")
            from tpusplit.graph import load

            graph = load(paths[0])
        original = graph
        if chosen is not None:
            graph = chosen.for_model(graph, plan_source)  # a plan may cut inside layers
            cut_list = list(chosen.cuts)
            specs = plan_backends(chosen, simulate_tpu, plan_source,
                                  threads if cluster is not None else None)
            if specs is not None:
                ctx["device"] = chosen.device
            if chosen.replicas:
                replicas = list(chosen.replicas)
                ctx["replicas"] = replicas
            if all(s.host for s in chosen.segments):
                names = [s.host for s in chosen.segments]
        else:
            cut_list = check_cuts(graph, list(cuts or []))
        segments = split_coral(graph, cut_list) if carry else split(graph, cut_list)
        outputs = io_names(graph)[1]
        whole = whole_model(original)  # --check compares with the model as given
        ctx.update(model=str(paths[0]) if paths else graph.name, cuts=cut_list)
    else:
        check_segment_set(paths)
        segments = [read_bytes(p, "TFLite segment") for p in paths]
        ctx.update(model=str(paths[0]) if len(paths) == 1 else None,
                   segment_files=[str(p) for p in paths])
        ref = reference or (Path(paths[0]) if len(paths) == 1 else None)
        if ref is not None:
            whole = read_bytes(ref, "TFLite model")
    if simulate_tpu and specs is None:
        raise TpusplitError("--simulate-tpu needs --plan with a plan for a mix of devices "
                            "(tpusplit plan --devices or --cluster)")
    if hosts is not None:
        names = [h.strip() for h in hosts.split(",") if h.strip()]
        if len(names) != len(segments):
            raise TpusplitError(f"--hosts names {len(names)} host(s) for {len(segments)} "
                                "segment(s): give one per segment")
    stages: list[list[Stage]] = []
    loader: SegmentLoader | None = None
    if cluster is None:
        if chosen is None and cuts is None and graph is None:
            stages = [[s] for s in read_segments([Path(p) for p in paths],
                                                 backend or make_backend("cpu"))]
        else:
            assert graph is not None
            if dev.backend == "edgetpu" and backend is not None:
                backend.sources = [f"segment {i} (ops [{a}, {b}))"  # type: ignore[attr-defined]
                                   for i, (a, b) in enumerate(bounds(graph, cut_list))]
            per: Backend | list[Backend] | None = (_mixed_backends(specs)
                                                   if specs is not None else backend)
            stages, loader = loaded_replicas(graph, cut_list, replicas, per, segments)
        if dev.backend == "edgetpu" and backend is not None:
            backend.check_all_used(sum(len(g) for g in stages))  # type: ignore[attr-defined]
            ctx["tpus"] = list(backend.devices[:sum(len(g) for g in stages)])  # type: ignore[attr-defined]
        if carry and warn is not None:
            for problem in chain_violations([(g[0].input_names, g[0].output_names)
                                             for g in stages])[:1]:
                warn(f"libcoral's PipelinedModelRunner would refuse these segments: "
                     f"{problem}; split them from the model with --coral")
    ctx["segments"] = len(segments)
    if cluster is not None:
        ctx["hosts"] = names or None
    spec_obj = (cluster_spec if isinstance(cluster_spec, Cluster) or cluster_spec is None
                else load_cluster(cluster_spec))
    source = str(reference or (paths[0] if paths else graph.name if graph else ""))
    return Prepared(stages, segments, outputs, whole, ctx, backend, specs, names, source,
                    dev.backend, spec_obj, loader)


def execute(prep: Prepared, inputs: Path | Sequence[Feeds] | None = None,
            random: int | None = None, *, check: bool = False, seed: int = 0,
            threads: int = 1, queue_size: int = 4, pin: bool = False,
            cluster: str | None = None, keep_results: bool = False,
            progress: Progress | None = None, rebalance: bool = False) -> Run:
    """Run inputs (a file or folder of ``.npy``/``.npz``, the inputs themselves, or
    ``random`` random ones: 100 by default) through ``prep``, measure, and with ``check``
    compare every output with the whole model. ``progress(count)``, when given, is entered
    around the measured run and gives the callback told of each result. ``rebalance``: the
    threaded runner may move a replica from a stage that spares it to the slowest stage
    when the measured times call for it (:class:`~tpusplit.pipeline.rebalance.Rebalance`);
    the run's measurement lists the moves."""
    if check and prep.whole is None:
        raise TpusplitError("--check with segment files needs --reference WHOLE_MODEL")
    if cluster is not None:
        if rebalance:
            raise TpusplitError("--rebalance moves replicas between this host's threads; with "
                                "--cluster each replica is a Ray actor placed by the plan")
        if pin:
            raise TpusplitError("--pin pins the threaded runner's stages to this host's "
                                "cores; with --cluster each stage is a Ray actor on its host")
        return _execute_ray(prep, inputs, random, check=check, seed=seed, threads=threads,
                            queue_size=queue_size, address=cluster,
                            keep_results=keep_results, progress=progress)
    heads = [g[0] for g in prep.stages]
    names = wire(heads, prep.outputs).inputs
    specs = stage_specs(heads, names)
    feeds = _feeds(inputs, random, specs, seed)
    if prep.context.get("segment_files") and prep.whole is not None and feeds:
        _same_model(prep, heads, specs, feeds[0])
    checker = (reference_stage(prep.whole, specs, prep.source)
               if check and prep.whole is not None else None)
    try:
        with _progress(progress, len(feeds)) as update:
            m = measure_pipeline(prep.stages, feeds, outputs=prep.outputs,
                                 rebalance=_rebalance(prep) if rebalance else None,
                                 queue_size=queue_size,
                                 cores=spread_cores(len(prep.stages)) if pin else None,
                                 keep_results=check or keep_results, progress=update)
    except StageError as exc:
        if prep.backend is None or prep.kind != "edgetpu":
            raise
        from tpusplit.pipeline.edgetpu_run import stage_failure

        raise stage_failure(exc, prep.backend) from None  # type: ignore[arg-type]
    return _finish(prep, m, feeds, checker, threads,
                   f"{prep.context.get('model') or 'segments'} on {prep.context['device']}: "
                   f"{len(prep.stages)} stage(s)")


def _same_model(prep: Prepared, heads: list[Stage], specs: Mapping[str, Any],
                feed: Mapping[str, np.ndarray]) -> None:
    """Refuse, before measuring, a reference model (``--reference``, or the one file given)
    whose outputs differ from the segments' on the same input: its baseline and check would
    be about another model."""
    from tpusplit.pipeline.sequential import run_sequential

    want = reference_stage(prep.whole, specs, prep.source).run(feed)  # type: ignore[arg-type]
    got = run_sequential(heads, feed)
    missing = [n for n in want if n not in got]
    differ = [n for n in want if n in got and not np.array_equal(want[n], got[n])]
    if missing or differ:
        what = (f"outputs {', '.join(missing)} that the segments do not produce" if missing
                else f"other values of {', '.join(differ)} on the same input")
        raise TpusplitError(f"{prep.source}: gives {what}: not the model these segments "
                            "were split from (its check and baseline would be about another "
                            "model)")


def _feeds(inputs: Path | Sequence[Feeds] | None, random: int | None,
           specs: Mapping[str, Any], seed: int) -> list[dict[str, np.ndarray]]:
    if inputs is not None and random is not None:
        raise TpusplitError("give --inputs or --random, not both")
    if isinstance(inputs, str | Path):
        return read_inputs(Path(inputs), specs)
    if inputs is not None:
        return [dict(f) for f in inputs]
    return random_feeds(specs, random or 100, seed)


def _rebalance(prep: Prepared) -> Rebalance:
    """What the threaded runner needs to move replicas (a model cut by a plan or cuts)."""
    if prep.loader is None:
        raise TpusplitError("--rebalance moves replicas of a model's segments: give the model "
                            "with --plan (with replicas) or --cuts, not segment files")
    if sum(len(g) for g in prep.stages) <= len(prep.stages):
        raise TpusplitError("--rebalance moves a replica between stages: the plan has no stage "
                            "with more than one (plan --tpus N gives replicas)")
    return Rebalance(prep.loader, prep.loader.devices)


def _finish(prep: Prepared, m: PipelineMeasurement, feeds: list[dict[str, np.ndarray]],
            checker: Stage | None, threads: int, title: str) -> Run:
    if prep.kind == "cpu" and prep.whole is not None and threads == 1:
        m.baseline_ms = whole_model_ms(prep.whole, feeds)
    result = check_outputs(checker, feeds, m.results) if checker is not None else None
    outputs, m.results = m.results, []
    return Run(m, outputs, result, dict(prep.context), title)


def _execute_ray(prep: Prepared, inputs: Path | Sequence[Feeds] | None, random: int | None,
                 *, check: bool, seed: int, threads: int, queue_size: int, address: str,
                 keep_results: bool, progress: Progress | None) -> Run:
    """Each stage a Ray actor on its host (:mod:`tpusplit.pipeline.ray_runner`)."""
    from tpusplit.pipeline.measure import measure_runner
    from tpusplit.pipeline.ray_runner import (
        ActorPlacement,
        RayPipeline,
        connect,
        disconnect,
        import_ray,
    )

    import_ray()  # a one-line error at once when Ray is missing
    spec = prep.cluster_spec
    names = prep.hosts
    places = None
    if names:
        if spec is not None:
            places = []
            for name in names:
                h = spec.host(name)
                places.append(ActorPlacement(node_id=h.node_id, resources=h.ray_resources,
                                             label=name))
        else:
            places = [ActorPlacement(resources={n: 0.001}, label=n) for n in names]
    backends = prep.specs or [(prep.kind, {"num_threads": threads})] * len(prep.segments)
    replicas = prep.context.get("replicas")
    connected = connect(address)
    try:
        with RayPipeline(prep.segments, backends, places, prep.outputs,
                         max_in_flight=queue_size * len(prep.segments), stage_cpus=threads,
                         replicas=replicas) as pipe:
            specs = {n: pipe.input_specs[n] for n in pipe.input_names}
            feeds = _feeds(inputs, random, specs, seed)
            checker = (reference_stage(prep.whole, specs, prep.source)
                       if check and prep.whole else None)
            prep.context["nodes"] = pipe.nodes
            pipe.warmup(feeds[0])
            with _progress(progress, len(feeds)) as update:
                m = measure_runner(pipe, feeds, keep_results=check or keep_results,
                                   progress=update)
    finally:
        if connected:
            disconnect()
    where = ",".join(names) if names else "Ray"
    return _finish(prep, m, feeds, checker, threads,
                   f"{prep.context.get('model') or 'segments'} on {where} ({address}): "
                   f"{len(prep.segments)} stage(s)")
