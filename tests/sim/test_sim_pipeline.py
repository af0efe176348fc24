"""Simulator invariants on any cost source."""

from __future__ import annotations

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
    assert r.time_per_inference_ms == pytest.approx(sum(s.latency_ms for s in r.segments))
    assert all(s.in_ms > 0 and s.out_ms > 0 for s in r.segments)  # type: ignore[attr-defined]
    assert len(r.transfer_ms) == 2 and all(t > 0 for t in r.transfer_ms)


def test_steady_state_approaches_bottleneck_and_no_cuts_is_one_device() -> None:
    g = load(conv(64, size=32))
    cost = EdgeTPUCost(g)
    one = simulate(cost, [], batch=15)
    assert one.time_per_inference_ms == pytest.approx(cost.latency(0, len(g.ops)))
    big = simulate(cost, [3], batch=200)
    assert big.time_per_inference_ms == pytest.approx(
        max(s.latency_ms for s in big.segments), rel=0.02)


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
    with pytest.raises(ValueError):
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
