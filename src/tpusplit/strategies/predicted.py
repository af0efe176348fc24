"""The ``predicted`` strategy: plan with a learned latency predictor, no profiling at all.

The prediction-only partitioner of Zou et al. (MILCOM 2024): replace every segment
measurement of a profiling-based partitioner by a predicted latency. Because predictions are
cheap and batched, all n(n+1)/2 contiguous segments are predicted at once and the exact
min-max partition of the chain under the predicted costs is solved by
:func:`tpusplit.partition.minmax` (chains-on-chains, Pinar & Aykanat, JPDC 2004; O(n^2 N)
numpy time for n ops and N stages).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.partition import minmax
from tpusplit.predictor import Predictor, PredictorCost, find_predictor
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan


def needed_spans(n: int, stages: int) -> list[tuple[int, int]]:
    """The segments a min-max partition of ``n`` ops into ``stages`` can use: prefixes and
    suffixes for 2 stages (2n - 1), the whole model for 1, every segment otherwise."""
    if stages == 1:
        return [(0, n)]
    if stages == 2:
        return [(0, k) for k in range(1, n + 1)] + [(k, n) for k in range(1, n)]
    return [(a, b) for a in range(n) for b in range(a + 1, n + 1)]


def latency_matrix(cost: PredictorCost, stages: int | None = None) -> np.ndarray:
    """``L[a, b]`` = predicted latency (ms) of ops ``[a, b)``; ``inf`` where not predicted.

    Predicts in one batch the segments a ``stages``-way partition can use (all when None).
    """
    return cost.matrix(needed_spans(len(cost.graph.ops), stages if stages is not None else 3))


def minmax_partition(lat: np.ndarray, stages: int) -> tuple[list[int], float]:
    """Cuts minimising the largest segment cost of a chain, and that bottleneck.

    ``lat[a, b]`` is the cost of segment ``[a, b)`` (``inf`` where ``b <= a`` or not
    predicted); ``stages`` non-empty segments cover ``[0, n)``. Every cost is known, so it is
    its own lower bound for :func:`tpusplit.partition.minmax`. O(N n^2) numpy time.
    """
    n = lat.shape[0] - 1
    if not 1 <= stages <= n:
        raise TpusplitError(f"cannot cut {n} ops into {stages} non-empty stages")
    found = minmax(n, stages, lambda a, b: float(lat[a, b]), lower=lambda a, b: lat[a, b])
    return list(found.cuts), found.value


@dataclass(frozen=True)
class PredictedPlan:
    """Cuts chosen on predicted costs, the predicted bottleneck and what solving cost."""

    cuts: tuple[int, ...]
    predicted_bottleneck_ms: float
    predictions: int
    seconds: float


def plan_predicted(graph: Graph, stages: int, predictor: Predictor) -> PredictedPlan:
    """Optimal cuts of ``graph`` into ``stages`` under ``predictor``'s latencies.

    No measurement at all. Complexity: n(n+1)/2 predictions (2n - 1 for 2 stages) in one
    batch, plus O(n^2 N).
    """
    import time

    t0 = time.perf_counter()
    cost = PredictorCost(graph, predictor)
    cuts, bottleneck = minmax_partition(latency_matrix(cost, stages), stages)
    return PredictedPlan(tuple(cuts), bottleneck, cost.evaluations,
                         time.perf_counter() - t0)


def resolve_predictor(cost: CostSource) -> Predictor:
    """The predictor to plan with: ``cost``'s own when it is a :class:`PredictorCost`, else
    the predictor trained for ``cost.device`` (:func:`find_predictor`)."""
    if isinstance(cost, PredictorCost):
        return cost.predictor
    return find_predictor(cost.device)


def predicted(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """Registry entry: choose the cuts on predicted latencies only.

    When ``cost`` is a model (``measured`` false), the chosen plan's figures are evaluated on
    it, so tables compare like with like. When it measures (a profiler), it is never run: the
    figures are the predictions (the plan's device reads ``predicted-<device>``) and
    ``cost_evaluations`` counts predicted segments, with no profiling run.
    """
    check_num_segments(graph, num_segments)
    predictor = resolve_predictor(cost)
    pcost = cost if isinstance(cost, PredictorCost) else PredictorCost(graph, predictor)
    timer = Timer(pcost)
    cuts, _ = minmax_partition(latency_matrix(pcost, num_segments), num_segments)
    note = (f"cuts chosen on {pcost.evaluations} predicted segments (predictor trained on "
            f"{predictor.device}); 0 profiling runs")
    if cost.measured or cost is pcost:
        return make_plan("predicted", graph, pcost, cuts, timer,
                         notes=(note + "; latencies are predictions",))
    seconds = timer.seconds
    timer.stop()
    plan = make_plan("predicted", graph, cost, cuts, Timer(cost), notes=(note,))
    return replace(plan, solve_seconds=seconds)
