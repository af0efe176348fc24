"""Every strategy on the Edge TPU cost model: optimal equals brute force, invariants hold."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_costs import MatrixCost

from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv, fc
from tpusplit.strategies import plan

CORE = ("compiler", "profiled", "balanced", "optimal")


@pytest.fixture(scope="module")
def graphs() -> list[Graph]:
    return [load(conv(682), name="conv682"), load(fc(1620), name="fc1620"),
            *(load(random_net(s), name=f"net{s}") for s in range(3))]


@pytest.mark.parametrize("device", ["edgetpu-usb3", "edgetpu-pcie"])
def test_lower_bound_is_valid_on_every_segment(graphs: list[Graph], device: str) -> None:
    for g in graphs:
        cost = EdgeTPUCost(g, device)
        lower = cost.lower_bound()
        assert lower is not None and cost.evaluations == 0
        n = len(g.ops)
        every = np.triu_indices(n + 1, 1)
        at_once = lower(*every)
        for i, j, value in zip(*every, at_once, strict=True):
            assert lower(int(i), int(j)) == value <= cost.latency(int(i), int(j))


@pytest.mark.parametrize("device", ["edgetpu-usb3", "edgetpu-pcie"])
def test_optimal_equals_brute_force_and_beats_every_strategy(graphs: list[Graph],
                                                             device: str) -> None:
    for g in graphs:
        for k in range(1, min(4, len(g.ops)) + 1):
            cost = EdgeTPUCost(g, device)
            best = plan(g, k, cost, "brute_force").bottleneck_ms
            opt = plan(g, k, cost, "optimal", fresh=True)
            assert opt.bottleneck_ms == best, (g.name, k)
            comp = None
            for s in CORE:
                try:
                    p = plan(g, k, cost, s, fresh=True)
                except TpusplitError as exc:  # the compiler rule refuses early side outputs
                    assert s in ("compiler", "profiled") and "first output" in str(exc)
                    continue
                assert p.num_segments == k and all(x.end > x.start for x in p.segments)
                assert opt.bottleneck_ms <= p.bottleneck_ms
                if s == "compiler":
                    comp = p
                if s == "balanced" and comp is not None:
                    assert p.streamed_bytes <= comp.streamed_bytes


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 10), st.sampled_from(CORE))
def test_any_strategy_returns_a_valid_plan(seed: int, k: int, strategy: str) -> None:
    g = load(fc(32))
    rng = np.random.default_rng(seed)
    n = len(g.ops)
    lat = rng.random((n + 1, n + 1)) * 10
    off = (rng.random((n + 1, n + 1)) < 0.3).astype(np.int64) * 1000
    p = plan(g, k, MatrixCost(g, lat, off), strategy)
    edges = [0, *p.cuts, n]
    assert len(p.cuts) == k - 1 and all(b > a for a, b in itertools.pairwise(edges))
    assert [(s.start, s.end) for s in p.segments] == list(itertools.pairwise(edges))
    assert p.bottleneck_ms == max(lat[a, b] for a, b in itertools.pairwise(edges))
