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


# -- replicated stages ------------------------------------------------------------------------


class Replica(Fake):
    """A replica of ``out = in + add``: sleeps a random ``jitter`` (seeded) per call, raises
    on the input whose value (``in``) is ``fail_value``; counts the inputs it ran."""

    def __init__(self, src: str, dst: str, add: int, seed: int, jitter: float = 0.0,
                 fail_value: int | None = None) -> None:
        super().__init__(src, dst, add=add)
        self.rng = np.random.default_rng(seed)
        self.jitter, self.fail_value = jitter, fail_value
        self.seen: list[int] = []

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        value = int(feeds[self.src][0])
        if self.delay:
            time.sleep(self.delay)
        if self.jitter:
            time.sleep(float(self.rng.random()) * self.jitter)
        if value == self.fail_value:
            raise ValueError(f"injected fault on value {value}")
        self.seen.append(value)
        return {self.dst: feeds[self.src] + self.add}


def replicated(counts: list[int], jitter: float = 0.0,
               fail: tuple[int, int] | None = None) -> list[list[Replica]]:
    """Stage ``i`` adds ``i + 1``; ``counts[i]`` replicas of unequal (random) speed;
    ``fail = (stage, value)``: that stage's replicas raise on that input value."""
    out = []
    offset = 0
    for i, r in enumerate(counts):
        value = None if fail is None or fail[0] != i else fail[1] + offset
        out.append([Replica(f"t{i}", f"t{i + 1}", i + 1, seed=10 * i + j,
                            jitter=jitter * (j + 1), fail_value=value) for j in range(r)])
        offset += i + 1
    return out


def test_replicas_keep_input_order_and_run_every_input_once() -> None:
    groups = replicated([1, 3, 2], jitter=0.004)
    with Pipeline(groups, queue_size=2) as p:  # type: ignore[arg-type]
        out = [int(o["t3"][0]) for o in p.run(feeds(k) for k in range(60))]
    assert out == [k + 6 for k in range(60)]
    for i, group in enumerate(groups):
        seen = sorted(v for r in group for v in r.seen)
        assert seen == [k + i * (i + 1) // 2 for k in range(60)]  # none lost, none twice
    assert all(r.seen for r in groups[1]) and all(r.seen for r in groups[2])  # all busy
    assert [[s.items for s in parts] for parts in p.replica_stats][1] == \
        [len(r.seen) for r in groups[1]]
    stats = p.stats
    assert [s.items for s in stats] == [60, 60, 60] and [s.replicas for s in stats] == [1, 3, 2]
    assert stats[1].busy_s == pytest.approx(sum(s.busy_s for s in p.replica_stats[1]))
    assert 0 < stats[1].utilisation(p.wall_s()) <= 1
    assert p.alive == 0


def test_a_replicated_slow_stage_runs_its_replicas_in_parallel() -> None:
    one = [[Fake("t0", "t1", delay=0.02)]]
    four = [[Fake("t0", "t1", delay=0.02) for _ in range(4)]]
    times = []
    for stages in (one, four):
        with Pipeline(stages, queue_size=4) as p:  # type: ignore[arg-type]
            t0 = time.perf_counter()
            assert len(list(p.run(feeds(k) for k in range(24)))) == 24
            times.append(time.perf_counter() - t0)
    assert times[1] < times[0] / 2  # sleeps overlap: ~0.12 s against ~0.48 s


@pytest.mark.parametrize("stage", [0, 1, 2])
@pytest.mark.parametrize("k", [0, 7, 23])
def test_a_failing_replica_delivers_every_earlier_result_then_names_it(stage: int,
                                                                       k: int) -> None:
    groups = replicated([2, 3, 2], jitter=0.003, fail=(stage, k))
    got: list[int] = []
    with Pipeline(groups, queue_size=2) as p:  # type: ignore[arg-type]
        with pytest.raises(StageError) as info:
            for o in p.run(feeds(j) for j in range(30)):
                got.append(int(o["t3"][0]))
        err = info.value
        assert (err.stage, err.item) == (stage, k)
        assert 0 <= err.replica < len(groups[stage])
        assert f"stage {stage} (replica {err.replica} of {len(groups[stage])}) failed on " \
               f"input {k}: ValueError: injected fault" in str(err)
        with pytest.raises(StageError):
            p.push(feeds(0))
    assert got == [j + 6 for j in range(k)]
    assert p.alive == 0


def test_a_failing_replica_while_a_slow_sibling_holds_earlier_inputs() -> None:
    # replica 0 is slow, replica 1 fast; input 5 fails on either: inputs 0-4 (some on the
    # slow one) still come out, in order, before the error
    slow = Replica("t0", "t1", 1, seed=0, fail_value=5)
    slow.delay = 0.05
    fast = Replica("t0", "t1", 1, seed=1, fail_value=5)
    with Pipeline([[slow, fast]], queue_size=4) as p:  # type: ignore[list-item]
        got: list[int] = []
        with pytest.raises(StageError, match=r"stage 0 \(replica [01] of 2\) failed on input 5"):
            got.extend(int(o["t1"][0]) for o in p.run(feeds(j) for j in range(12)))
    assert got == [1, 2, 3, 4, 5] and p.alive == 0


def test_close_stops_busy_replicas_without_hanging() -> None:
    p = Pipeline([[Fake("t0", "t1", delay=0.02) for _ in range(3)]], queue_size=1)
    errors: list[PipelineError] = []

    def push() -> None:
        try:
            for k in range(1000):
                p.push(feeds(k))
        except PipelineError as exc:
            errors.append(exc)

    pusher = threading.Thread(target=push, daemon=True)
    t0 = time.perf_counter()
    pusher.start()
    time.sleep(0.1)
    p.close()
    pusher.join(2)
    assert p.alive == 0 and time.perf_counter() - t0 < 2
    assert len(errors) == 1 and "closed" in str(errors[0])


def test_replica_arguments_are_checked() -> None:
    with pytest.raises(PipelineError, match="no replica"):
        Pipeline([[]])
    with pytest.raises(PipelineError, match="replicas differ"):
        Pipeline([[Fake("t0", "t1"), Fake("t0", "zz")]])
    with pytest.raises(PipelineError, match="core"):
        Pipeline([[Fake("t0", "t1"), Fake("t0", "t1")]], cores=[[0]])
    with Pipeline([[Fake("t0", "t1"), Fake("t0", "t1")]], cores=[[0, 0]]) as p:
        assert [int(o["t1"][0]) for o in p.run(feeds(k) for k in range(4))] == [1, 2, 3, 4]
    assert p.pinned == [True] and p.replica_pinned == [[True, True]]


@settings(max_examples=20, deadline=None)
@given(counts=st.lists(st.integers(1, 3), min_size=1, max_size=3), items=st.integers(0, 20),
       qs=st.integers(1, 3),
       fault=st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 20))))
def test_property_replicated_results_are_a_prefix_in_order(
        counts: list[int], items: int, qs: int, fault: tuple[int, int] | None) -> None:
    n = len(counts)
    fail = fault if fault is not None and fault[0] < n else None
    got: list[int] = []
    with Pipeline(replicated(counts, jitter=0.001, fail=fail),  # type: ignore[arg-type]
                  queue_size=qs) as p:
        try:
            got.extend(int(o[f"t{n}"][0]) for o in p.run(feeds(j) for j in range(items)))
            failed_at = None
        except StageError as e:
            failed_at = e.item
    offset = n * (n + 1) // 2
    expected = items if failed_at is None else failed_at
    assert got == [j + offset for j in range(expected)]
    assert failed_at == (fail[1] if fail is not None and fail[1] < items else None)
    assert p.alive == 0


def test_replicated_litert_segments_bit_exact_with_whole_model() -> None:
    from tpusplit.models.synthetic import conv

    data = conv(32, layers=4, size=16)
    graph = load(data)
    n = len(graph.ops)
    segments = split(graph, [n // 3, 2 * n // 3])
    counts = (2, 3, 1)
    groups = [[LiteRTStage(seg) for _ in range(r)] for seg, r in zip(segments, counts,
                                                                      strict=True)]
    whole = LiteRTStage(data)
    inputs = [random_inputs(whole, seed=s) for s in range(24)]
    names = [graph.tensors[t].name for t in graph.outputs]
    with Pipeline(groups, outputs=names, queue_size=2) as p:  # type: ignore[arg-type]
        results = list(p.run(inputs))
    assert len(results) == len(inputs)
    for x, got in zip(inputs, results, strict=True):
        for k, v in whole.run(x).items():
            assert got[k].dtype == v.dtype and got[k].tobytes() == v.tobytes()
    assert [s.items for s in p.stats] == [24, 24, 24]


def test_measure_a_replicated_pipeline() -> None:
    from tpusplit.pipeline.measure import measure_pipeline

    stages = [Fake("t0", "t1"), [Fake("t1", "t2", delay=0.004) for _ in range(2)]]
    m = measure_pipeline(stages, [feeds(k) for k in range(20)], keep_results=True)
    assert [int(r["t2"][0]) for r in m.results] == [k + 2 for k in range(20)]
    assert [s.replicas for s in m.stages] == [1, 2] and m.stages[1].items == 20
    # the replicated stage's period is its busy time per input over its 2 replicas
    assert m.ideal_throughput_ips() == pytest.approx(1 / max(s.period_s() for s in m.stages))
    assert m.as_dict()["stages"][1]["replicas"] == 2


class Returns(Fake):
    """A stage that returns ``value`` instead of its outputs."""

    def __init__(self, value: object) -> None:
        super().__init__("t0", "t1")
        self.value = value

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return self.value  # type: ignore[return-value]


@pytest.mark.parametrize("value, words", [
    (None, "returned NoneType, not a mapping"),
    ([1, 2], "returned list, not a mapping"),
    ({"other": np.array([1])}, "returned no tensor t1"),
])
def test_a_stage_returning_the_wrong_thing_fails_its_input_and_nothing_hangs(
        value: object, words: str) -> None:
    for last in (True, False):
        stages = [Returns(value), *([] if last else [Fake("t1", "t2")])]
        with Pipeline(stages) as p:
            p.push(feeds(0))
            p.push(feeds(1))
            with pytest.raises(StageError, match=f"stage 0 failed on input 0: .*{words}"):
                p.pop(timeout=5)
            with pytest.raises(StageError):  # again, not None and not a hang
                p.pop(timeout=5)


def test_pop_before_any_push_is_an_error_not_a_hang() -> None:
    with Pipeline(chain(2)) as p:
        with pytest.raises(PipelineError, match="nothing pending"):
            p.pop()
        p.push(feeds(0))  # still usable
        assert p.pop(timeout=5) is not None


# -- rebalancing at run time ------------------------------------------------------------------


def test_a_replica_moves_to_the_slow_stage_and_every_result_stays_in_order() -> None:
    """Stage 0 sleeps 20 ms on one worker, stage 1 2 ms on three (a plan that drifted): the
    watcher moves one of stage 1's workers to stage 0; every input runs once per stage, the
    results come in order, and the pipeline gets faster."""
    from tpusplit.pipeline.rebalance import Rebalance

    def make(stage: int, device: int) -> Replica:
        return Replica(f"t{stage}", f"t{stage + 1}", stage + 1, seed=device)

    groups = [[make(0, 0)], [make(1, d) for d in (1, 2, 3)]]
    groups[0][0].delay = 0.02
    for r in groups[1]:
        r.delay = 0.002
    loaded: list[Replica] = []

    def load(stage: int, device: int) -> Replica:
        r = make(stage, device)
        r.delay = 0.02 if stage == 0 else 0.002
        loaded.append(r)
        return r

    rb = Rebalance(load, devices=[[0], [1, 2, 3]], interval_s=0.05, min_items=4)
    with Pipeline(groups, queue_size=2, rebalance=rb) as p:  # type: ignore[arg-type]
        out = [int(o["t2"][0]) for o in p.run(feeds(k) for k in range(80))]
    assert out == [k + 3 for k in range(80)]
    assert p.moves and all((m.source, m.target) == (1, 0) for m in p.moves)
    assert p.moves[0].expected_ms < p.moves[0].before_ms
    assert len(p.replicas[0]) == 1 + len(p.moves)
    everyone = {0: groups[0] + [r for r in loaded if r.input_names[0] == "t0"],
                1: groups[1] + [r for r in loaded if r.input_names[0] == "t1"]}
    for i, workers in everyone.items():
        seen = sorted(v for r in workers for v in r.seen)
        assert seen == [k + i for k in range(80)]  # none lost, none twice
    assert [s.items for s in p.stats] == [80, 80]
    assert "moved the replica on device" in p.moves[0].describe()
    assert p.alive == 0


def test_a_failure_after_a_move_keeps_its_semantics() -> None:
    from tpusplit.pipeline.rebalance import Rebalance

    def make(stage: int, device: int) -> Replica:
        r = Replica(f"t{stage}", f"t{stage + 1}", stage + 1, seed=device,
                    fail_value=60 if stage == 0 else None)
        r.delay = 0.02 if stage == 0 else 0.002
        return r

    groups = [[make(0, 0)], [make(1, d) for d in (1, 2, 3)]]
    rb = Rebalance(make, devices=[[0], [1, 2, 3]], interval_s=0.05, min_items=4)
    got: list[int] = []
    with (Pipeline(groups, queue_size=2, rebalance=rb) as p,  # type: ignore[arg-type]
          pytest.raises(StageError) as info):
        for o in p.run(feeds(k) for k in range(80)):
            got.append(int(o["t2"][0]))
    assert got == [k + 3 for k in range(60)]
    assert info.value.stage == 0 and info.value.item == 60
    assert p.moves and p.alive == 0


def test_rebalance_devices_are_checked() -> None:
    from tpusplit.pipeline.rebalance import Rebalance

    rb = Rebalance(lambda i, d: Fake("t0", "t1"), devices=[[0, 1]])
    with pytest.raises(PipelineError, match="one device per replica"):
        Pipeline([Fake("t0", "t1")], rebalance=rb)


def test_a_move_whose_segment_does_not_load_is_reported_and_the_run_goes_on() -> None:
    from tpusplit.pipeline.rebalance import Rebalance

    def broken(stage: int, device: int) -> Replica:
        raise OSError("no such device")

    groups = [[Replica("t0", "t1", 1, seed=0)],
              [Replica("t1", "t2", 2, seed=d) for d in (1, 2, 3)]]
    groups[0][0].delay = 0.02
    for r in groups[1]:
        r.delay = 0.002
    rb = Rebalance(broken, devices=[[0], [1, 2, 3]], interval_s=0.05, min_items=4)
    with Pipeline(groups, queue_size=2, rebalance=rb) as p:  # type: ignore[arg-type]
        out = [int(o["t2"][0]) for o in p.run(feeds(k) for k in range(60))]
    assert out == [k + 3 for k in range(60)]
    assert not p.moves and p.move_failures
    assert "could not load stage 0 on device" in p.move_failures[0]
    assert "OSError: no such device" in p.move_failures[0]
