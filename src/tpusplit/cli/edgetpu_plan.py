"""What ``tpusplit plan`` adds for real Edge TPUs: ``--cost profile`` and ``--coral``.

Kept out of ``plan_cmd`` so that command stays a thin sequence: :func:`setup` builds the cost
source (the Edge TPU model, the CPU profiler, or :class:`~tpusplit.profiling.edgetpu.
EdgeTPUProfiler` on the attached TPUs), :meth:`PlanSetup.progress` shows the right progress
line, :meth:`PlanSetup.finish` applies the Coral rule and rejects plans that need a segment
the compiler refused.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.coral_runner import check_mode, check_plan, coral_note, for_coral
from tpusplit.costs.edgetpu import EdgeTPUCost, runner_of
from tpusplit.devices.catalogue import resolve
from tpusplit.devices.profiles import load_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.profiling.edgetpu import MODEL_PROFILE, EdgeTPUProfiler, Rejection, make_profiler
from tpusplit.profiling.sources import make_cost
from tpusplit.report.progress import evaluating
from tpusplit.report.tpu_progress import profiling
from tpusplit.strategies import Comparison, Plan, plan

COSTS = ("model", "profile")
COST_HELP = ("model: the Edge TPU performance model (default for Edge TPUs); profile: compile "
             "every segment a strategy asks for with edgetpu_compiler and time it on the "
             "attached Edge TPUs (all of them in parallel; cached on disk). CPU devices are "
             "always profiled.")
CORAL_HELP = ("carry (default for Edge TPUs): segments pass on tensors later segments need, "
              "so libcoral's PipelinedModelRunner takes any cut; exclude: only cuts where "
              "every output feeds the next segment; off: tpusplit's runner only.")


@dataclass
class PlanSetup:
    """The cost source to plan with and how to report and check the result."""

    graph: Graph
    cost: CostSource
    strategy: str
    coral: str
    profiler: EdgeTPUProfiler | None = None

    @contextmanager
    def progress(self, label: str) -> Iterator[Callable[[str], None]]:
        """The live line: the profiler's bar, or the evaluation counter."""
        if self.profiler is not None:
            with profiling(self.profiler, label) as step:
                yield step
        else:
            with evaluating(self.cost, label) as step:
                yield step

    def finish(self, plan: Plan) -> Plan:
        """The plan with its Coral note; a one-line error if it needs a segment the compiler
        rejected, or (``exclude``) still needs carrying."""
        if not math.isfinite(plan.bottleneck_ms):
            rejected = [s for s in plan.segments if not math.isfinite(s.latency_ms)]
            if self.profiler is not None and rejected:
                bad = rejected[0]
                raise TpusplitError(
                    f"{self.graph.source}: {plan.strategy} found no {plan.num_segments}-"
                    f"segment plan without a segment edgetpu_compiler rejects (ops "
                    f"[{bad.start}, {bad.end})); try another --tpus or --strategy")
        check_plan(self.graph, plan.cuts, plan.strategy, self.coral)
        if self.coral == "off" and resolve_backend(plan.device) != "edgetpu":
            return plan
        return replace(plan, notes=(*plan.notes, coral_note(self.graph, plan.cuts, self.coral)))

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
        plan(graph, num_segments, cost, strategy)
    except TpusplitError:
        pass
    finally:
        cost.untrack(asked)
    return asked


def resolve_backend(device: str) -> str:
    """``edgetpu``, ``cpu`` or ``null`` for a device name (``edgetpu:usb`` included)."""
    try:
        return resolve(device).backend
    except TpusplitError:
        return "edgetpu" if device.startswith("edgetpu") else "unknown"


def setup(graph: Graph, device: str, cost: str | None, strategy: str | None,
          coral: str | None, cache: Path | None = None, runner: str = "python",
          host_ms: float | None = None, clock: str | None = None) -> PlanSetup:
    """Build the cost source for ``plan`` (see the module docstring); ``runner``, ``host_ms``
    and ``clock`` as :func:`tpusplit.profiling.sources.make_cost` takes them."""
    dev = resolve(device)
    kind = cost or ("profile" if dev.backend == "cpu" else "model")
    if kind not in COSTS:
        raise TpusplitError(f"--cost must be model or profile, not {kind!r}")
    if kind == "model" and dev.backend == "cpu":
        raise TpusplitError(f"--device {device}: a CPU is planned by profiling (--cost "
                            "profile); the performance model is for Edge TPUs")
    mode = check_mode(coral or ("carry" if dev.backend == "edgetpu" else "off"))
    profiler = None
    if kind == "profile" and dev.backend == "edgetpu":

        def warn(rej: Rejection) -> None:
            print(f"warning: {rej.message(graph)}", file=sys.stderr)

        def lost(tpu: str, why: str) -> None:
            print(f"warning: Edge TPU {tpu} failed ({why})", file=sys.stderr)

        profiler = make_profiler(graph, device, cache if cache is not None else "default",
                                 coral=mode, on_reject=warn, on_lost=lost)
        profiler.runner = runner_of(load_profile(MODEL_PROFILE.get(profiler.kind,
                                                                   "edgetpu-usb3")),
                                    runner, host_ms)
        base: CostSource = profiler
        chosen = strategy or "profiled"
    else:
        base = make_cost(graph, device, runner, host_ms, clock)
        chosen = strategy or "optimal"
    return PlanSetup(graph, for_coral(base, mode), chosen, mode, profiler)
