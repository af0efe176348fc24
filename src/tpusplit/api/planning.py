"""Planning: the one path from a model and a target to a plan (``tpusplit plan``, the demo,
``tpusplit.plan``).

:func:`make_plans` builds the cost source of the target (the Edge TPU model, the CPU
profiler, or :class:`~tpusplit.profiling.edgetpu.EdgeTPUProfiler` on the attached TPUs with
``cost="profile"``), runs the strategy (or every strategy, or ``--tpus auto``, or the exact
planners for a mix of devices or a cluster), applies the Coral runner rule and returns a
:class:`Planning`: the chosen plan, carrying its :class:`~tpusplit.devices.target.Target`,
and what the command shows beside it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.coral_runner import check_mode, check_plan, coral_note, for_coral
from tpusplit.costs.edgetpu import EdgeTPUCost, runner_of
from tpusplit.devices.kinds import DeviceKind, parse_devices
from tpusplit.devices.profiles import load_profile
from tpusplit.devices.target import Target, parse_target
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.profiling.edgetpu import MODEL_PROFILE, EdgeTPUProfiler, Rejection, make_profiler
from tpusplit.profiling.sources import kind_cost, make_cost
from tpusplit.report.progress import evaluating
from tpusplit.report.tpu_progress import profiling
from tpusplit.strategies import Comparison, Plan, auto, compare, get, names
from tpusplit.strategies import plan as plan_with
from tpusplit.strategies.base import DEFAULT_BATCH, rebatch
from tpusplit.strategies.cluster import plan_cluster
from tpusplit.strategies.heterogeneous import (
    check_objective,
    place_layers,
    plan_as_slowest,
    plan_devices,
)
from tpusplit.strategies.outcome import Planning
from tpusplit.strategies.registry import Strategy
from tpusplit.strategies.replicated import optimal_replicated, or_host_stage, pure_replicas
from tpusplit.strategies.split_layers import plan_split_layers

Model = str | Path | bytes | Graph
#: Where warnings go (the CLI prints them on stderr; the facade collects them).
Warn = Callable[[str], None]
COSTS = ("model", "profile")


def cores_note(stages: int) -> str | None:
    """A note when ``stages`` CPU workers outnumber this machine's cores: they share them,
    so the measured pipeline cannot beat the core count (the profiler timed each stage
    alone); None otherwise."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    if stages <= cores:
        return None
    return (f"{stages} CPU stages on {cores} core(s) share the cores: a run gets at most "
            f"about {cores}x one core (each stage's time was measured with the machine to "
            "itself)")


def graph_of(model: Model) -> Graph:
    """A loaded graph from a path, TFLite bytes or a graph (returned as is)."""
    return model if isinstance(model, Graph) else load(model)


class _DryRun(CostSource):
    """The Edge TPU model, seen as the profiler is: no lower bound, not monotone, ``parallel``
    devices; so a strategy searches it the way it will search the real measurements."""

    def __init__(self, model: EdgeTPUCost, parallel: int) -> None:
        super().__init__(model.graph)
        self.model = model
        self.device = model.device
        self.parallel = parallel

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return self.model.segment(start, end)


def estimate_segments(graph: Graph, num_segments: int, strategy: str, kind: str,
                      coral: str = "carry", parallel: int = 1) -> set[tuple[int, int]]:
    """The segments ``strategy`` asks for when planning on the Edge TPU model searched like
    the profiler (:class:`_DryRun`): milliseconds, and a fair prediction of the profiling
    work (the real run follows other latencies, so it is an estimate)."""
    model = EdgeTPUCost(graph, MODEL_PROFILE.get(kind, "edgetpu-usb3"))
    cost = for_coral(_DryRun(model, parallel), coral)
    asked = cost.track()
    try:
        plan_with(graph, num_segments, cost, strategy)
    except TpusplitError:
        pass
    finally:
        cost.untrack(asked)
    return asked


@dataclass
class PlanSetup:
    """The cost source to plan with and how to report and check the result."""

    graph: Graph
    target: Target
    cost: CostSource
    strategy: str
    coral: str
    profiler: EdgeTPUProfiler | None = None

    @contextmanager
    def progress(self, label: str, show: bool) -> Iterator[Callable[[str], None]]:
        """The live line: the profiler's bar, or the evaluation counter (``show``)."""
        if not show:
            yield lambda _text: None
        elif self.profiler is not None:
            with profiling(self.profiler, label) as step:
                yield step
        else:
            with evaluating(self.cost, label) as step:
                yield step

    def finish(self, plan: Plan) -> Plan:
        """The plan with its target and Coral note; a one-line error if it needs a segment
        the compiler rejected, or (``exclude``) still needs carrying."""
        if not math.isfinite(plan.bottleneck_ms):
            rejected = [s for s in plan.segments if not math.isfinite(s.latency_ms)]
            if self.profiler is not None and rejected:
                bad = rejected[0]
                raise TpusplitError(
                    f"{self.graph.source}: {plan.strategy} found no {plan.num_segments}-"
                    f"segment plan without a segment edgetpu_compiler rejects (ops "
                    f"[{bad.start}, {bad.end})); try another --tpus or --strategy")
        graph = plan.for_model(self.graph, f"plan of {plan.model}")
        check_plan(graph, plan.cuts, plan.strategy, self.coral)
        plan = replace(plan, target=self.target.with_count(plan.devices_used))
        shared = cores_note(plan.devices_used) if self.target.backend == "cpu" else None
        if shared:
            plan = replace(plan, notes=(*plan.notes, shared))
        if self.coral == "off" and self.target.backend != "edgetpu":
            return plan
        return replace(plan, notes=(*plan.notes, coral_note(graph, plan.cuts, self.coral)))

    def finish_all(self, found: Comparison) -> Comparison:
        """:meth:`finish` on every compared plan; a plan it refuses becomes a skipped one."""
        plans, skipped = [], dict(found.skipped)
        for p in found.plans:
            try:
                plans.append(self.finish(p))
            except TpusplitError as exc:
                skipped[p.strategy] = str(exc)
        return replace(found, plans=tuple(plans), skipped=skipped)

    def estimate(self, num_segments: int, strategies: list[str]) -> None:
        """Tell the profiler how many segments to expect (dry runs on the Edge TPU model)."""
        prof = self.profiler
        if prof is None:
            return
        asked: set[tuple[int, int]] = set()
        for s in strategies:
            asked |= estimate_segments(self.graph, num_segments, s, prof.kind, self.coral,
                                       prof.parallel)
        prof.expected = sum(1 for a, b in asked if not prof.cached(a, b)) + prof.done


def setup(graph: Graph, target: Target, cost: str | None = None, strategy: str | None = None,
          coral: str | None = None, cache: Path | None = None,
          warn: Warn | None = None) -> PlanSetup:
    """The cost source to plan ``graph`` for a one-kind ``target`` with (module docstring)."""
    dev = target.dev
    kind = cost or ("profile" if dev.backend == "cpu" else "model")
    if kind not in COSTS:
        raise TpusplitError(f"--cost must be model or profile, not {kind!r}")
    if kind == "model" and dev.backend == "cpu":
        raise TpusplitError(f"--device {dev.name}: a CPU is planned by profiling (--cost "
                            "profile); the performance model is for Edge TPUs")
    mode = check_mode(coral or ("carry" if dev.backend == "edgetpu" else "off"))
    say = warn or (lambda _m: None)
    profiler = None
    if kind == "profile" and dev.backend == "edgetpu":
        profiler = make_profiler(graph, target.device, cache if cache is not None else "default",
                                 coral=mode, on_reject=lambda r: say(_rejected(r, graph)),
                                 on_lost=lambda tpu, why: say(f"Edge TPU {tpu} failed ({why})"))
        profiler.runner = runner_of(load_profile(MODEL_PROFILE.get(profiler.kind,
                                                                   "edgetpu-usb3")),
                                    target.runner, target.host_ms)
        base: CostSource = profiler
        chosen = strategy or "profiled"
    else:
        base = make_cost(graph, dev.name, target.runner, target.host_ms, target.clock)
        chosen = strategy or "optimal"
    return PlanSetup(graph, target, for_coral(base, mode), chosen, mode, profiler)


def _rejected(rejection: Rejection, graph: Graph) -> str:
    return rejection.message(graph)


def make_plans(model: Model, target: Target, *, strategy: str | None = None,
               cost: str | CostSource | None = None, batch: int = DEFAULT_BATCH,
               coral: str | None = None, compare_all: bool = False,
               objective: str = "throughput", max_tpus: int = 8,
               target_ips: float | None = None, profile_cache: Path | None = None,
               replicas: int | None = None, split_layers: bool = False,
               progress: bool = False, warn: Warn | None = None) -> Planning:
    """Plan ``model`` for ``target`` (module docstring). ``target.count`` 0 means ``--tpus
    auto``: the fewest devices (up to ``max_tpus``) within 5% of the best throughput, or
    reaching ``target_ips``.

    ``replicas``: at most this many copies of a stage (1: a pure pipeline). By default
    ``optimal`` on the Edge TPU model plans stages and replicas together (:mod:`tpusplit.
    strategies.replicated`) and ``compare_all`` adds pure ``replicas`` and pure ``stages``;
    profiled costs plan pure pipelines unless ``replicas`` is given (every replica count
    would be measured).

    ``split_layers``: the strategies may cut inside large layers (:mod:`tpusplit.strategies.
    split_layers`); the plan then records the rewrite of the model it is for."""
    check_objective(objective)
    warnings: list[str] = []

    def say(message: str) -> None:
        warnings.append(message)
        if warn is not None:
            warn(message)

    if strategy is not None:
        get(strategy)
    if target.cluster is not None or target.kinds or objective != "throughput":
        if strategy is not None or replicas is not None:
            raise TpusplitError(f"--{'strategy' if strategy is not None else 'replicas'} "
                                "plans --tpus N on one kind of device; --devices, --cluster "
                                "and --objective use their own exact planner")
        if split_layers:
            raise TpusplitError("--split-layers plans --tpus N on one kind of device "
                                "(throughput); not --devices, --cluster or --objective")
        if cost == "profile":
            raise TpusplitError(f"{getattr(model, 'source', model)}: --cost profile plans "
                                "--tpus N on one kind of Edge TPU; --devices, --cluster and "
                                "--objective plan on the models")
        if compare_all and target.cluster is not None:
            raise TpusplitError(f"{target.cluster.source}: --cluster plans on the hosts' own "
                                "devices; leave out --compare")
        return _plan_mix(graph_of(model), target, objective, batch, compare_all, progress,
                         warnings)
    graph = cost.graph if isinstance(cost, CostSource) else graph_of(model)
    if isinstance(cost, CostSource):
        chosen = strategy or "optimal"
        ps = PlanSetup(graph, target, cost, chosen, check_mode(coral or "off"))
    else:
        ps = setup(graph, target, cost, strategy, coral, profile_cache, say)
    n = target.count or None
    planners = _replica_planners(ps, replicas)
    if split_layers:
        if isinstance(cost, CostSource) or ps.profiler is not None:
            raise TpusplitError("--split-layers plans on the Edge TPU model or the CPU "
                                "profiler, which cost any rewritten model; not on a given "
                                "cost source or --cost profile")
        planners = _split_planners(ps, planners, batch)
    ps.estimate(n or max_tpus, names() if compare_all else [ps.strategy])
    res = found = None
    chosen_plan: Plan | None = None
    with ps.progress(f"planning {graph.name}", progress) as step:
        if n is None:
            step(f"--tpus auto: {ps.strategy}, N = 1..{max_tpus}")
            res = auto(graph, ps.cost, ps.strategy, max_tpus, target_ips,
                       planner=planners.get(ps.strategy))
            n = res.plan.devices_used
        if compare_all:
            found = compare(graph, n, ps.cost, [*names(), *planners.keys() - set(names())],
                            batch=batch, planners=planners,
                            progress=lambda s: step(f"{s} on {n} x {ps.cost.device}"))
        else:
            step(f"{ps.strategy} on {n} x {ps.cost.device}")
            fn = planners.get(ps.strategy) or get(ps.strategy)
            found_plan = res.plan if res is not None else fn(graph, n, ps.cost)
            chosen_plan = ps.finish(found_plan if found_plan.layer_splits
                                    else rebatch(found_plan, ps.cost, batch))
    if res is not None and not res.target_reached:
        say(f"{graph.source}: {res.reason}")
    if found is not None:
        found = ps.finish_all(found)
        by_reason: dict[str, list[str]] = {}
        for name, why in found.skipped.items():  # one line per reason, not per strategy
            if "no latency predictor" in why:
                why = (f"no trained latency predictor for {ps.cost.device} (see `tpusplit "
                       "predictor -h`)")
            by_reason.setdefault(why, []).append(name)
        for why, skipped in by_reason.items():
            say(f"{', '.join(skipped)} skipped: {why}")
        chosen_plan = found.plan(ps.strategy)
    return Planning(graph, target.with_count(n), chosen_plan, ps.cost, found, res,
                    warnings=warnings)


def _replica_planners(ps: PlanSetup, replicas: int | None) -> dict[str, Strategy]:
    """The replica-aware ``optimal`` and the pure ``replicas`` and ``stages`` rows, unless
    replicas are off (``replicas=1``, or by default on a profiled cost)."""
    if replicas is not None and replicas < 1:
        raise TpusplitError(f"--replicas must be >= 1, got {replicas}")
    def stages(graph: Graph, n: int, cost: CostSource) -> Plan:
        # a pure pipeline, with the work the device leaves to the host as a stage of its
        # own when that is faster (a cost source that runs every op has none)
        return replace(or_host_stage(get("optimal")(graph, n, cost), graph, n, cost,
                                     max_replicas=1), strategy="stages")

    if replicas == 1:
        return {"optimal": lambda g, n, c: replace(stages(g, n, c), strategy="optimal")}
    if (replicas is None and ps.profiler is not None) or (
            replicas is None and ps.target.backend == "cpu"):
        return {}

    def hybrid(graph: Graph, n: int, cost: CostSource) -> Plan:
        return optimal_replicated(graph, n, cost, max_replicas=replicas)

    return {"optimal": hybrid, "stages": stages, "replicas": pure_replicas}


def _split_planners(ps: PlanSetup, planners: dict[str, Strategy], batch: int
                    ) -> dict[str, Strategy]:
    """Every strategy (and replica planner) through :func:`~tpusplit.strategies.split_layers.
    plan_split_layers`, costing each rewritten model as ``ps`` costs the original."""
    target, mode = ps.target, ps.coral

    def make(graph: Graph) -> CostSource:
        return for_coral(make_cost(graph, target.device, target.runner, target.host_ms,
                                   target.clock), mode)

    def wrap(fn: Strategy) -> Strategy:
        def planner(graph: Graph, n: int, cost: CostSource) -> Plan:
            found = plan_split_layers(graph, n, make, fn, whole=fn(graph, n, cost))
            if not found.plan.layer_splits:
                return found.plan
            return rebatch(found.plan, make(found.graph), batch)
        return planner

    names_ = [*names(), *planners.keys()]
    return {name: wrap(planners.get(name) or get(name)) for name in dict.fromkeys(names_)}


def _plan_mix(graph: Graph, target: Target, objective: str, batch: int, compare_all: bool,
              progress: bool, warnings: list[str]) -> Planning:
    """A mix of devices (or ``--tpus N --objective latency|energy``), or a cluster: the exact
    planners; with ``compare_all``, the "every device as the slowest" baseline and, for
    latency or energy, the per-layer placement."""
    from tpusplit.report.console import console

    where = (target.describe() if target.cluster is None
             else f"{len(target.cluster.hosts)} host(s)")
    status = (console().status(f"costing every segment of {graph.name} on {where}")
              if progress else nullcontext())
    with status:
        if target.cluster is not None:
            chosen = plan_cluster(graph, target.cluster, objective, batch)
            return Planning(graph, target, replace(chosen, target=target), objective=objective,
                            warnings=warnings)
        kinds = list(target.kinds) or list(_as_kinds(target, graph))
        costs = [kind_cost(k, graph) for k in kinds]
        chosen = plan_devices(graph, kinds, objective, batch, costs)
        others = (plan_as_slowest(graph, kinds, batch, costs),) if compare_all else ()
        layers = (place_layers(graph, kinds, objective, costs)
                  if compare_all and objective != "throughput" else None)
    return Planning(graph, target, replace(chosen, target=target), others=others,
                    layers=layers, objective=objective, warnings=warnings)


def _as_kinds(target: Target, graph: Graph) -> tuple[DeviceKind, ...]:
    """``--tpus N --device D --objective latency|energy``: N devices of D as a mix."""
    if not target.count:
        raise TpusplitError(f"{graph.source}: --objective latency or energy needs --tpus N "
                            "(a number) or --devices")
    short = "cpu" if target.backend == "cpu" else target.device.removeprefix("edgetpu-")
    return tuple(parse_devices(f"{short}:{target.count}"))


def plan(model: Model, tpus: int | str | None = None, *, device: str = "edgetpu-usb3",
         devices: str | None = None, cluster: str | Path | None = None,
         strategy: str | None = None, cost: CostSource | str | None = None,
         batch: int = DEFAULT_BATCH, runner: str = "python", host_ms: float | None = None,
         clock: str | None = None, coral: str | None = None, objective: str = "throughput",
         max_tpus: int = 8, target_ips: float | None = None,
         replicas: int | None = None, split_layers: bool = False) -> Plan:
    """Where to cut ``model`` for ``tpus`` devices of ``device`` (``"auto"`` or None: the
    fewest reaching the best throughput within 5%, or ``target_ips``), or for a mix
    (``devices="usb3:2,cpu:1"``) or a cluster description (``cluster``), exactly what
    ``tpusplit plan`` gives for the same flags. ``replicas``: at most this many copies of a
    stage (default: as many as help, on the Edge TPU model; 1: a pure pipeline);
    ``split_layers``: cuts inside large layers are allowed (the plan records the rewrite).
    ``runner``,
    ``host_ms``, ``clock``: the pipeline runner whose host time the figures include
    (``python``, ``coral``, ``none``) and the Edge TPU clock (``max``, ``std``). ``cost``:
    ``"model"``, ``"profile"`` or a cost source of the graph. The plan carries its target:
    :func:`simulate` and :func:`run` need no device. Save it with :meth:`Plan.save`."""
    count = None if tpus in (None, "auto") else tpus
    if isinstance(count, str):
        raise TpusplitError(f"tpus must be a number of devices or 'auto', got {tpus!r}")
    target = parse_target(device if devices is None and cluster is None else None, count,
                          devices=devices, cluster=cluster, runner=runner, host_ms=host_ms,
                          clock=clock)
    if isinstance(cost, CostSource) and target.count == 0:
        target = target.with_count(0)
    found = make_plans(model, target, strategy=strategy, cost=cost, batch=batch, coral=coral,
                       objective=objective, max_tpus=max_tpus, target_ips=target_ips,
                       replicas=replicas, split_layers=split_layers)
    assert found.plan is not None
    return found.plan
