"""Pipelines built from a graph and cuts, checked against the whole model, and measured."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import pytest

from tpusplit.errors import TpusplitError
from tpusplit.graph import load, split
from tpusplit.pipeline import LiteRTStage
from tpusplit.pipeline.assemble import (
    build_pipeline,
    check_outputs,
    io_names,
    load_replicas,
    load_stages,
    random_feeds,
    whole_model,
)
from tpusplit.pipeline.litert import LiteRTBackend
from tpusplit.pipeline.measure import measure_pipeline
from tpusplit.pipeline.runner import StageError


def test_build_run_check_bit_exact(random_nets: list[bytes]) -> None:
    for data in random_nets[:3]:
        graph = load(data)
        n = len(graph.ops)
        cuts = [n // 3, 2 * n // 3]
        inputs = random_feeds(graph, 6, seed=1)
        with build_pipeline(graph, cuts) as pipe:
            assert pipe.output_names == tuple(io_names(graph)[1])
            results = list(pipe.run(inputs))
        check = check_outputs(data, inputs, results)
        assert check.ok and check.compared == 6
        assert check_outputs(whole_model(graph), inputs, results).ok


def test_replicated_pipeline_bit_exact_on_random_nets(random_nets: list[bytes]) -> None:
    """Replicas of the segments of branching nets (skip tensors, two outputs): bit-exact."""
    for data in random_nets[3:5]:
        graph = load(data)
        n = len(graph.ops)
        inputs = random_feeds(graph, 10, seed=2)
        with build_pipeline(graph, [n // 3, 2 * n // 3], replicas=[2, 1, 3],
                            queue_size=1) as pipe:
            results = list(pipe.run(inputs))
            assert [len(g) for g in pipe.replicas] == [2, 1, 3]
        check = check_outputs(data, inputs, results)
        assert check.ok and check.compared == 10


def test_load_replicas_numbers_devices_in_pipeline_order(conv_small: bytes) -> None:
    class Recorder(LiteRTBackend):
        def __init__(self) -> None:
            super().__init__()
            self.devices: list[int] = []
            self.prepared = 0

        def prepare(self, model: bytes) -> bytes:
            self.prepared += 1
            return model

        def load(self, model: bytes, device: int = 0) -> LiteRTStage:
            self.devices.append(device)
            return super().load(model, device)

    rec = Recorder()
    groups = load_replicas(load(conv_small), [2, 4], [1, 3, 2], rec)
    assert [len(g) for g in groups] == [1, 3, 2]
    assert rec.devices == [0, 1, 2, 3, 4, 5] and rec.prepared == 3
    with pytest.raises(TpusplitError, match="one count >= 1"):
        load_replicas(load(conv_small), [2, 4], [1, 0, 1])


def test_check_detects_a_wrong_result(fc_small: bytes) -> None:
    graph = load(fc_small)
    inputs = random_feeds(graph, 2)
    results = [LiteRTStage(fc_small).run(x) for x in inputs]
    assert check_outputs(fc_small, inputs, results).ok
    name = next(iter(results[1]))
    results[1] = {name: results[1][name] + np.int8(1)}
    check = check_outputs(fc_small, inputs, results)
    assert not check.ok and check.mismatches == [(1, name, 1.0)]
    assert check.as_dict()["bit_exact"] is False


def test_whole_model_reads_the_source_file(tmp_path: object, conv_small: bytes) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "m.tflite"
    path.write_bytes(conv_small)
    assert whole_model(load(path)) == conv_small
    assert load(whole_model(load(conv_small))).macs == load(conv_small).macs


def test_measure_pipeline_reports_timings_and_results(conv_small: bytes) -> None:
    graph = load(conv_small)
    stages = load_stages(graph, [2, 4])
    inputs = random_feeds(graph, 20)
    got: list[int] = []
    m = measure_pipeline(stages, inputs, outputs=io_names(graph)[1], keep_results=True,
                         progress=got.append)
    assert m.count == 20 and got == list(range(1, 21))
    assert len(m.latencies_ms) == 20 and all(x > 0 for x in m.latencies_ms)
    assert 0 < m.first_result_ms <= 1e3 * m.wall_s
    assert m.percentile(50) <= m.percentile(99)
    assert [s.items for s in m.stages] == [20, 20, 20]
    assert all(0 < u <= 1.0 for u in m.utilisation())
    assert m.ideal_throughput_ips() >= m.throughput_ips * 0.5
    assert check_outputs(conv_small, inputs, m.results).ok
    assert set(m.as_dict()) >= {"time_per_inference_ms", "first_result_ms", "latency_ms", "stages"}


class Slow:
    def __init__(self, delay: float, fail_on: int | None = None) -> None:
        self.input_names, self.output_names = ("x",), ("y",)
        self.delay, self.fail_on, self.calls = delay, fail_on, 0

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.calls += 1
        if self.calls - 1 == self.fail_on:
            raise RuntimeError("boom")
        time.sleep(self.delay)
        return {"y": feeds["x"]}


def test_measure_throughput_is_bounded_by_the_slowest_stage() -> None:
    m = measure_pipeline([Slow(0.004)], [{"x": np.zeros(1)}] * 25, warmup=0)
    assert m.time_per_inference_ms >= 4.0
    assert m.ideal_throughput_ips() == pytest.approx(1 / (m.stages[0].busy_s / 25))


def test_measure_raises_the_stage_error() -> None:
    with pytest.raises(StageError, match="stage 0 failed on input 3"):
        measure_pipeline([Slow(0.0, fail_on=3)], [{"x": np.zeros(1)}] * 10, warmup=0)


def test_segments_given_directly(conv_small: bytes) -> None:
    graph = load(conv_small)
    blobs = split(graph, [3])
    stages = load_stages(graph, [], segments=blobs)
    assert len(stages) == 2


def test_run_and_check_in_one_call(random_nets: list[bytes]) -> None:
    from tpusplit.pipeline import run_and_check

    graph = load(random_nets[2])
    n = len(graph.ops)
    m, check = run_and_check(graph, [n // 2], count=5)
    assert m.count == 5 and check is not None and check.ok and check.compared == 5
    m, check = run_and_check(graph, [n // 3, 2 * n // 3], count=3, check=False)
    assert m.count == 3 and check is None and m.results == []


def test_a_whole_model_litert_cannot_invoke_is_one_line(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The baseline of ``run`` (the whole model on one thread): an invoke failure is a
    one-line TpusplitError, not LiteRT's traceback."""
    from tpusplit.errors import TpusplitError
    from tpusplit.graph import load
    from tpusplit.models.synthetic import conv
    from tpusplit.pipeline import random_feeds
    from tpusplit.pipeline.litert import LiteRTStage
    from tpusplit.pipeline.measure import whole_model_ms

    def broken(self, feeds):  # type: ignore[no-untyped-def]
        raise RuntimeError("tensorflow/lite/kernels/reshape.cc:92 num_input_elements != "
                           "num_output_elements\nNode number 3 (RESHAPE) failed to prepare.")

    data = conv(8, size=8)
    feeds = random_feeds(load(data), 2)
    monkeypatch.setattr(LiteRTStage, "run", broken)
    with pytest.raises(TpusplitError, match="LiteRT cannot run it") as err:
        whole_model_ms(data, feeds)
    assert "\n" not in str(err.value)
