"""The profiler cost source: real timings, counted runs, the (model, start, end, device) cache."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import Backend, LiteRTBackend, LiteRTStage, random_inputs
from tpusplit.profiling.cpu import ProfilerCost, model_digest


class CountingStage:
    def __init__(self, inner: LiteRTStage, log: list[str]) -> None:
        self.inner, self.log = inner, log
        self.input_names, self.output_names = inner.input_names, inner.output_names

    def input_spec(self, name: str) -> Any:
        return self.inner.input_spec(name)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.log.append("run")
        return self.inner.run(feeds)


class CountingBackend(Backend):
    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.log: list[str] = []

    def prepare(self, model: bytes) -> bytes:
        self.log.append("prepare")
        return model

    def load(self, model: bytes, device: int = 0) -> CountingStage:
        self.log.append("load")
        return CountingStage(LiteRTStage(model), self.log)


@pytest.fixture(scope="module")
def graph() -> Any:
    return load(conv(24, layers=4, size=32))


def test_defaults_and_identity(graph: Any) -> None:
    cost = ProfilerCost(graph)
    assert cost.measured and cost.device == "cpu" and cost.device_key == "cpu"
    assert ProfilerCost(graph, LiteRTBackend(2)).device_key == "cpux2"
    assert model_digest(graph) == model_digest(load(conv(24, layers=4, size=32)))
    assert model_digest(graph) != model_digest(load(conv(25, layers=4, size=32)))


def test_runs_are_counted_and_cached(graph: Any) -> None:
    be = CountingBackend()
    cost = ProfilerCost(graph, be, warmup=2, repeats=5, min_seconds=0)
    c = cost.segment(1, 3)
    assert be.log == ["prepare", "load"] + ["run"] * 7
    m = cost.measurements[(1, 3)]
    assert m.runs == 5 and m.min_ms <= m.p10_ms <= m.median_ms <= m.p90_ms
    assert c.latency_ms == m.median_ms and c.on_chip_bytes == 0 and c.fits
    cost.segment(1, 3)
    assert len(be.log) == 9 and cost.evaluations == 1
    with pytest.raises(IndexError):
        cost.segment(3, 3)


def test_latencies_agree_with_independent_timing(graph: Any) -> None:
    """Whole-model latency vs timing the original model directly; a prefix vs the whole."""
    n = len(graph.ops)
    cost = ProfilerCost(graph, repeats=15)
    whole = LiteRTStage(conv(24, layers=4, size=32))
    feeds = random_inputs(whole)
    for _ in range(3):
        whole.run(feeds)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        whole.run(feeds)
        times.append(1e3 * (time.perf_counter() - t0))
    direct = float(np.median(times))
    measured = cost.latency(0, n)
    assert 0.5 * direct < measured < 2.0 * direct
    assert cost.latency(0, 1) < 0.5 * measured  # QUANTIZE alone vs QUANTIZE + 4 convs
    parts = cost.latency(0, 3) + cost.latency(3, n)
    assert 0.5 * measured < parts < 2.0 * measured


def test_disk_cache_by_model_segment_and_device(graph: Any, tmp_path: Path) -> None:
    path = tmp_path / "sub" / "profile.json"
    be = CountingBackend()
    first = ProfilerCost(graph, be, warmup=0, repeats=2, min_seconds=0, cache_path=path)
    a = first.latency(0, 2)
    data = json.loads(path.read_text())
    assert list(data["entries"]) == [f"{first.digest}:0:2:fake"]
    be2 = CountingBackend()
    again = ProfilerCost(graph, be2, warmup=0, repeats=2, cache_path=path)
    assert again.latency(0, 2) == a and be2.log == [] and again.disk_hits == 1
    again.latency(2, 4)  # new segment: measured and merged into the file
    assert len(json.loads(path.read_text())["entries"]) == 2
    other = CountingBackend("other-device")
    ProfilerCost(graph, other, warmup=0, repeats=2, cache_path=path).latency(0, 2)
    assert "load" in other.log
    other_model = load(conv(12, layers=4, size=32))
    be3 = CountingBackend()
    ProfilerCost(other_model, be3, warmup=0, repeats=2, cache_path=path).latency(0, 2)
    assert "load" in be3.log
    assert len(json.loads(path.read_text())["entries"]) == 4


def test_bad_cache_and_arguments(graph: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    with pytest.raises(TpusplitError, match=r"bad\.json: not a tpusplit profiler cache"):
        ProfilerCost(graph, cache_path=bad)
    with pytest.raises(TpusplitError, match="repeats"):
        ProfilerCost(graph, repeats=0)
    with pytest.raises(TpusplitError, match="statistic 'mean'"):
        ProfilerCost(graph, statistic="mean")


def test_statistic_picks_the_reported_latency(graph: Any) -> None:
    for stat, field in (("median", "median_ms"), ("p10", "p10_ms"), ("min", "min_ms")):
        cost = ProfilerCost(graph, warmup=0, repeats=5, min_seconds=0, statistic=stat)
        assert cost.latency(0, 3) == getattr(cost.measurements[(0, 3)], field)


def test_cpu_devices_plan_with_the_profiler(graph: Any) -> None:
    from tpusplit.profiling.sources import make_cost

    for device, statistic in (("cpu", "median"), ("cpu-p10", "p10")):
        cost = make_cost(graph, device)
        assert isinstance(cost, ProfilerCost) and cost.measured
        assert (cost.device, cost.statistic) == (device, statistic)


def test_clear_remeasures_without_a_cache_file() -> None:
    from tpusplit.graph import load
    from tpusplit.models.synthetic import conv
    from tpusplit.profiling.cpu import ProfilerCost

    cost = ProfilerCost(load(conv(4, layers=2, size=8)), warmup=0, repeats=2)
    calls: list[tuple[int, int]] = []
    measure = cost.measure

    def counting(start: int, end: int):  # type: ignore[no-untyped-def]
        calls.append((start, end))
        return measure(start, end)

    cost.measure = counting  # type: ignore[method-assign]
    cost.latency(0, 2)
    cost.clear()
    cost.latency(0, 2)
    assert calls == [(0, 2), (0, 2)] and cost.evaluations == 1 and cost.seconds > 0
