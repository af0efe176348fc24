"""Datasets, metrics, the GBT baseline, the Transformer and PredictorCost."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.predictor import (
    PredictorCost,
    evaluate,
    load_predictor,
    predictor_class,
)
from tpusplit.predictor.dataset import (
    Dataset,
    build_model,
    collect,
    decode_tokens,
    encode_tokens,
    model_specs,
    sample_spans,
)
from tpusplit.profiling.sources import cost_factory


class Analytic(CostSource):
    """Oracle labels: a known cost law (per-op compute, boundary bytes, an invoke cost)."""

    device = "analytic"

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        ops = self.graph.ops[start:end]
        t = sum(op.macs * (2e-9 if op.name == "CONV_2D" else 6e-9) + op.output_bytes * 1e-8
                for op in ops)
        return SegmentCost(start, end, 0.004 + 1e3 * t)


@pytest.fixture(scope="module")
def analytic_data() -> Dataset:
    specs = [s for s in model_specs(44, synthetic_every=0)]
    specs = [s + "-c8-i16" for s in specs]
    return collect(specs, Analytic, segments_per_model=12, seed=1)


def test_metrics_by_hand() -> None:
    m = evaluate(np.array([1.0, 2.2, 2.7, 4.0]), np.array([1.0, 2.0, 3.0, 5.0]))
    rel = np.array([0, 0.1, -0.1, -0.2])
    assert m.count == 4
    assert m.rmse_ms == pytest.approx(np.sqrt((0 + 0.04 + 0.09 + 1) / 4))
    assert m.rmspe == pytest.approx(np.sqrt(np.mean(rel ** 2)))
    assert m.mape == pytest.approx(0.1)
    assert m.within_10 == pytest.approx(0.75)  # 0, +10%, -10% in; -20% out
    assert m.within_5 == pytest.approx(0.25)
    with pytest.raises(ValueError):
        evaluate(np.ones(2), np.ones(3))


def test_sample_spans_are_distinct_valid_and_include_the_model() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 40):
        spans = sample_spans(n, 12, rng)
        assert (0, n) in spans
        assert len(spans) == len(set(spans)) == min(12, n * (n + 1) // 2)
        assert all(0 <= a < b <= n for a, b in spans)


def test_model_specs_build_and_bad_spec() -> None:
    specs = model_specs(20, first_seed=100)
    assert specs[0] == "nasbench-100" and specs[9].startswith("conv-")
    assert specs[19].startswith("fc-")
    assert len(load(build_model("nasbench-3-c8-i16")).ops) > 10
    with pytest.raises(TpusplitError, match="model spec"):
        build_model("resnet-5")
    with pytest.raises(TpusplitError, match="unknown device"):
        cost_factory("gpu")


def test_tokens_roundtrip_exactly() -> None:
    t = np.random.default_rng(0).normal(size=(7, 34)).astype(np.float32)
    assert np.array_equal(decode_tokens(encode_tokens(t)), t)


def test_dataset_csv_roundtrip(analytic_data: Dataset, tmp_path: Path) -> None:
    d = analytic_data.subset(range(30))
    d.save(tmp_path / "d.csv")
    back = Dataset.load(tmp_path / "d.csv")
    assert back.models == d.models and back.start == d.start and back.end == d.end
    assert np.array_equal(back.y, d.y) and np.array_equal(back.X, d.X)
    assert all(np.array_equal(a, b) for a, b in zip(back.tokens, d.tokens, strict=True))
    assert back.devices == ["analytic"] * 30


def test_dataset_parquet_roundtrip(analytic_data: Dataset, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    d = analytic_data.subset(range(10))
    d.save(tmp_path / "d.parquet")
    back = Dataset.load(tmp_path / "d.parquet")
    assert np.array_equal(back.y, d.y) and np.array_equal(back.X, d.X)


def test_bad_dataset_files(tmp_path: Path) -> None:
    with pytest.raises(TpusplitError, match="no such dataset"):
        Dataset.load(tmp_path / "none.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(TpusplitError, match="not a tpusplit dataset"):
        Dataset.load(bad)


def test_split_by_model_never_shares_a_model(analytic_data: Dataset) -> None:
    train, test = analytic_data.split_by_model(0.25, seed=3)
    assert len(train) + len(test) == len(analytic_data)
    assert not set(train.models) & set(test.models)
    assert len(set(test.models)) == 11


def test_gbt_learns_an_analytic_cost_law_on_unseen_models(analytic_data: Dataset,
                                                          tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    train, test = analytic_data.split_by_model(0.25)
    pred = predictor_class("gbt")().fit(train)
    m = evaluate(pred.predict(test), test.y)
    assert m.within_10 >= 0.9, m
    # a constant predictor (the oracle baseline) is far worse
    const = evaluate(np.full(len(test), np.median(train.y)), test.y)
    assert m.rmspe < const.rmspe / 5
    pred.save(tmp_path / "p.pkl")
    back = load_predictor(tmp_path / "p.pkl")
    assert back.kind == "gbt" and back.device == "analytic" and back.trained_on == len(train)
    assert np.array_equal(back.predict(test), pred.predict(test))


def test_predictor_cost_prefetch_equals_one_by_one(analytic_data: Dataset) -> None:
    pytest.importorskip("sklearn")
    pred = predictor_class("gbt")().fit(analytic_data)
    g: Graph = load(build_model("nasbench-500-c8-i16"))
    n = len(g.ops)
    one = PredictorCost(g, pred)
    batch = PredictorCost(g, pred)
    batch.prefetch_all()
    assert batch.evaluations == n * (n + 1) // 2 and not batch.measured
    assert batch.device == "predicted-analytic"
    for a, b in [(0, n), (0, 1), (n // 2, n), (3, 9)]:
        assert one.latency(a, b) == pytest.approx(batch.latency(a, b), rel=1e-9)
    assert batch.evaluations == n * (n + 1) // 2  # all cached
    # predictions track the oracle on this unseen-size model
    truth = Analytic(g)
    assert batch.latency(0, n) == pytest.approx(truth.latency(0, n), rel=0.2)


def test_bad_predictor_files(tmp_path: Path) -> None:
    with pytest.raises(TpusplitError, match="no such predictor"):
        load_predictor(tmp_path / "none.pkl")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(TpusplitError, match="not a tpusplit predictor"):
        load_predictor(junk)
    with pytest.raises(TpusplitError, match="unknown predictor kind"):
        predictor_class("svm")


def test_transformer_trains_and_roundtrips(analytic_data: Dataset, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    train, test = analytic_data.split_by_model(0.25)
    losses: list[float] = []
    pred = predictor_class("transformer")(epochs=25, d_model=32, threads=1)
    pred.fit(train, log=lambda epoch, loss: losses.append(loss))  # type: ignore[call-arg]
    assert losses[-1] < losses[0] / 5
    m = evaluate(pred.predict(test), test.y)
    const = evaluate(np.full(len(test), np.median(train.y)), test.y)
    assert m.rmspe < const.rmspe / 2, (m, const)
    pred.save(tmp_path / "t.pkl")
    back = load_predictor(tmp_path / "t.pkl")
    assert np.allclose(back.predict(test), pred.predict(test), rtol=1e-6)


def test_cpu_p10_labels_are_the_profilers_10th_percentile() -> None:
    g = load(build_model("nasbench-3-c8-i16"))
    cost = cost_factory("cpu-p10")(g)
    assert cost.device == "cpu-p10" and cost.measured
    ms = cost.latency(0, 4)
    m = cost.measurements[(0, 4)]  # type: ignore[attr-defined]
    assert ms == m.p10_ms and m.min_ms <= ms <= m.median_ms
