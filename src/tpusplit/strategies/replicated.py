"""The ``replicas`` strategies: stages *and* copies of stages, exactly (issue "replicas").

:func:`optimal_replicated` is the exact best plan over cut positions and replica counts at
once on at most ``N`` identical devices (:func:`tpusplit.partition.replica_partition`,
PipeDream's programme for inference: a stage of time ``w`` on ``r`` devices passes ``r / w``
inputs per unit of time), charging the cost source's runner its host time per stage and
input as the simulator does. ``max_replicas=1`` is ``optimal``'s pure pipeline; ``max_stages=1``
is pure data parallelism, one copy of the model per device (:func:`pure_replicas`), what
Frigate does with several Coral TPUs.

Complexity: as :func:`~tpusplit.partition.replica_partition`: O(N R n^2) numpy time, lazy
evaluation guided by the cost source's lower bound.
"""

from __future__ import annotations

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.partition import replica_partition
from tpusplit.strategies.base import Plan, Timer, make_plan


def optimal_replicated(graph: Graph, num_devices: int, cost: CostSource, *,
                       max_stages: int | None = None, max_replicas: int | None = None,
                       name: str = "optimal") -> Plan:
    """The exact best replicated pipeline of ``graph`` on at most ``num_devices`` devices
    (module docstring): smallest period, then fewest devices, then smallest latency."""
    timer = Timer(cost)
    n = len(graph.ops)
    seen: dict[tuple[int, int], float] = {}

    def lat(i: int, j: int) -> float:
        v = seen.get((i, j))
        if v is None:
            v = seen[(i, j)] = cost.latency(i, j)
        return v

    runner = cost.runner
    found = replica_partition(n, num_devices, lat, lower=cost.lower_bound(),
                              host=runner.stage_ms,
                              serial=runner.stage_ms if runner.serial else 0.0,
                              max_stages=max_stages, max_replicas=max_replicas, known=seen)
    replicas = tuple(found.replicas)
    shape = ("one stage" if len(replicas) == 1 else f"{len(replicas)} stages") + (
        f", replicas {list(replicas)}" if any(r > 1 for r in replicas) else "")
    notes = [f"exact over cuts and replica counts on at most {num_devices} devices: {shape}"]
    return make_plan(name, graph, cost, found.cuts, timer, lower_bound_ms=found.value,
                     notes=notes, replicas=replicas if any(r > 1 for r in replicas) else ())


def pure_replicas(graph: Graph, num_devices: int, cost: CostSource) -> Plan:
    """The whole model on every one of ``num_devices`` devices, inputs dealt to whichever
    is free (no pipeline)."""
    timer = Timer(cost)
    return make_plan("replicas", graph, cost, (), timer,
                     notes=[f"the whole model on each of {num_devices} devices"],
                     replicas=(num_devices,) if num_devices > 1 else ())
