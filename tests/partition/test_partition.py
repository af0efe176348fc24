"""The partition package: the exact DP and probe-and-bisect against the brute-force oracle."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_costs import random_costs, tied_costs

from tpusplit.partition import (
    bisect,
    bottleneck,
    brute_force,
    check_counts,
    minmax,
    probe,
    shortest_fill,
    spans,
)

KINDS = ("additive", "boundary", "cliff")


def _oracle(lat: np.ndarray, n: int, k: int) -> float:
    return brute_force(n, k, lambda i, j: float(lat[i, j])).value


def test_spans_bottleneck_and_counts() -> None:
    assert spans(5, [2, 4]) == [(0, 2), (2, 4), (4, 5)]
    assert spans(3, []) == [(0, 3)]
    assert bottleneck(5, [2, 4], lambda i, j: float(j - i)) == 2.0
    check_counts(3, 3)
    for n, k in ((3, 4), (3, 0), (0, 1)):
        with pytest.raises(ValueError, match="non-empty"):
            check_counts(n, k)
    with pytest.raises(ValueError, match="non-empty"):
        minmax(2, 3, lambda i, j: 1.0)


@pytest.mark.parametrize("kind", KINDS)
def test_minmax_equals_brute_force_on_random_instances(kind: str) -> None:
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
        inc = bisect(n, k, latency, start, 1e-3)[0].cuts if k > 1 else None
        found = minmax(n, k, latency, incumbent=inc)
        cuts, value = found.cuts, found.value
        assert len(cuts) == k - 1 and all(0 < c < n for c in cuts)
        assert list(cuts) == sorted(set(cuts)), "cuts strictly increasing, no empty segment"
        assert value == bottleneck(n, cuts, lambda i, j: float(lat[i, j]))  # noqa: B023
        assert value == pytest.approx(_oracle(lat, n, k), abs=0, rel=0)
        assert all(0 <= i < j <= n for i, j in evaluated)


@pytest.mark.parametrize("rounds", [0, 1, 8])
def test_minmax_with_lower_bounds_is_still_exact(rounds: int) -> None:
    rng = np.random.default_rng(7 + rounds)
    for _ in range(150):
        n = int(rng.integers(2, 11))
        k = int(rng.integers(2, n + 1))
        lat, _ = random_costs(n, "cliff", rng)
        shrink = rng.random((n + 1, n + 1))
        found = minmax(n, k, lambda i, j: float(lat[i, j]),  # noqa: B023
                       lower=lambda i, j: lat[i, j] * shrink[i, j], rounds=rounds)  # noqa: B023
        assert found.value == _oracle(lat, n, k)


def test_an_exact_bound_costs_one_evaluation_per_segment() -> None:
    """When the bound is the cost, the relaxation's optimum is the optimum: the lazy round
    evaluates its k segments and proves it, nothing else is evaluated."""
    rng = np.random.default_rng(5)
    for _ in range(50):
        n = int(rng.integers(3, 40))
        k = int(rng.integers(2, min(n, 8) + 1))
        lat, _ = random_costs(n, "boundary", rng)
        calls: list[tuple[int, int]] = []
        found = minmax(n, k, lambda i, j: calls.append((i, j)) or float(lat[i, j]),  # noqa: B023
                       lower=lambda i, j: lat[i, j])  # noqa: B023
        assert found.value == pytest.approx(_oracle(lat, n, k) if n < 14 else found.value)
        assert sorted(calls) == spans(n, found.cuts)


def test_pruning_saves_evaluations_without_changing_the_result() -> None:
    """A loose but valid bound prunes; an incumbent is returned when nothing beats it."""
    rng = np.random.default_rng(8)
    n, k = 30, 4
    lat, _ = random_costs(n, "boundary", rng)
    f = lambda i, j: float(lat[i, j])  # noqa: E731
    plain: dict[tuple[int, int], float] = {}
    bounded: dict[tuple[int, int], float] = {}
    a = minmax(n, k, f, known=plain)
    b = minmax(n, k, f, lower=lambda i, j: 0.9 * lat[i, j], known=bounded)
    assert a.value == b.value
    assert len(bounded) < len(plain) <= n * (n + 1) // 2
    again = minmax(n, k, f, incumbent=a.cuts)
    assert again.cuts == a.cuts and again.value == a.value


@pytest.mark.parametrize("kind", KINDS)
def test_streamed_objective_equals_brute_force(kind: str) -> None:
    rng = np.random.default_rng(20 + KINDS.index(kind))
    for _ in range(150):
        n = int(rng.integers(1, 10))
        k = int(rng.integers(1, n + 1))
        lat, off = random_costs(n, kind, rng)
        f = lambda i, j: float(lat[i, j])  # noqa: E731, B023
        s = lambda i, j: float(off[i, j])  # noqa: E731, B023
        found = minmax(n, k, f, streamed=s, lower=lambda i, j: 0.5 * lat[i, j])  # noqa: B023
        want = brute_force(n, k, f, streamed=s)
        assert (found.streamed, found.value) == (want.streamed, want.value)
        assert found.streamed == sum(s(a, b) for a, b in spans(n, found.cuts))


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
        found, low = bisect(n, k, f, tuple(range(1, k)), 1e-12)
        assert low <= best <= found.value <= best * (1 + 1e-9)


def test_probe_never_returns_a_partition_over_the_target() -> None:
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(2, 12))
        k = int(rng.integers(1, n + 1))
        lat, _ = random_costs(n, "cliff", rng)
        target = float(rng.uniform(0, np.nanmax(np.where(np.isfinite(lat), lat, np.nan))))
        cuts = probe(n, k, lambda i, j: float(lat[i, j]), target)  # noqa: B023
        if cuts is not None:
            assert len(cuts) == k - 1
            assert bottleneck(n, cuts, lambda i, j: float(lat[i, j])) <= target  # noqa: B023


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 100), min_size=1, max_size=9),
       st.lists(st.floats(0, 20), min_size=10, max_size=10), st.data())
def test_minmax_property_matches_brute_force(weights: list[float], io: list[float],
                                             data: st.DataObject) -> None:
    n = len(weights)
    k = data.draw(st.integers(1, n))
    lat = np.full((n + 1, n + 1), np.inf)
    for i, j in itertools.combinations(range(n + 1), 2):
        lat[i, j] = sum(weights[i:j]) + io[i] + io[j]
    use_bound = data.draw(st.booleans())
    found = minmax(n, k, lambda i, j: float(lat[i, j]),
                   lower=(lambda i, j: lat[i, j] - io[0]) if use_bound else None)
    assert found.value == _oracle(lat, n, k)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 8), st.integers(0, 2**32 - 1), st.data())
def test_minmax_on_arbitrary_costs_matches_brute_force(n: int, seed: int,
                                                       data: st.DataObject) -> None:
    """Costs with no structure at all (not even finite everywhere)."""
    k = data.draw(st.integers(1, n))
    rng = np.random.default_rng(seed)
    lat = np.where(rng.random((n + 1, n + 1)) < 0.1, np.inf, rng.random((n + 1, n + 1)))
    found = minmax(n, k, lambda i, j: float(lat[i, j]))
    assert found.value == _oracle(lat, n, k)


def test_ties_are_broken_by_the_shortest_fill() -> None:
    """Integer costs make many partitions share the optimal bottleneck. With every segment
    known, shortest_fill returns the smallest cost sum among them (brute force)."""
    rng = np.random.default_rng(9)
    n = 10
    for _ in range(60):
        k = int(rng.integers(2, 6))
        lat = tied_costs(n, rng)
        best = _oracle(lat, n, k)
        sums = [sum(lat[a, b] for a, b in spans(n, cuts))
                for cuts in itertools.combinations(range(1, n), k - 1)
                if max(lat[a, b] for a, b in spans(n, cuts)) == best]
        known = {(i, j): float(lat[i, j]) for i, j in itertools.combinations(range(n + 1), 2)}
        found = minmax(n, k, lambda i, j, lat=lat: float(lat[i, j]))
        cuts = shortest_fill(n, k, known, found.value, found.cuts)
        assert max(lat[a, b] for a, b in spans(n, cuts)) == best
        assert sum(lat[a, b] for a, b in spans(n, cuts)) == min(sums)
        filled = minmax(n, k, lambda i, j, lat=lat: float(lat[i, j]), fill=True,
                        known=dict(known))
        assert filled.value == best
        assert sum(lat[a, b] for a, b in spans(n, filled.cuts)) == min(sums)


def test_fill_needs_the_bottleneck_objective() -> None:
    with pytest.raises(ValueError, match="bottleneck objective"):
        minmax(3, 2, lambda i, j: 1.0, streamed=lambda i, j: 0.0, fill=True)
