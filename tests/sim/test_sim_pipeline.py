"""Simulator invariants on any cost source."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.graph import Graph, load
from tpusplit.models.synthetic import conv, fc
from tpusplit.sim import simulate


class Table(CostSource):
    """A CPU-like source: fixed latency per op, no breakdown."""

    device = "cpu"

    def __init__(self, graph: Graph, per_op: list[float]) -> None:
        super().__init__(graph)
        self.per_op = per_op

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return SegmentCost(start, end, sum(self.per_op[start:end]))


@pytest.fixture(scope="module")
def g() -> Graph:
    return load(fc(32))


@settings(max_examples=40, deadline=None)
@given(per=st.lists(st.floats(0.01, 5.0), min_size=10, max_size=10),
       cuts=st.sets(st.integers(1, 9), max_size=4), batch=st.integers(1, 20),
       q=st.one_of(st.none(), st.integers(1, 3)))
def test_invariants(per: list[float], cuts: set[int], batch: int, q: int | None) -> None:
    g = load(fc(32))
    cost = Table(g, per)
    c = sorted(cuts)
    r = simulate(cost, c, batch=batch, queue_size=q)
    stages = [s.latency_ms for s in r.segments]
    # never beats the slowest stage, never worse than running everything serially
    assert r.time_per_inference_ms >= max(stages) - 1e-9
    assert r.wall_ms <= batch * sum(stages) + 1e-6
    # results in input order
    assert r.completion_ms == sorted(r.completion_ms)
    assert r.first_result_ms == pytest.approx(sum(stages))
    assert r.stage_busy_ms == pytest.approx([batch * s for s in stages])
    if batch == 1:
        assert r.wall_ms == pytest.approx(sum(stages))


def test_b1_is_sum_of_stages_with_transfers() -> None:
    g = load(conv(64, size=32))
    cost = EdgeTPUCost(g)
    r = simulate(cost, [2, 4], batch=1)
    # each of the 3 stages also takes the Python runner's host time (the profile's)
    assert cost.runner.name == "python" and cost.runner.stage_ms > 0
    assert r.time_per_inference_ms == pytest.approx(sum(s.latency_ms for s in r.segments)
                                                    + 3 * cost.runner.stage_ms)
    bare = simulate(EdgeTPUCost(g, runner="none"), [2, 4], batch=1)
    assert bare.time_per_inference_ms == pytest.approx(sum(s.latency_ms for s in r.segments))
    assert all(s.in_ms > 0 and s.out_ms > 0 for s in r.segments)  # type: ignore[attr-defined]
    assert len(r.transfer_ms) == 2 and all(t > 0 for t in r.transfer_ms)


def test_steady_state_approaches_bottleneck_and_no_cuts_is_one_device() -> None:
    g = load(conv(64, size=32))
    cost = EdgeTPUCost(g)
    one = simulate(cost, [], batch=15)
    assert one.time_per_inference_ms == pytest.approx(cost.latency(0, len(g.ops)))
    big = simulate(cost, [3], batch=200)
    assert big.time_per_inference_ms == pytest.approx(
        max(s.latency_ms for s in big.segments) + cost.runner.stage_ms, rel=0.02)


def test_shared_bus_and_gil_slow_things_down() -> None:
    g = load(conv(64, size=32))
    cost = EdgeTPUCost(g)
    free = simulate(cost, [2, 4], batch=10)
    bus = simulate(cost, [2, 4], batch=10, shared_bus=True)
    assert bus.wall_ms >= free.wall_ms - 1e-9
    gil = simulate(cost, [2, 4], batch=10, host_ms=1.0, host_workers=1)
    par = simulate(cost, [2, 4], batch=10, host_ms=1.0)
    assert gil.wall_ms >= par.wall_ms - 1e-9
    phases = {e.phase for e in gil.events}
    assert phases == {"host", "in", "compute", "out"}


def test_bad_batch() -> None:
    from tpusplit.errors import TpusplitError

    with pytest.raises(TpusplitError, match="batch must be"):  # one line, not a ValueError
        simulate(EdgeTPUCost(load(fc(32))), [], batch=0)


def test_bounded_queue_holds_the_producer_back() -> None:
    g = load(fc(32))
    per = [0.1] * 5 + [2.0] * 5  # fast first stage, slow second
    r = simulate(Table(g, per), [5], batch=12, queue_size=1)
    start = {(e.stage, e.item): e.start for e in r.events if e.phase == "compute"}
    for j in range(2, 12):
        assert start[(0, j)] >= start[(1, j - 2)] - 1e-9
    free = simulate(Table(g, per), [5], batch=12)
    assert free.wall_ms == pytest.approx(r.wall_ms)  # the bound costs no throughput here
    early = {(e.stage, e.item): e.start for e in free.events if e.phase == "compute"}
    assert early[(0, 11)] < start[(0, 11)]


def _transfers(r: object, stages: set[int]) -> list[tuple[float, float]]:
    """Link-holding intervals (in, out, streaming part of compute) of ``stages``."""
    out = []
    for e in r.events:  # type: ignore[attr-defined]
        if e.stage not in stages:
            continue
        stream = getattr(r.segments[e.stage], "stream_ms", 0.0)  # type: ignore[attr-defined]
        if e.phase in ("in", "out"):
            out.append((e.start, e.end))
        elif e.phase == "compute" and stream > 0:
            out.append((e.start, e.start + stream))
    return sorted(out)


def test_devices_on_one_link_take_turns_and_others_do_not_wait() -> None:
    g = load(conv(680, size=64))  # the last segment streams weights
    cost = EdgeTPUCost(g, "edgetpu-usb2")
    shared = simulate(cost, [3, 4], batch=6, buses=[0, 1, 1])
    assert shared.buses == [0, 1, 1]
    spans = _transfers(shared, {1, 2})
    assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))  # never overlap
    free = simulate(cost, [3, 4], batch=6)
    overlaps = _transfers(free, {1, 2})
    assert any(a[1] > b[0] + 1e-9 for a, b in itertools.pairwise(overlaps))
    assert shared.wall_ms > free.wall_ms
    everything = simulate(cost, [3, 4], batch=6, shared_bus=True)
    assert everything.buses == [0, 0, 0] and everything.wall_ms >= shared.wall_ms - 1e-9


def test_gantt_draws_streaming_links_and_the_bottleneck(tmp_path: Path) -> None:
    from tpusplit.errors import TpusplitError
    from tpusplit.report.sim import gantt_bars, gantt_plot

    g = load(conv(680, size=64))
    r = simulate(EdgeTPUCost(g, "edgetpu-usb2"), [3, 4], batch=3, buses=[0, 1, 1])
    chart = gantt_bars(r)
    assert chart.labels[:3] == ["TPU 0: ops [0, 3)", "TPU 1: ops [3, 4)", "TPU 2: ops [4, 6)"]
    # the link TPU 1 and 2 share carries both TPUs' transfers and TPU 2's streaming: it is
    # busier than either TPU, so it is what limits the pipeline
    assert chart.labels[3] == "shared link A: TPU 1,2  (bottleneck)" and chart.bottleneck == 3
    stream = [b for b in chart.bars if b[3] == "stream"]
    assert stream and {b[0] for b in stream} == {2, 3}  # the streaming TPU and its link row
    seg = r.segments[2]
    streamed = 3 * seg.stream_ms  # type: ignore[attr-defined]
    assert sum(b[2] for b in stream if b[0] == 2) == pytest.approx(streamed)
    assert not any(b[0] == 3 and b[3] == "compute" for b in chart.bars)
    assert gantt_plot(r, tmp_path / "g.svg") == tmp_path / "g.svg"
    assert "streamed weights" in (tmp_path / "g.svg").read_text()
    for bad, words in ((tmp_path, "is a directory"), (tmp_path / "g.txt", "not supported"),
                       (tmp_path / "no" / "g.png", "does not exist")):
        with pytest.raises(TpusplitError, match=words):
            gantt_plot(r, bad)


def test_absurd_batches_are_refused_in_one_line() -> None:
    from tpusplit.errors import TpusplitError

    g = load(conv(64, size=32))
    for batch in (0, 1_000_000_000, 2.5):
        with pytest.raises(TpusplitError, match=r"^batch must be a whole number from 1 to "
                           r"100,000, got"):
            simulate(EdgeTPUCost(g), [2], batch=batch)  # type: ignore[arg-type]


def _recurrence(stage_ms: list[float], reps: list[int], batch: int) -> list[float]:
    """Completion of every input, written as the recurrence it must obey (no host time, own
    links): a stage takes its inputs in order, each on the replica free first; an input is
    handed on once it and every earlier one left the stage."""
    handed_prev = [0.0] * batch
    for ms, r in zip(stage_ms, reps, strict=True):
        free = [0.0] * r
        done = []
        for j in range(batch):
            k = min(range(r), key=lambda x: free[x])
            start = max(free[k], handed_prev[j])
            free[k] = start + ms
            done.append(free[k])
        handed_prev = [max(done[: j + 1]) for j in range(batch)]
    return handed_prev


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.1, 5.0), min_size=1, max_size=3),
       st.lists(st.integers(1, 3), min_size=3, max_size=3), st.integers(1, 12))
def test_replicas_follow_the_recurrence(ms: list[float], reps: list[int], batch: int) -> None:
    g = load(fc(32))  # 11 ops: room for up to 3 stages of one op each
    n = len(ms)
    per = [0.0] * len(g.ops)
    cuts = [1 + k for k in range(n - 1)]
    edges = [0, *cuts, len(g.ops)]
    for k in range(n):
        per[edges[k]] = ms[k]
    r = simulate(Table(g, per), cuts, batch=batch, host_ms=0.0, replicas=reps[:n])
    assert r.completion_ms == pytest.approx(_recurrence(ms, reps[:n], batch))
    counts: dict[tuple[int, int], int] = {}
    for e in r.events:
        counts[(e.stage, e.item)] = counts.get((e.stage, e.item), 0) + 1
    assert set(counts) == {(i, j) for i in range(n) for j in range(batch)}  # once each


def test_replicas_scale_until_the_host_or_a_shared_link_saturates() -> None:
    g = load(conv(64, size=32))
    cost = EdgeTPUCost(g, runner="none")
    one = simulate(cost, [], batch=200)
    four = simulate(cost, [], batch=200, replicas=[4], buses=[0, 1, 2, 3])  # a link each
    assert four.time_per_inference_ms == pytest.approx(one.time_per_inference_ms / 4, rel=0.02)
    assert four.bottleneck_ms == pytest.approx(one.bottleneck_ms / 4, rel=0.02)
    # the Python runner's host work serialises: replicas cannot beat it
    slow_host = simulate(EdgeTPUCost(g, runner="python", host_ms=one.time_per_inference_ms),
                         [], batch=200, replicas=[4])
    assert slow_host.time_per_inference_ms >= one.time_per_inference_ms
    # four replicas sharing one USB link take turns for their transfers
    shared = simulate(cost, [], batch=200, replicas=[4], shared_bus=True)
    seg = shared.segments[0]
    assert shared.time_per_inference_ms >= seg.in_ms + seg.out_ms + seg.stream_ms - 1e-9
    assert shared.time_per_inference_ms > four.time_per_inference_ms
    # by default the replicas of a stage on USB TPUs share their link; on PCIe they do not
    default = simulate(cost, [], batch=200, replicas=[4])
    assert default.buses == [0, 0, 0, 0]
    assert default.time_per_inference_ms == pytest.approx(shared.time_per_inference_ms)
    pcie = EdgeTPUCost(g, "edgetpu-pcie", runner="none")
    alone = simulate(pcie, [], batch=200)
    assert simulate(pcie, [], batch=200, replicas=[4]).time_per_inference_ms == pytest.approx(
        alone.time_per_inference_ms / 4, rel=0.02)
