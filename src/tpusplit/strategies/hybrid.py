"""The ``hybrid`` strategy: a predictor narrows the search, profiling decides among finalists.

The prediction-plus-profiling partitioner of Zou et al. (MILCOM 2024), made concrete as a
best-first search. Candidates are partitions near the predicted optimum (every cut for 2
stages; each cut moved by at most ``radius`` ops for more). Each candidate's bottleneck is
estimated with measured latencies where a segment was profiled and calibrated predictions
elsewhere (predictions times the median measured/predicted ratio seen so far, which absorbs a
device-wide bias). Repeatedly take the candidate with the lowest estimate and profile its
unmeasured segments; stop when the best candidate is fully measured (its bottleneck is then
known and no other candidate is estimated lower) or the profiling budget is spent, and return
the best fully measured candidate.

Complexity: n(n+1)/2 predictions, O(C N) per step for C candidates, and at most ``budget``
profiling runs (typically the N segments of 1-3 finalists).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.partition import spans
from tpusplit.predictor import Predictor, PredictorCost
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan
from tpusplit.strategies.predicted import latency_matrix, minmax_partition, resolve_predictor


@dataclass(frozen=True)
class HybridPlan:
    """Chosen cuts, their measured bottleneck, and the cost of solving."""

    cuts: tuple[int, ...]
    bottleneck_ms: float
    predicted_bottleneck_ms: float
    candidates: int
    profiling_runs: int
    predictions: int
    seconds: float


def candidates(n: int, stages: int, center: list[int], radius: int) -> list[tuple[int, ...]]:
    """Cut tuples to consider: all single cuts for 2 stages, else every strictly increasing
    tuple with each cut within ``radius`` of ``center``."""
    if stages == 1:
        return [()]
    if stages == 2:
        return [(k,) for k in range(1, n)]
    ranges = [range(max(1, c - radius), min(n - 1, c + radius) + 1) for c in center]
    return [c for c in itertools.product(*ranges)
            if all(x < y for x, y in itertools.pairwise(c))]


def plan_hybrid(graph: Graph, stages: int, predictor: Predictor, cost: CostSource,
                radius: int = 3, budget: int | None = None) -> HybridPlan:
    """Cuts of ``graph`` into ``stages``, chosen by prediction and confirmed by profiling.

    ``cost`` is the measuring cost source (its ``evaluations`` count the profiling runs);
    ``budget`` caps them (default: 3 finalists, ``3 * stages``).
    """
    t0 = time.perf_counter()
    n = len(graph.ops)
    if not 1 <= stages <= n:
        raise TpusplitError(f"{graph.source}: cannot cut {n} ops into {stages} stages")
    budget = 3 * stages if budget is None else budget
    pcost = PredictorCost(graph, predictor)
    lat = latency_matrix(pcost, stages if stages <= 2 else None)
    center, predicted = minmax_partition(lat, stages)
    cands = candidates(n, stages, center, radius)
    segments = [spans(n, c) for c in cands]
    start = cost.evaluations
    measured: dict[tuple[int, int], float] = {}
    while True:
        ratio = (float(np.median([measured[s] / lat[s] for s in measured]))
                 if measured else 1.0)
        est = [max(measured.get(s, ratio * lat[s]) for s in sp) for sp in segments]
        best = int(np.argmin(est))
        todo = [s for s in segments[best] if s not in measured]
        if not todo or cost.evaluations - start + len(todo) > budget:
            break
        cost.prefetch(todo)  # a candidate's segments at once (several devices in parallel)
        for s in todo:
            measured[s] = cost.latency(*s)
    done = [i for i, sp in enumerate(segments) if all(s in measured for s in sp)]
    if not done:  # budget smaller than one candidate: fall back to the predicted optimum
        done = [cands.index(tuple(center))]
        for s in segments[done[0]]:
            measured[s] = cost.latency(*s)
    final = min(done, key=lambda i: max(measured[s] for s in segments[i]))
    return HybridPlan(
        cuts=cands[final],
        bottleneck_ms=max(measured[s] for s in segments[final]),
        predicted_bottleneck_ms=predicted,
        candidates=len(cands),
        profiling_runs=cost.evaluations - start,
        predictions=pcost.evaluations,
        seconds=time.perf_counter() - t0,
    )


def hybrid(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """Registry entry: predictor-narrowed search, profiling finalists on ``cost``.

    Uses the predictor trained for ``cost.device`` (see
    :func:`tpusplit.predictor.find_predictor`); ``cost_evaluations`` are profiling runs.
    """
    check_num_segments(graph, num_segments)
    predictor = resolve_predictor(cost)
    timer = Timer(cost)
    result = plan_hybrid(graph, num_segments, predictor, cost)
    return make_plan("hybrid", graph, cost, result.cuts, timer,
                     notes=(f"{result.predictions} predicted segments, {result.candidates} "
                            f"candidates, {result.profiling_runs} profiling runs",))
