"""profiled: Coral's partition_with_profiling, faithful and never worse than compiler."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_costs import MatrixCost, random_costs

from tpusplit.graph import load
from tpusplit.models.synthetic import fc
from tpusplit.partition import brute_force
from tpusplit.strategies import plan
from tpusplit.strategies.compiler import compiler_cuts
from tpusplit.strategies.profiled import profiled, search


@pytest.fixture(scope="module")
def graph():  # type: ignore[no-untyped-def]
    return load(fc(32))


@pytest.mark.parametrize("kind", ["additive", "boundary", "cliff"])
def test_never_worse_than_the_compiler_split(graph, kind: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    n = len(graph.ops)
    for k in range(1, 6):
        for _ in range(10):
            lat, _ = random_costs(n, kind, rng)
            comp = plan(graph, k, MatrixCost(graph, lat), "compiler")
            prof = profiled(graph, k, MatrixCost(graph, lat), diff_threshold_ms=0.0)
            assert prof.bottleneck_ms <= comp.bottleneck_ms
            best = brute_force(n, k, lambda i, j, lat=lat: float(lat[i, j])).value
            assert prof.bottleneck_ms >= best


def test_with_a_tiny_threshold_it_reaches_the_optimum_on_monotone_costs(graph) -> None:  # type: ignore[no-untyped-def]
    """Longest-first search with backtracking decides feasibility exactly when costs grow
    with the segment, and the output op stays in the last segment (fc: the last op)."""
    rng = np.random.default_rng(2)
    n = len(graph.ops)
    for k in range(2, 6):
        lat, _ = random_costs(n, "additive", rng)
        best = brute_force(n, k, lambda i, j: float(lat[i, j])).value  # noqa: B023
        p = profiled(graph, k, MatrixCost(graph, lat), diff_threshold_ms=1e-9 * best)
        assert p.bottleneck_ms == pytest.approx(best, rel=1e-6)


def test_search_backtracks(graph) -> None:  # type: ignore[no-untyped-def]
    """The longest first segment meeting T leaves an infeasible rest: search must shrink it."""
    n = len(graph.ops)
    lat = np.ones((n + 1, n + 1))
    lat[8, n] = lat[9, n] = 10.0  # the last segment must start at 7 or earlier
    lat[0, 8] = lat[0, 9] = 1.0
    cost = MatrixCost(graph, lat)
    cuts = search(graph, 2, cost, target=2.0)
    assert cuts == (7,)


def test_default_threshold_is_one_millisecond(graph) -> None:  # type: ignore[no-untyped-def]
    """Bottlenecks within 1 ms of the fastest segment: Coral stops at the compiler split."""
    n = len(graph.ops)
    lat = np.fromfunction(lambda i, j: 0.01 * (j - i), (n + 1, n + 1))
    p = plan(graph, 3, MatrixCost(graph, lat), "profiled")
    assert p.cuts == compiler_cuts(graph, 3)
