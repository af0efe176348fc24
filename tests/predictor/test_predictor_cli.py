"""``tpusplit predictor collect|train|eval`` end to end, and its one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.predictor.dataset import Dataset, collect, model_specs

Cli = Callable[..., tuple[int, str, str]]


class Analytic(CostSource):
    device = "analytic"

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return SegmentCost(start, end, 0.01 + 1e-6 * sum(op.macs for op in
                                                         self.graph.ops[start:end]))


def test_collect_on_the_cpu_then_train_and_eval(cli: Cli, tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    data = tmp_path / "cpu.csv"
    code, out, err = cli("predictor", "collect", "--models", "2", "--segments", "3",
                         "--synthetic-every", "0", "-o", data)
    assert code == 0, err
    assert "6 segments of 2 models on cpu" in out
    d = Dataset.load(data)
    assert len(d) == 6 and set(d.devices) == {"cpu"} and all(v > 0 for v in d.latency_ms)
    # train on analytic labels of other models, evaluate on them: the device must match
    train = tmp_path / "train.csv"
    collect([s + "-c8-i16" for s in model_specs(12, synthetic_every=0)], Analytic,
            segments_per_model=8).save(train)
    model = tmp_path / "p.pkl"
    code, out, err = cli("predictor", "train", train, "-o", model, "--holdout", "0.25")
    assert code == 0, err
    assert "gbt predictor trained on" in out and "within ±10%" in out
    code, out, err = cli("predictor", "eval", model, train, "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["segments"] == 96 and metrics["within_10"] > 0.8
    code, _, err = cli("predictor", "eval", model, data)
    assert code == 2 and "labels from cpu but the predictor was trained on analytic" in err


def test_cli_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    cases = [
        (("predictor", "collect", "--device", "gpu", "-o", tmp_path / "x.csv"),
         "unknown device 'gpu'"),
        (("predictor", "collect", "-o", tmp_path / "x.txt"), "expected a .csv or .parquet"),
        (("predictor", "collect", "-o", tmp_path / "no" / "x.csv"), "does not exist"),
        (("predictor", "train", tmp_path / "none.csv", "-o", tmp_path / "p.pkl"),
         "no such dataset file"),
        (("predictor", "train", tmp_path / "none.csv", "-o", tmp_path / "p.pkl", "--kind",
          "svm"), "unknown predictor kind 'svm'"),
        (("predictor", "eval", tmp_path / "none.pkl", tmp_path / "none.csv"),
         "no such predictor file"),
    ]
    for args, message in cases:
        code, out, err = cli(*args)
        assert code == 2, (args, out, err)
        assert message in err and err.startswith("error: ") and len(err.splitlines()) == 1
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "p.pkl").exists()
