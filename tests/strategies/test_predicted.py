"""The predicted and hybrid strategies against brute force over every partition."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.models.nasbench import nasbench_net
from tpusplit.predictor import PREDICTOR_ENV, Predictor, PredictorCost
from tpusplit.predictor.encoding import SegmentEncoder
from tpusplit.strategies.hybrid import candidates, hybrid, plan_hybrid
from tpusplit.strategies.predicted import minmax_partition, plan_predicted, predicted


def _brute(lat: np.ndarray, stages: int) -> float:
    n = lat.shape[0] - 1
    return min(max(lat[a, b] for a, b in itertools.pairwise((0, *c, n)))
               for c in itertools.combinations(range(1, n), stages - 1))


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 9), st.integers(1, 4), st.integers(0, 2**31))
def test_minmax_partition_is_optimal(n: int, stages: int, seed: int) -> None:
    stages = min(stages, n)
    rng = np.random.default_rng(seed)
    lat = np.full((n + 1, n + 1), np.inf)
    for a in range(n):
        for b in range(a + 1, n + 1):
            lat[a, b] = rng.uniform(0.1, 10)  # arbitrary, not even monotone
    cuts, best = minmax_partition(lat, stages)
    assert len(cuts) == stages - 1 and all(0 < c < n for c in cuts)
    assert cuts == sorted(set(cuts))
    achieved = max(lat[a, b] for a, b in itertools.pairwise((0, *cuts, n)))
    assert achieved == pytest.approx(best)
    assert best == pytest.approx(_brute(lat, stages))


def test_minmax_partition_rejects_too_many_stages() -> None:
    with pytest.raises(TpusplitError, match="non-empty"):
        minmax_partition(np.zeros((4, 4)), 4)


class Analytic(CostSource):
    """The 'device': an additive cost law with a per-invoke cost (the oracle)."""

    device = "analytic"
    measured = True

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        ops = self.graph.ops[start:end]
        return SegmentCost(start, end, 0.01 + sum(1e-6 * op.macs + 1e-5 * op.output_bytes
                                                  for op in ops))


class Oracle(Predictor):
    """A predictor that knows the device's law, scaled and optionally noisy."""

    kind = "oracle"

    def __init__(self, scale: float = 1.0, noise: float = 0.0) -> None:
        super().__init__()
        self.scale, self.noise = scale, noise
        self.device = "analytic"

    def fit(self, data: Any) -> Oracle:
        return self

    def predict_spans(self, graph: Graph | SegmentEncoder,
                      spans: Sequence[tuple[int, int]]) -> np.ndarray:
        g = graph.graph if isinstance(graph, SegmentEncoder) else graph
        truth = Analytic(g)
        rng = np.random.default_rng(len(spans))
        return np.array([truth.latency(a, b) * self.scale
                         * (1 + self.noise * rng.uniform(-1, 1)) for a, b in spans])

    def _predict(self, vectors: np.ndarray, tokens: Sequence[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> Oracle:
        return cls()


@pytest.fixture(scope="module", params=[7, 11])
def graph(request: pytest.FixtureRequest) -> Graph:
    return load(nasbench_net(request.param, size=16, channels=8))


def _truth_matrix(g: Graph) -> np.ndarray:
    n = len(g.ops)
    cost = Analytic(g)
    lat = np.full((n + 1, n + 1), np.inf)
    for a in range(n):
        for b in range(a + 1, n + 1):
            lat[a, b] = cost.latency(a, b)
    return lat


@pytest.mark.parametrize("stages", [2, 3])
def test_predicted_with_an_exact_predictor_is_optimal(graph: Graph, stages: int) -> None:
    plan = plan_predicted(graph, stages, Oracle())
    n = len(graph.ops)
    assert plan.predictions == (2 * n - 1 if stages == 2 else n * (n + 1) // 2)
    lat = _truth_matrix(graph)
    best = _brute(lat, stages) if stages == 2 else minmax_partition(lat, stages)[1]
    assert plan.predicted_bottleneck_ms == pytest.approx(best)


@pytest.mark.parametrize("stages", [2, 3, 4])
def test_hybrid_with_a_biased_predictor_profiles_little_and_is_optimal(
        graph: Graph, stages: int) -> None:
    cost = Analytic(graph)
    # a device-wide bias (2x) is calibrated away by the measured/predicted ratio
    plan = plan_hybrid(graph, stages, Oracle(scale=2.0), cost)
    assert plan.profiling_runs == cost.evaluations <= 3 * stages
    truth = _truth_matrix(graph)
    measured = max(truth[a, b] for a, b in itertools.pairwise((0, *plan.cuts, len(graph.ops))))
    assert plan.bottleneck_ms == pytest.approx(measured)
    assert measured == pytest.approx(minmax_partition(truth, stages)[1])


def test_hybrid_with_a_noisy_predictor_stays_close(graph: Graph) -> None:
    cost = Analytic(graph)
    plan = plan_hybrid(graph, 2, Oracle(noise=0.1), cost, budget=10)
    assert cost.evaluations <= 10
    best = _brute(_truth_matrix(graph), 2)
    assert plan.bottleneck_ms <= best * 1.1
    # the predicted plan alone can be worse, never better than the optimum
    alone = plan_predicted(graph, 2, Oracle(noise=0.1))
    truth = _truth_matrix(graph)
    (k,) = alone.cuts
    assert max(truth[0, k], truth[k, len(graph.ops)]) >= best - 1e-12


def test_candidates() -> None:
    assert candidates(5, 2, [2], 1) == [(1,), (2,), (3,), (4,)]
    c = candidates(10, 3, [3, 6], 1)
    assert (3, 6) in c and (2, 5) in c and (4, 7) in c and len(c) == 9
    assert all(0 < x < y < 10 for x, y in c)
    assert candidates(3, 3, [1, 2], 2) == [(1, 2)]


def test_registry_entries_return_plans(graph: Graph) -> None:
    n = len(graph.ops)
    pcost = PredictorCost(graph, Oracle(scale=3.0))
    plan = predicted(graph, 3, pcost)
    assert plan.strategy == "predicted" and plan.num_segments == 3
    assert plan.device == "predicted-analytic"
    truth = _truth_matrix(graph)
    assert plan.bottleneck_ms == pytest.approx(3.0 * minmax_partition(truth, 3)[1])
    # hybrid needs the measuring source plus a predictor found for its device
    cost = Analytic(graph)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("tpusplit.strategies.predicted.find_predictor",
                   lambda device: Oracle(scale=0.5))
        h = hybrid(graph, 2, cost)
    assert h.strategy == "hybrid" and h.cost_evaluations == cost.evaluations <= 6
    assert h.bottleneck_ms == pytest.approx(_brute(truth, 2))
    assert h.segments[-1].end == n


def test_missing_predictor_is_a_one_line_error(graph: Graph, tmp_path: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PREDICTOR_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(TpusplitError, match="no latency predictor for device 'analytic'"):
        predicted(graph, 2, Analytic(graph))
    monkeypatch.setenv(PREDICTOR_ENV, str(tmp_path / "nope.pkl"))
    with pytest.raises(TpusplitError, match="no such predictor file"):
        hybrid(graph, 2, Analytic(graph))


class AnalyticModel(Analytic):
    """The same law as a model (not a measurement): the plan's figures come from it."""

    measured = False


def test_predicted_on_a_model_reports_the_models_figures(graph: Graph,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tpusplit.strategies.predicted.find_predictor",
                        lambda device: Oracle(scale=3.0))
    cost = AnalyticModel(graph)
    plan = predicted(graph, 3, cost)
    truth = _truth_matrix(graph)
    assert plan.device == "analytic" and plan.cost_evaluations == 3 == cost.evaluations
    assert plan.bottleneck_ms == pytest.approx(minmax_partition(truth, 3)[1])
    # a measuring source is never run by `predicted`
    measuring = Analytic(graph)
    plan = predicted(graph, 3, measuring)
    assert measuring.evaluations == 0 and plan.device == "predicted-analytic"


@pytest.mark.parametrize(("device", "rows", "message"), [
    ("edgetpu-usb3", 5000, "trained on edgetpu-usb3 measurements, not cpu"),
    ("cpu", 2, r"trained on 2 segment\(s\)"),
])
def test_a_predictor_for_another_device_or_two_rows_is_refused(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, device: str, rows: int,
        message: str) -> None:
    from tpusplit.errors import TpusplitError
    from tpusplit.predictor import base

    oracle = Oracle()
    oracle.device, oracle.trained_on = device, rows
    (tmp_path / "p.pkl").write_bytes(b"x")
    monkeypatch.setenv(PREDICTOR_ENV, str(tmp_path / "p.pkl"))
    monkeypatch.setattr(base, "load_predictor", lambda path: oracle)
    with pytest.raises(TpusplitError, match=message):
        base.find_predictor("cpu")
