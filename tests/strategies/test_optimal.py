"""optimal: equal to brute force on random instances (additive, boundary, cliffs), any costs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_costs import MatrixCost, random_costs

from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import fc
from tpusplit.strategies import plan
from tpusplit.strategies.brute_force import brute_force_cuts
from tpusplit.strategies.optimal import (
    bisect_probe,
    bottleneck,
    exact_dp,
    probe,
    shortest_fill,
)

KINDS = ("additive", "boundary", "cliff")


def _oracle(lat: np.ndarray, n: int, k: int) -> float:
    return brute_force_cuts(n, k, lambda i, j: float(lat[i, j]))[1]


@pytest.mark.parametrize("kind", KINDS)
def test_exact_dp_equals_brute_force_on_random_instances(kind: str) -> None:
    rng = np.random.default_rng(KINDS.index(kind))
    for _ in range(200):  # 3 x 200 = 600 instances
        n = int(rng.integers(1, 12))
        k = int(rng.integers(1, n + 1))
        lat, _ = random_costs(n, kind, rng)
        evaluated: set[tuple[int, int]] = set()

        def latency(i: int, j: int, lat: np.ndarray = lat) -> float:
            evaluated.add((i, j))  # noqa: B023
            return float(lat[i, j])

        start = tuple(range(1, k))
        inc = bisect_probe(n, k, latency, start, 1e-3)[:2] if k > 1 else None
        cuts, value = exact_dp(n, k, latency, inc)
        assert len(cuts) == k - 1 and all(0 < c < n for c in cuts)
        assert list(cuts) == sorted(set(cuts)), "cuts strictly increasing, no empty segment"
        assert value == bottleneck(n, cuts, lambda i, j: float(lat[i, j]))  # noqa: B023
        assert value == pytest.approx(_oracle(lat, n, k), abs=0, rel=0)


def test_exact_dp_with_lower_bounds_is_still_exact() -> None:
    rng = np.random.default_rng(7)
    for _ in range(150):
        n = int(rng.integers(2, 11))
        k = int(rng.integers(2, n + 1))
        lat, _ = random_costs(n, "cliff", rng)
        shrink = rng.random((n + 1, n + 1))
        _cuts, value = exact_dp(n, k, lambda i, j: float(lat[i, j]),  # noqa: B023
                               lower=lambda i, j: float(lat[i, j] * shrink[i, j]))  # noqa: B023  # noqa: B023
        assert value == _oracle(lat, n, k)


def test_probe_is_exact_for_monotone_costs() -> None:
    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(2, 12))
        k = int(rng.integers(2, n + 1))
        lat, _ = random_costs(n, "additive", rng)
        f = lambda i, j: float(lat[i, j])  # noqa: E731, B023
        best = _oracle(lat, n, k)
        assert probe(n, k, f, best) is not None
        assert probe(n, k, f, best * (1 - 1e-9)) is None
        _cuts, value, low = bisect_probe(n, k, f, tuple(range(1, k)), 1e-12)
        assert low <= best <= value <= best * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 100), min_size=1, max_size=9),
       st.lists(st.floats(0, 20), min_size=10, max_size=10), st.data())
def test_optimal_property_matches_brute_force(weights: list[float], io: list[float],
                                               data: st.DataObject) -> None:
    n = len(weights)
    k = data.draw(st.integers(1, n))
    lat = np.full((n + 1, n + 1), np.inf)
    for i, j in itertools.combinations(range(n + 1), 2):
        lat[i, j] = sum(weights[i:j]) + io[i] + io[j]
    _cuts, value = exact_dp(n, k, lambda i, j: float(lat[i, j]))
    assert value == _oracle(lat, n, k)


@pytest.fixture(scope="module")
def fc_graph():  # type: ignore[no-untyped-def]
    return load(fc(32))


@pytest.mark.parametrize("kind", KINDS)
def test_optimal_strategy_on_a_cost_source(fc_graph, kind: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    n = len(fc_graph.ops)
    for k in range(1, n + 1):
        lat, off = random_costs(n, kind, rng)
        cost = MatrixCost(fc_graph, lat, off)
        p = plan(fc_graph, k, cost, "optimal", fresh=True)
        assert p.num_segments == k and all(s.end > s.start for s in p.segments)
        assert p.bottleneck_ms == _oracle(lat, n, k)
        assert p.lower_bound_ms == p.bottleneck_ms
        assert 0 < p.cost_evaluations <= n * (n + 1) // 2
        assert p.cost_evaluations == cost.evaluations
        bf = plan(fc_graph, k, MatrixCost(fc_graph, lat, off), "brute_force")
        assert bf.bottleneck_ms == p.bottleneck_ms


def test_monotone_cost_source_skips_the_dp(fc_graph) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(5)
    n = len(fc_graph.ops)
    lat, _ = random_costs(n, "additive", rng)
    cost = MatrixCost(fc_graph, lat, monotone=True)
    p = plan(fc_graph, 4, cost, "optimal")
    best = _oracle(lat, n, 4)
    assert p.bottleneck_ms == pytest.approx(best, rel=1e-9)
    assert p.lower_bound_ms is not None and p.lower_bound_ms <= best
    assert p.cost_evaluations < n * (n + 1) // 2


@pytest.mark.parametrize("strategy", ["compiler", "profiled", "balanced", "optimal",
                                      "brute_force"])
@pytest.mark.parametrize("k", [0, -1, 11, 100])
def test_bad_segment_counts_are_clear_errors(fc_graph, strategy: str, k: int  # type: ignore[no-untyped-def]
                                             ) -> None:
    cost = MatrixCost(fc_graph, np.ones((11, 11)))
    with pytest.raises(TpusplitError, match="segments") as err:
        plan(fc_graph, k, cost, strategy)
    assert "\n" not in str(err.value)


def test_ties_are_broken_by_the_shortest_pipeline_fill(fc_graph) -> None:  # type: ignore[no-untyped-def]
    """Integer costs make many partitions share the optimal bottleneck. With every segment
    known, shortest_fill returns the smallest latency sum among them (brute force); the
    strategy keeps the optimal bottleneck."""
    rng = np.random.default_rng(9)
    n = len(fc_graph.ops)
    for _ in range(60):
        k = int(rng.integers(2, 6))
        w = rng.integers(1, 4, n)
        lat = np.full((n + 1, n + 1), np.inf)
        for i, j in itertools.combinations(range(n + 1), 2):
            lat[i, j] = float(w[i:j].sum() + (j - i == 1))
        best = _oracle(lat, n, k)
        sums = []
        for cuts in itertools.combinations(range(1, n), k - 1):
            edges = (0, *cuts, n)
            segs = [lat[a, b] for a, b in itertools.pairwise(edges)]
            if max(segs) == best:
                sums.append(sum(segs))
        known = {(i, j): float(lat[i, j]) for i, j in itertools.combinations(range(n + 1), 2)}
        dp_cuts, value = exact_dp(n, k, lambda i, j, lat=lat: float(lat[i, j]))
        cuts = shortest_fill(n, k, known, value, dp_cuts)
        edges = (0, *cuts, n)
        assert max(lat[a, b] for a, b in itertools.pairwise(edges)) == best
        assert sum(lat[a, b] for a, b in itertools.pairwise(edges)) == min(sums)
        p = plan(fc_graph, k, MatrixCost(fc_graph, lat), "optimal")
        assert p.bottleneck_ms == best
