"""Planning for a mix of devices: exact contiguous pipelines, the "all as slow" baseline, and
per-layer placement.

- :func:`plan_devices`: the exact best pipeline of contiguous segments on a device set
  (:func:`tpusplit.partition.device_chain.hetero_partition`, PipeEdge's dynamic programme), for an
  objective: ``throughput`` (smallest bottleneck), ``latency`` (smallest sum of stage times:
  one input through the pipeline) or ``energy`` (smallest active energy per inference).
- :func:`plan_as_slowest`: the baseline a homogeneous planner gives: every device treated as
  the slowest kind, ``optimal`` cuts for that many identical devices, then the segments put on
  the real devices (the best assignment, so the baseline is not handicapped by a bad order).
- :func:`place_layers`: Mensa-style placement, runs of ops on the kind that suits them, kinds
  coming back if it pays, each switch paying for the tensors it moves
  (:func:`tpusplit.partition.placement.place`), for one input at a time.

Complexity: every kind's cost of every segment, ``T * n * (n + 1) / 2`` evaluations (cheap for
the Edge TPU model and :class:`~tpusplit.profiling.cpu_ops.CPUOpCost`, not for a profiler), then the
programmes' own costs.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.devices.kinds import DeviceKind, describe
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, bounds
from tpusplit.partition.device_chain import hetero_partition
from tpusplit.partition.placement import Placement, place
from tpusplit.profiling.sources import kind_cost
from tpusplit.strategies.base import DEFAULT_BATCH, Plan, StageKind, make_plan
from tpusplit.strategies.optimal import optimal

OBJECTIVES = ("throughput", "latency", "energy")


def check_objective(objective: str) -> None:
    """A one-line error unless ``objective`` is one of :data:`OBJECTIVES`."""
    if objective not in OBJECTIVES:
        raise TpusplitError(f"--objective: {objective!r}; choose from {', '.join(OBJECTIVES)}")


def one_runner(costs: Sequence[CostSource]) -> list[CostSource]:
    """The kinds' cost sources, all with one pipeline runner: the one of largest host time
    per stage among theirs (one runner drives the whole pipeline on its host; a CPU kind's
    source knows none, an Edge TPU profile's was measured). The planner and the plan's
    reported times then charge the same runner, whichever kind runs the first stage."""
    runner = max((c.runner for c in costs), key=lambda r: (r.stage_ms, r.serial))
    out = []
    for c in costs:
        if c.runner != runner:
            c = copy.copy(c)  # shares the caches; only the runner differs
            c.runner = runner
        out.append(c)
    return out


def _plan(graph: Graph, kinds: Sequence[DeviceKind], costs: Sequence[CostSource],
          cuts: Sequence[int], assign: Sequence[int], strategy: str, batch: int,
          seconds: float, notes: Sequence[str]) -> Plan:
    stages = [StageKind(costs[t], kinds[t].label, kinds[t].power) for t in assign]
    plan = make_plan(strategy, graph, costs[assign[0]], cuts, None, batch=batch, notes=notes,
                     stages=stages, device=describe(list(kinds)), solve_seconds=seconds)
    return replace(plan, cost_evaluations=sum(c.evaluations for c in costs))


def plan_devices(graph: Graph, kinds: Sequence[DeviceKind], objective: str = "throughput",
                 batch: int = DEFAULT_BATCH, costs: Sequence[CostSource] | None = None) -> Plan:
    """The exact best contiguous pipeline of ``graph`` on the device set ``kinds``.

    ``costs`` are the kinds' cost sources (built from the kinds when omitted). The plan's
    segments name their device kind; its ``energy_mj`` is the energy per inference.
    """
    check_objective(objective)
    costs = one_runner(list(costs) if costs is not None else
                       [kind_cost(k, graph) for k in kinds])
    t0 = time.perf_counter()
    lat = np.stack([c.matrix() for c in costs])
    if objective == "energy":
        mats = np.stack([lat[t] * kinds[t].power.active_w for t in range(len(kinds))])
    else:
        mats = lat
    runner = costs[0].runner  # every kind's: its host time per stage is in the bottleneck
    throughput = objective == "throughput"
    part = hetero_partition(mats, [k.count for k in kinds], "max" if throughput else "sum",
                            host=runner.stage_ms if throughput else 0.0,
                            serial=runner.serial_ms if throughput else 0.0)
    seconds = time.perf_counter() - t0
    note = {"throughput": "exact: smallest bottleneck (with the runner's host time per stage) "
                          "over every contiguous pipeline and device assignment (PipeEdge's "
                          "programme)",
            "latency": "exact: smallest sum of stage latencies (one input at a time)",
            "energy": "exact: smallest active energy per inference"}[objective]
    return _plan(graph, kinds, costs, part.cuts, part.kinds, f"devices-{objective}", batch,
                 seconds, [note])


def plan_as_slowest(graph: Graph, kinds: Sequence[DeviceKind], batch: int = DEFAULT_BATCH,
                    costs: Sequence[CostSource] | None = None) -> Plan:
    """The homogeneous baseline: ``optimal`` cuts for as many copies of the slowest kind (the
    one with the largest whole-model latency), then the best assignment of the real devices.
    """
    costs = one_runner(list(costs) if costs is not None else
                       [kind_cost(k, graph) for k in kinds])
    t0 = time.perf_counter()
    n = len(graph.ops)
    slowest = max(range(len(kinds)), key=lambda t: costs[t].latency(0, n))
    total = min(n, sum(k.count for k in kinds))
    cuts = optimal(graph, total, costs[slowest]).cuts
    # the best assignment of the real devices to these segments: the exact programme on a
    # cost table that allows these segments only
    fixed = np.full((len(kinds), n + 1, n + 1), np.inf)
    for a, b in bounds(graph, cuts):
        for t, cost in enumerate(costs):
            fixed[t, a, b] = cost.latency(a, b)
    assign = hetero_partition(fixed, [k.count for k in kinds], "max").kinds
    return _plan(graph, kinds, costs, cuts, assign, "devices-as-slowest", batch,
                 time.perf_counter() - t0,
                 [f"cuts planned for {total} x {kinds[slowest].label}, then the best "
                  f"assignment of the real devices"])


@dataclass(frozen=True)
class LayerPlacement:
    """A per-layer placement: the runs ``(start, end, kind label)``, its cost and unit."""

    runs: tuple[tuple[int, int, str], ...]
    cost: float
    unit: str


def place_layers(graph: Graph, kinds: Sequence[DeviceKind], objective: str = "latency",
                 costs: Sequence[CostSource] | None = None) -> LayerPlacement:
    """Mensa-style placement of runs of ops on kinds, for one input at a time.

    A run ``[i, j)`` on a device costs what its kind's cost source says of that segment: its
    time with its input and output moved between device and host, so each switch pays for the
    tensors it moves (:func:`tpusplit.partition.placement.place`, over every device of the
    set: two TPUs of one kind are two places). A device may come back later (CPU, TPU, CPU);
    the model then assumes it keeps each run's parameters as it would alone. With
    ``objective="energy"`` a run costs its time times the device's active power. Runs are
    labelled with their kind (``usb3#1`` for the second of several).
    """
    if objective not in ("latency", "energy"):
        raise TpusplitError(f"--objective: per-layer placement minimises latency or energy, "
                            f"not {objective!r}")
    costs = list(costs) if costs is not None else [kind_cost(k, graph) for k in kinds]
    per_kind = [c.matrix() * (kinds[t].power.active_w if objective == "energy" else 1.0)
                for t, c in enumerate(costs)]
    # every device is a place of its own (two TPUs of one kind are two caches)
    devices = [(t, k) for t, kind in enumerate(kinds) for k in range(kind.count)]
    result: Placement = place(np.stack([per_kind[t] for t, _ in devices]))

    def label(d: int) -> str:
        t, k = devices[d]
        return kinds[t].label if kinds[t].count == 1 else f"{kinds[t].label}#{k}"

    return LayerPlacement(tuple((a, b, label(d)) for a, b, d in result.runs),
                          result.cost, "ms" if objective == "latency" else "mJ")
