"""The ``replicas`` strategies: stages *and* copies of stages, exactly (issue "replicas").

:func:`optimal_replicated` is the exact best plan over cut positions and replica counts at
once on at most ``N`` identical devices (:func:`tpusplit.partition.replica_partition`,
PipeDream's programme for inference: a stage of time ``w`` on ``r`` devices passes ``r / w``
inputs per unit of time), charging the cost source's runner its host time per stage and
input as the simulator does; on a source whose devices share a host link (USB,
:attr:`CostSource.shared_link`) the copies of a stage take turns for it, so a stage passes at
most one input per :meth:`CostSource.link_ms`, as the simulator runs them.
``max_replicas=1`` is ``optimal``'s pure pipeline; ``max_stages=1``
is pure data parallelism, one copy of the model per device (:func:`pure_replicas`), what
Frigate does with several Coral TPUs.

**Host stage.** When the device leaves the model's last ops to the host CPU (an SSD's
``TFLite_Detection_PostProcess`` on an Edge TPU: :meth:`CostSource.host_tail`), every copy of
the last stage runs them after its device, as Coral's runner does. The alternative, also
planned: those ops as a stage of their own on the host CPU, with as many copies as keep up
with the device stages (at most ``host_cores``), and the exact programme over the device ops
before them. The plan with the smaller simulated time per inference is returned (ties: fewer
stages).

Complexity: as :func:`~tpusplit.partition.replica_partition`: O(N R n^2) numpy time, lazy
evaluation guided by the cost source's lower bound; twice with a host stage.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import replace

from tpusplit.costs.base import CostSource
from tpusplit.devices.energy import power_of
from tpusplit.graph import Graph
from tpusplit.partition import ReplicaPartition, replica_partition
from tpusplit.strategies.base import Plan, StageKind, Timer, make_plan

#: The label of a host stage's segment (it runs with LiteRT on the host's CPU cores).
HOST_LABEL = "cpu"


def optimal_replicated(graph: Graph, num_devices: int, cost: CostSource, *,
                       max_stages: int | None = None, max_replicas: int | None = None,
                       name: str = "optimal", host_cores: int | None = None) -> Plan:
    """The exact best replicated pipeline of ``graph`` on at most ``num_devices`` devices
    (module docstring): smallest period, then fewest devices, then smallest latency; with a
    host stage when that is faster (``host_cores``: the host's cores for its copies, this
    machine's by default)."""
    timer = Timer(cost)
    seen: dict[tuple[int, int], float] = {}
    found = _exact(len(graph.ops), num_devices, cost, seen, max_stages, max_replicas)
    replicas = tuple(found.replicas)
    notes = [f"exact over cuts and replica counts on at most {num_devices} devices: "
             f"{_shape(replicas)}"]
    plan = make_plan(name, graph, cost, found.cuts, timer, lower_bound_ms=found.value,
                     notes=notes, replicas=replicas if any(r > 1 for r in replicas) else ())
    return or_host_stage(plan, graph, num_devices, cost, max_stages=max_stages,
                         max_replicas=max_replicas, host_cores=host_cores, known=seen)


def or_host_stage(plan: Plan, graph: Graph, num_devices: int, cost: CostSource, *,
                  max_stages: int | None = None, max_replicas: int | None = None,
                  host_cores: int | None = None,
                  known: dict[tuple[int, int], float] | None = None) -> Plan:
    """``plan``, or the plan with a host stage (:func:`host_staged`, same limits) when that is
    faster; ``plan`` says so when the host stage was slower."""
    staged = host_staged(graph, num_devices, cost, max_stages=max_stages,
                         max_replicas=max_replicas, name=plan.strategy, host_cores=host_cores,
                         known=known)
    if staged is None:
        return plan
    if staged.time_per_inference_ms < plan.time_per_inference_ms - 1e-9:
        return staged
    tail, n = staged.cuts[-1], len(graph.ops)
    return replace(plan, notes=(*plan.notes, f"ops [{tail}, {n}) left to the host run in "
                                "the last stage (a host stage of their own would take "
                                f"{staged.time_per_inference_ms:.3f} ms per inference)"))


def host_staged(graph: Graph, num_devices: int, cost: CostSource, *,
                max_stages: int | None = None, max_replicas: int | None = None,
                name: str = "optimal", host_cores: int | None = None,
                known: dict[tuple[int, int], float] | None = None) -> Plan | None:
    """The plan with the ops the device leaves to the host as a stage of their own (module
    docstring): the exact replicated pipeline of the ops before them on at most
    ``num_devices`` devices, then the host stage on as many of ``host_cores`` cores as keep
    up with it. None when the device runs every op (or ``max_stages`` is 1)."""
    tail = cost.host_tail()
    if tail is None or max_stages == 1:
        return None
    seen = known if known is not None else {}
    timer = Timer(cost)
    n = len(graph.ops)
    head = _exact(tail, num_devices, cost, seen,
                  None if max_stages is None else max_stages - 1, max_replicas)
    cores = max(1, host_cores if host_cores is not None else os.cpu_count() or 1)
    if max_replicas is not None:
        cores = min(cores, max_replicas)
    host_ms = _memo(cost, seen)(tail, n) + cost.runner.stage_ms
    copies = min(cores, max(1, math.ceil(host_ms / max(head.value, 1e-9) - 1e-9)))
    reps = (*head.replicas, copies)
    device = StageKind(cost, cost.device, cost.power() or power_of("edgetpu"))
    stages = [device] * len(head.replicas) + [StageKind(cost, HOST_LABEL, power_of("cpu"))]
    notes = [f"exact over cuts and replica counts of ops [0, {tail}) on at most "
             f"{num_devices} devices: {_shape(tuple(head.replicas))}; ops [{tail}, {n}) "
             f"(left to the host) a stage of their own on {copies} host core(s)"]
    staged = make_plan(name, graph, cost, (*head.cuts, tail), timer, notes=notes,
                       replicas=reps if any(r > 1 for r in reps) else (), stages=stages,
                       device=cost.device)
    return replace(staged, host_stage=True)


def _exact(n: int, num_devices: int, cost: CostSource, seen: dict[tuple[int, int], float],
           max_stages: int | None, max_replicas: int | None) -> ReplicaPartition:
    """The exact replicated pipeline of ops ``[0, n)`` under ``cost`` and its runner, its
    segment latencies remembered in ``seen``."""
    return replica_partition(n, num_devices, _memo(cost, seen), lower=cost.lower_bound(),
                             host=cost.runner.stage_ms, serial=cost.runner.serial_ms,
                             max_stages=max_stages, max_replicas=max_replicas, known=seen,
                             link=cost.link_ms if cost.shared_link else None)


def _memo(cost: CostSource, seen: dict[tuple[int, int], float]
          ) -> Callable[[int, int], float]:
    """``cost.latency`` remembered in ``seen`` (shared with the programme's ``known``)."""
    def lat(i: int, j: int) -> float:
        v = seen.get((i, j))
        if v is None:
            v = seen[(i, j)] = cost.latency(i, j)
        return v
    return lat


def _shape(replicas: tuple[int, ...]) -> str:
    return ("one stage" if len(replicas) == 1 else f"{len(replicas)} stages") + (
        f", replicas {list(replicas)}" if any(r > 1 for r in replicas) else "")


def pure_replicas(graph: Graph, num_devices: int, cost: CostSource) -> Plan:
    """The whole model on every one of ``num_devices`` devices, inputs dealt to whichever
    is free (no pipeline)."""
    timer = Timer(cost)
    return make_plan("replicas", graph, cost, (), timer,
                     notes=[f"the whole model on each of {num_devices} devices"],
                     replicas=(num_devices,) if num_devices > 1 else ())
