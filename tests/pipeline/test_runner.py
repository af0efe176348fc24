"""Tests of the threaded pipeline runner: wiring, order, bit-exactness, failure semantics."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.errors import TpusplitError
from tpusplit.graph import load, split
from tpusplit.pipeline import LiteRTStage, random_inputs, run_sequential
from tpusplit.pipeline.runner import Pipeline, PipelineError, StageError, wire


class Fake:
    """A stage computing ``out = in + add``; raises on input ``fail_on``; sleeps ``delay`` s."""

    def __init__(self, src: str, dst: str, add: int = 1, fail_on: int | None = None,
                 delay: float = 0.0, extra: tuple[str, ...] = ()) -> None:
        self.input_names = (src, *extra)
        self.output_names = (dst,)
        self.src, self.dst, self.add = src, dst, add
        self.fail_on, self.delay = fail_on, delay
        self.calls = 0

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        k = self.calls
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        if k == self.fail_on:
            raise ValueError(f"injected fault on call {k}")
        return {self.dst: feeds[self.src] + self.add}


def chain(n: int, **kw: dict[int, dict[str, object]]) -> list[Fake]:
    faults = kw.get("faults", {})
    return [Fake(f"t{i}", f"t{i + 1}", add=i + 1, **faults.get(i, {})) for i in range(n)]


def feeds(k: int) -> dict[str, np.ndarray]:
    return {"t0": np.array([k])}


def test_wire_carries_skip_tensors_and_finds_outputs() -> None:
    a = Fake("x", "a")
    b = Fake("a", "b")
    c = Fake("b", "c", extra=("a", "x"))
    w = wire([a, b, c])
    assert w.inputs == ("x",)
    assert w.outputs == ("c",)
    assert "a" in w.carry[1] and "x" in w.carry[1] and "x" in w.carry[0]
    assert "b" not in w.carry[2]
    with Pipeline([a, b, c]) as p:
        out = list(p.run([{"x": np.array([v])} for v in range(5)]))
    assert [int(o["c"][0]) for o in out] == [v + 3 for v in range(5)]


def test_wire_rejects_unknown_output_and_empty() -> None:
    with pytest.raises(PipelineError, match="produced by no stage"):
        wire([Fake("x", "a")], outputs=["zzz"])
    with pytest.raises(PipelineError, match="at least one stage"):
        wire([])


def test_order_and_values_with_uneven_stages() -> None:
    stages = chain(3, faults={1: {"delay": 0.002}})
    with Pipeline(stages, queue_size=1) as p:
        out = list(p.run(feeds(k) for k in range(40)))
    assert [int(o["t3"][0]) for o in out] == [k + 6 for k in range(40)]
    assert [s.items for s in p.stats] == [40, 40, 40]
    assert p.stats[1].busy_s >= 40 * 0.002 * 0.9
    assert p.stats[0].blocked_s > 0  # back-pressure from the slow stage


def test_push_pop_like_coral() -> None:
    with Pipeline(chain(2)) as p:
        for k in range(3):
            p.push(feeds(k))
        assert p.pending == 3
        p.push(None)
        got = [p.pop() for _ in range(4)]
        assert [int(g["t2"][0]) for g in got[:3] if g is not None] == [3, 4, 5]
        assert got[3] is None and p.pop() is None
        with pytest.raises(PipelineError, match="end of input"):
            p.push(feeds(9))


def test_missing_input_is_a_clear_error_and_pipeline_survives() -> None:
    with Pipeline(chain(2)) as p:
        with pytest.raises(PipelineError, match="no value for pipeline input 't0'"):
            p.push({"other": np.zeros(1)})
        with pytest.raises(PipelineError, match="nothing pending"):
            p.pop()
        p.push(feeds(1))
        assert p.pop() is not None


@pytest.mark.parametrize("stage", [0, 1, 2])
@pytest.mark.parametrize("k", [0, 5, 19])
def test_fault_in_stage_keeps_earlier_results_and_reports_stage(stage: int, k: int) -> None:
    stages = chain(3, faults={stage: {"fail_on": k}, 1: {"delay": 0.001}}
                   if stage != 1 else {1: {"fail_on": k, "delay": 0.001}})
    got: list[int] = []
    with Pipeline(stages, queue_size=2) as p:
        with pytest.raises(StageError) as info:
            for o in p.run(feeds(j) for j in range(30)):
                got.append(int(o["t3"][0]))
        assert info.value.stage == stage and info.value.item == k
        assert isinstance(info.value.cause, ValueError)
        assert f"stage {stage} failed on input {k}" in str(info.value)
        assert isinstance(info.value, TpusplitError)
        with pytest.raises(StageError):  # the error sticks
            p.push(feeds(0))
    assert got == [j + 6 for j in range(k)]  # nothing lost, nothing reordered
    assert p.alive == 0  # nothing hangs


def test_fault_with_push_pop_delivers_earlier_results_first() -> None:
    with Pipeline(chain(2, faults={1: {"fail_on": 2}}), queue_size=8) as p:
        for k in range(6):
            p.push(feeds(k))
        time.sleep(0.05)
        with pytest.raises(StageError):
            p.push(feeds(6))
        assert int(p.pop()["t2"][0]) == 3  # type: ignore[index]
        assert int(p.pop()["t2"][0]) == 4  # type: ignore[index]
        with pytest.raises(StageError, match="stage 1 failed on input 2"):
            p.pop()
        with pytest.raises(StageError):
            p.pop()


def test_earliest_failing_input_wins_when_two_stages_fail() -> None:
    # stage 0 fails on input 6; stage 2 (slow) fails on input 1, which came earlier.
    stages = chain(3, faults={0: {"fail_on": 6}, 2: {"fail_on": 1, "delay": 0.01}})
    with Pipeline(stages, queue_size=8) as p, pytest.raises(StageError) as info:
        list(p.run(feeds(j) for j in range(10)))
    assert (info.value.stage, info.value.item) == (2, 1)


def test_close_stops_a_busy_pipeline_without_hanging() -> None:
    p = Pipeline(chain(3, faults={2: {"delay": 0.02}}), queue_size=1)
    errors: list[BaseException] = []

    def pusher() -> None:
        try:
            for k in range(1000):
                p.push(feeds(k))
        except PipelineError as exc:
            errors.append(exc)

    thread = threading.Thread(target=pusher, daemon=True)
    t0 = time.perf_counter()
    thread.start()
    time.sleep(0.1)
    p.close()  # the pusher is blocked on a full queue: close() must release it
    thread.join(2)
    assert not thread.is_alive() and p.alive == 0
    assert time.perf_counter() - t0 < 2
    assert len(errors) == 1 and "closed" in str(errors[0])
    with pytest.raises(PipelineError, match="closed"):
        p.push(feeds(0))
    with pytest.raises(PipelineError, match="closed"):
        p.pop()


def test_keyboard_interrupt_in_consumer_closes_cleanly() -> None:
    p = Pipeline(chain(2, faults={0: {"delay": 0.005}}))
    with pytest.raises(KeyboardInterrupt), p:
        for n, _ in enumerate(p.run(feeds(k) for k in range(100))):
            if n == 3:
                raise KeyboardInterrupt
    assert p.alive == 0


def test_pop_timeout() -> None:
    with Pipeline(chain(1, faults={0: {"delay": 0.2}})) as p:
        p.push(feeds(0))
        with pytest.raises(PipelineError, match="no result within"):
            p.pop(timeout=0.05)


def test_pinning_to_cores_where_allowed() -> None:
    with Pipeline(chain(2), cores=[0, 0]) as p:
        assert [int(o["t2"][0]) for o in p.run(feeds(k) for k in range(4))] == [3, 4, 5, 6]
    assert all(p.pinned)
    with pytest.raises(PipelineError, match="core"):
        Pipeline(chain(2), cores=[0])


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), items=st.integers(0, 25), qs=st.integers(1, 3),
       fault=st.one_of(st.none(), st.tuples(st.integers(0, 3), st.integers(0, 25))))
def test_property_results_are_a_prefix_in_order(n: int, items: int, qs: int,
                                                fault: tuple[int, int] | None) -> None:
    faults = {}
    if fault is not None and fault[0] < n:
        faults = {fault[0]: {"fail_on": fault[1]}}
    got: list[int] = []
    with Pipeline(chain(n, faults=faults), queue_size=qs) as p:
        try:
            for o in p.run(feeds(j) for j in range(items)):
                got.append(int(o[f"t{n}"][0]))
            failed_at = None
        except StageError as e:
            failed_at = e.item
    offset = n * (n + 1) // 2
    expected_len = items if failed_at is None else failed_at
    assert got == [j + offset for j in range(expected_len)]
    if faults and fault is not None and fault[1] < items:
        assert failed_at == fault[1]
    assert p.alive == 0


def test_real_litert_segments_bit_exact_with_whole_model(random_nets: list[bytes]) -> None:
    data = random_nets[1]
    graph = load(data)
    n = len(graph.ops)
    cuts = [n // 4, n // 2, 3 * n // 4]
    stages = [LiteRTStage(b) for b in split(graph, cuts)]
    whole = LiteRTStage(data)
    inputs = [random_inputs(whole, seed=s) for s in range(12)]
    names = [graph.tensors[t].name for t in graph.outputs]
    with Pipeline(stages, outputs=names) as p:
        results = list(p.run(inputs))
    assert len(results) == len(inputs)
    for x, got in zip(inputs, results, strict=True):
        want = whole.run(x)
        ref = run_sequential(stages, x)
        for k, v in want.items():
            assert np.array_equal(got[k], v) and np.array_equal(ref[k], v)


def test_run_streams_results_from_an_endless_slow_source() -> None:
    pulled: list[int] = []

    def source():  # type: ignore[no-untyped-def]
        k = 0
        while True:
            time.sleep(0.01)
            pulled.append(k)
            yield feeds(k)
            k += 1

    with Pipeline(chain(2), queue_size=4) as p:
        it = p.run(source())
        first = next(it)
        assert int(first["t2"][0]) == 3
        assert len(pulled) <= 3  # yielded as soon as ready, not after filling the queues
        rest = [int(next(it)["t2"][0]) for _ in range(4)]
    assert rest == [4, 5, 6, 7] and p.alive == 0


def test_pop_in_a_consumer_thread_waits_for_the_producer() -> None:
    got: list[int] = []
    with Pipeline(chain(2)) as p:
        consumer = threading.Thread(target=lambda: got.extend(
            int(r["t2"][0]) for r in iter(p.pop, None)))
        consumer.start()  # pops before anything was pushed: must wait, not fail
        time.sleep(0.05)
        for k in range(5):
            p.push(feeds(k))
        p.push(None)
        consumer.join(2)
    assert got == [3, 4, 5, 6, 7]


def test_base_exception_in_a_stage_does_not_hang() -> None:
    class Exits(Fake):
        def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            if self.calls == 2:
                raise SystemExit(3)
            return super().run(feeds)

    got: list[int] = []
    with Pipeline([Fake("t0", "t1"), Exits("t1", "t2")]) as p, \
            pytest.raises(StageError, match="stage 1 failed on input 2: SystemExit: 3"):
        got.extend(int(o["t2"][0]) for o in p.run(feeds(k) for k in range(6)))
    assert got == [2, 3] and p.alive == 0
