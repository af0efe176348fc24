"""Plan: figures, JSON round trip, bad plan files, and --tpus auto."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from strategy_costs import MatrixCost

from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import fc
from tpusplit.strategies import Plan, auto, get, names, plan
from tpusplit.strategies.base import pipeline_time_ms


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return load(fc(32), name="fc32.tflite")


def _cost(graph, scale: float = 1.0) -> MatrixCost:  # type: ignore[no-untyped-def]
    n = len(graph.ops)
    lat = np.fromfunction(lambda i, j: scale * (j - i) + 0.5, (n + 1, n + 1))
    return MatrixCost(graph, lat)


def test_registry() -> None:
    assert names() == ["compiler", "profiled", "balanced", "optimal"] or set(
        ["compiler", "profiled", "balanced", "optimal"]) <= set(names())
    with pytest.raises(TpusplitError, match="unknown strategy 'nope'"):
        get("nope")


def test_plan_figures_and_json_round_trip(graph, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    p = plan(graph, 3, _cost(graph), "optimal")
    d = p.as_dict()
    for key in ("strategy", "device", "num_segments", "cuts", "segments", "bottleneck_ms",
                "time_per_inference_ms", "throughput_ips", "cost_evaluations",
                "solve_seconds"):
        assert key in d
    assert d["segments"][0]["ops"] == [0, p.cuts[0]]
    lats = [s.latency_ms for s in p.segments]
    assert p.time_per_inference_ms == pytest.approx(pipeline_time_ms(lats, p.batch))
    assert p.throughput_ips == pytest.approx(1000 / p.time_per_inference_ms)
    f = tmp_path / "plan.json"
    f.write_text(p.to_json())
    assert Plan.load(f) == p
    assert json.loads(f.read_text())["cuts"] == list(p.cuts)


@pytest.mark.parametrize("text, match", [
    ("{", "not JSON"), ("[1]", "JSON object"), ('{"cuts": [1]}', "missing field"),
    ('{"strategy": "x", "cuts": [3], "num_ops": 10, "time_per_inference_ms": 1, '
     '"segments": [{"ops": [0, 2], "latency_ms": 1}, {"ops": [2, 10], "latency_ms": 1}]}',
     "do not match"),
    ('{"strategy": "x", "cuts": [], "num_ops": 10, "time_per_inference_ms": 1, '
     '"segments": [{"ops": [0, 10], "latency_ms": 1, "link_ms": -1}]}', "link_ms must be"),
    ('{"strategy": "x", "cuts": [], "num_ops": 10, "time_per_inference_ms": 1, '
     '"segments": [{"ops": [0, 10], "latency_ms": 1, "link_ms": NaN}]}', "link_ms must be"),
    ('{"strategy": "x", "cuts": [], "num_ops": 10, "time_per_inference_ms": 1, '
     '"segments": [{"ops": [0, 10], "latency_ms": 1, "link_ms": "fast"}]}', "not a tpusplit"),
])
def test_bad_plan_files(tmp_path: Path, text: str, match: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(text)
    with pytest.raises(TpusplitError, match=match) as err:
        Plan.load(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(TpusplitError, match="no such file"):
        Plan.load(tmp_path / "missing.json")


def test_auto_picks_the_fewest_segments_within_5_percent(graph) -> None:  # type: ignore[no-untyped-def]
    res = auto(graph, _cost(graph), max_segments=6)
    best = max(p.throughput_ips for p in res.tried)
    assert res.plan.throughput_ips >= 0.95 * best
    assert all(p.throughput_ips < 0.95 * best for p in res.tried[: res.plan.num_segments - 1])
    low = auto(graph, _cost(graph), max_segments=6, target_ips=res.tried[1].throughput_ips)
    assert low.plan.num_segments <= 2 and low.target_reached
    high = auto(graph, _cost(graph), max_segments=3, target_ips=1e9)
    assert not high.target_reached and high.plan.throughput_ips == max(
        p.throughput_ips for p in high.tried)


def test_auto_skips_counts_the_strategy_cannot_plan() -> None:
    from tpusplit.models.random_net import random_net

    g = load(random_net(1))  # side output at op 14: the compiler rule allows at most 15 segments
    n = len(g.ops)
    cost = MatrixCost(g, np.fromfunction(lambda i, j: (j - i) + 0.5, (n + 1, n + 1)))
    res = auto(g, cost, "compiler", max_segments=20)
    assert [p.num_segments for p in res.tried] == list(range(1, g.output_ops[0] + 2))
