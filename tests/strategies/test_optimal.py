"""optimal: equal to brute force on random cost sources (additive, boundary, cliffs)."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_costs import MatrixCost, random_costs, tied_costs

from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import fc
from tpusplit.partition import brute_force
from tpusplit.strategies import plan

KINDS = ("additive", "boundary", "cliff")


def _oracle(lat: np.ndarray, n: int, k: int) -> float:
    return brute_force(n, k, lambda i, j: float(lat[i, j])).value


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


@pytest.mark.parametrize("kind", KINDS)
def test_optimal_uses_the_sources_lower_bound(fc_graph, kind: str) -> None:  # type: ignore[no-untyped-def]
    """A source declaring a valid bound gets the same optimum with fewer evaluations."""
    rng = np.random.default_rng(12)
    n = len(fc_graph.ops)
    saved = 0
    for k in range(2, 6):
        lat, off = random_costs(n, kind, rng)
        plain = plan(fc_graph, k, MatrixCost(fc_graph, lat, off), "optimal")
        bounded = plan(fc_graph, k, MatrixCost(fc_graph, lat, off, bound=0.9), "optimal")
        assert bounded.bottleneck_ms == plain.bottleneck_ms == _oracle(lat, n, k)
        assert any("lower bound" in note for note in bounded.notes)
        saved += plain.cost_evaluations - bounded.cost_evaluations
    assert saved > 0


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


def test_ties_keep_the_optimal_bottleneck(fc_graph) -> None:  # type: ignore[no-untyped-def]
    """Integer costs make many partitions share the optimal bottleneck; the plan keeps it and
    its latency sum is no larger than the plain programme's choice."""
    rng = np.random.default_rng(9)
    n = len(fc_graph.ops)
    for _ in range(60):
        k = int(rng.integers(2, 6))
        lat = tied_costs(n, rng)
        p = plan(fc_graph, k, MatrixCost(fc_graph, lat), "optimal")
        assert p.bottleneck_ms == _oracle(lat, n, k)
