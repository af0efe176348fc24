"""The facade's simulate, run and pipeline: a plan carries its target, so none needs a device."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tpusplit.api.planning import Model, graph_of
from tpusplit.api.running import Run, _kind_of, execute, prepare
from tpusplit.costs.base import CostSource
from tpusplit.devices.target import Target, parse_target
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, check_cuts
from tpusplit.pipeline.runner import Pipeline
from tpusplit.profiling.sources import kind_cost, make_cost
from tpusplit.sim import SimResult, check_batch
from tpusplit.sim import simulate as simulate_pipeline
from tpusplit.strategies import Plan
from tpusplit.strategies.base import DEFAULT_BATCH

Feeds = Mapping[str, np.ndarray]


def _cuts(graph: Graph, plan: Plan | Sequence[int]) -> tuple[Graph, list[int]]:
    """The graph a plan's cuts index (``graph`` rewritten when the plan cuts inside layers)
    and the cuts, checked."""
    if isinstance(plan, Plan):
        return plan.for_model(graph, f"plan of {plan.model}"), list(plan.cuts)
    return graph, check_cuts(graph, list(plan))


def sim_target(plan: Plan | Sequence[int], device: str | None, runner: str | None,
               host_ms: float | None, clock: str | None) -> Target:
    """What a simulation is of: the plan's target, with the options given overriding its
    runner, host time and clock; ``device`` only for cuts, or a plan made without one.
    A device other than the plan's is a one-line error (it would silently simulate
    another device)."""
    target = plan.target if isinstance(plan, Plan) else None
    if target is None:  # cuts, or a plan file written before targets: its runner if any
        default = plan.runner.name if isinstance(plan, Plan) else "python"
        return parse_target(device or "edgetpu-usb3", runner=runner or default,
                            host_ms=host_ms, clock=clock)
    if device is not None and (not target.device or
                               parse_target(device).device != target.device):
        raise TpusplitError(f"the plan is for {target.describe()}, not {device}: simulate it "
                            "without a device, or plan again for that device")
    return parse_target(target.device or None, target.count or None,
                        devices=None if target.device else _mix(target),
                        cluster=target.cluster, runner=runner or target.runner,
                        host_ms=host_ms if host_ms is not None else target.host_ms,
                        clock=clock if clock is not None else target.clock)


def _mix(target: Target) -> str | None:
    from tpusplit.devices.kinds import describe

    return describe(list(target.kinds)) if target.kinds else None


def sim_costs(graph: Graph, plan: Plan | Sequence[int], target: Target
              ) -> CostSource | list[CostSource]:
    """The cost source(s) a simulation uses: one for a one-kind target, one per segment
    for a plan on a mix of devices or a cluster."""
    if target.device:
        return make_cost(graph, target.device, target.runner, target.host_ms, target.clock)
    if not isinstance(plan, Plan):
        raise TpusplitError("cuts alone do not say which device runs which segment; "
                            "simulate a plan for a mix of devices")
    return [kind_cost(_kind_of(plan, i, f"plan of {plan.model}"), graph)
            for i in range(plan.num_segments)]


def simulation(model: Model, plan: Plan | Sequence[int] = (), *, device: str | None = None,
               batch: int | None = None, shared_bus: bool = False,
               buses: Sequence[int] | None = None, queue_size: int | None = None,
               runner: str | None = None, host_ms: float | None = None,
               clock: str | None = None) -> tuple[CostSource | list[CostSource], SimResult]:
    """:func:`simulate`, with the cost source(s) it used (what ``tpusplit simulate`` shows)."""
    graph, cuts = _cuts(graph_of(model), plan)
    b = batch if batch is not None else plan.batch if isinstance(plan, Plan) else DEFAULT_BATCH
    check_batch(b)
    replicas = plan.replicas if isinstance(plan, Plan) and plan.replicas else None
    devices = sum(replicas) if replicas else len(cuts) + 1
    if buses is not None and len(buses) != devices:
        raise TpusplitError(f"--buses: {len(buses)} links for {devices} devices (one per "
                            "device, stage by stage, a stage's replicas in order)")
    if queue_size is not None and queue_size < 1:
        raise TpusplitError(f"{graph.source}: --queue-size must be >= 1, got {queue_size}")
    target = sim_target(plan, device, runner, host_ms, clock)
    costs = sim_costs(graph, plan, target)
    return costs, simulate_pipeline(costs, cuts, batch=b, shared_bus=shared_bus, buses=buses,
                                    queue_size=queue_size, replicas=replicas)


def simulate(model: Model, plan: Plan | Sequence[int] = (), *, device: str | None = None,
             batch: int | None = None, shared_bus: bool = False,
             buses: Sequence[int] | None = None, queue_size: int | None = None,
             runner: str | None = None, host_ms: float | None = None,
             clock: str | None = None) -> SimResult:
    """What the segments of ``plan`` (a :class:`Plan`, or cuts; none: one device) would do:
    a discrete-event simulation of ``batch`` inputs (default: the plan's batch, else 15;
    :func:`tpusplit.sim.simulate`) on the plan's own target, replicas included. For cuts,
    ``device`` (default ``edgetpu-usb3``), ``runner``, ``host_ms`` and ``clock`` say what
    to simulate, as :func:`tpusplit.plan` takes them."""
    return simulation(model, plan, device=device, batch=batch, shared_bus=shared_bus,
                      buses=buses, queue_size=queue_size, runner=runner, host_ms=host_ms,
                      clock=clock)[1]


def run(model: Model, plan: Plan | Sequence[int], inputs: int | Sequence[Feeds] = 16, *,
        device: str = "cpu", check: bool = False, seed: int = 0, threads: int = 1,
        coral: bool | None = None, tpu_map: str | None = None,
        cluster: str | None = None, simulate_tpu: bool = False,
        rebalance: bool = False) -> Run:
    """Split ``model`` as ``plan`` says and run ``inputs`` (a count of random inputs, or the
    inputs themselves, by input name) through a real pipeline, as ``tpusplit run`` does:
    one worker per segment and replica, LiteRT on CPU cores (``cpu``, the default) or Edge
    TPUs (``edgetpu``; ``tpu_map`` as ``--tpu-map``); a plan for a mix of devices runs each
    segment on its kind (``simulate_tpu``: its Edge TPU segments on the CPU, paced at their
    predicted latency, as ``--simulate-tpu``); ``cluster`` (a Ray address) runs each stage as
    a Ray actor; ``rebalance`` lets the threaded runner move replicas between stages (as
    ``run --rebalance``). With
    ``check``, every output is compared with the whole model. On ``cpu`` the whole model is
    also timed on one thread (``measurement.baseline_ms``)."""
    graph = graph_of(model)
    chosen = plan if isinstance(plan, Plan) else None
    cuts = None if chosen is not None else _cuts(graph, plan)[1]
    prep = prepare([], chosen, cuts, device=device, threads=threads, coral=coral,
                   tpu_map=tpu_map, simulate_tpu=simulate_tpu, cluster=cluster, graph=graph)
    feeds = list(inputs) if not isinstance(inputs, int) else None
    return execute(prep, feeds, inputs if isinstance(inputs, int) else None, check=check,
                   seed=seed, threads=threads, cluster=cluster, keep_results=True,
                   rebalance=rebalance)


def pipeline(model: Model, plan: Plan | Sequence[int], *, device: str = "cpu",
             threads: int = 1, queue_size: int = 4, coral: bool | None = None,
             tpu_map: str | None = None) -> Pipeline:
    """A streaming pipeline of ``model`` cut as ``plan`` says, for camera-style use, as
    pycoral's ``PipelinedModelRunner``: ``push(inputs)`` returns at once, ``pop()`` gives
    the results in input order, ``push(None)`` ends the stream; a context manager closes it.

    >>> import tpusplit
    >>> from tpusplit.models.synthetic import conv
    >>> from tpusplit.pipeline import random_feeds
    >>> model = tpusplit.load(conv(8, size=8))
    >>> feeds = random_feeds(model, 3)
    >>> with tpusplit.pipeline(model, [2]) as pipe:
    ...     for f in feeds:
    ...         pipe.push(f)
    ...     results = [pipe.pop() for _ in feeds]
    >>> len(results), all(r is not None for r in results)
    (3, True)
    """
    graph = graph_of(model)
    chosen = plan if isinstance(plan, Plan) else None
    cuts = None if chosen is not None else _cuts(graph, plan)[1]
    prep = prepare([], chosen, cuts, device=device, threads=threads, coral=coral,
                   tpu_map=tpu_map, graph=graph)
    if not prep.stages:
        raise TpusplitError("no stages to stream")
    return Pipeline(prep.stages, outputs=prep.outputs, queue_size=queue_size)


__all__ = ["Run", "pipeline", "run", "simulate"]
