"""Heterogeneous partitioning and per-layer placement against their brute-force oracles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.partition.device_chain import hetero_brute_force, hetero_partition
from tpusplit.partition.placement import place, place_brute_force


def random_costs(rng: np.random.Generator, kinds: int, n: int, style: str) -> np.ndarray:
    """Segment costs of several shapes: additive per kind (devices differ in speed per op),
    additive plus a boundary cost, or arbitrary (not monotone)."""
    c = np.full((kinds, n + 1, n + 1), np.inf)
    per_op = rng.uniform(0.1, 5.0, (kinds, n))
    link = rng.uniform(0.0, 3.0, n + 1)
    for t in range(kinds):
        for i in range(n):
            for j in range(i + 1, n + 1):
                if style == "additive":
                    c[t, i, j] = per_op[t, i:j].sum()
                elif style == "boundary":
                    c[t, i, j] = per_op[t, i:j].sum() + link[i] + link[j] * (t + 1)
                else:
                    c[t, i, j] = rng.uniform(0.1, 10.0)
    return c


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 7),
       counts=st.lists(st.integers(0, 2), min_size=1, max_size=3).filter(lambda c: sum(c) > 0),
       style=st.sampled_from(["additive", "boundary", "arbitrary"]),
       objective=st.sampled_from(["max", "sum"]))
def test_hetero_dp_equals_brute_force(seed: int, n: int, counts: list[int], style: str,
                                      objective: str) -> None:
    costs = random_costs(np.random.default_rng(seed), len(counts), n, style)
    fast = hetero_partition(costs, counts, objective)
    slow = hetero_brute_force(costs, counts, objective)
    assert fast.value == pytest.approx(slow.value)
    assert len(fast.kinds) == len(slow.kinds)  # fewest stages among the optima
    # the answer is a valid pipeline worth its value
    edges = (0, *fast.cuts, n)
    stages = [costs[t, a, b] for t, a, b in zip(fast.kinds, edges, edges[1:], strict=False)]
    assert (max(stages) if objective == "max" else sum(stages)) == pytest.approx(fast.value)
    assert fast.total == pytest.approx(sum(stages))
    assert all(fast.kinds.count(t) <= counts[t] for t in range(len(counts)))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 7),
       counts=st.lists(st.integers(0, 3), min_size=1, max_size=3).filter(lambda c: sum(c) > 0),
       style=st.sampled_from(["additive", "boundary", "arbitrary"]),
       host=st.sampled_from([0.0, 0.3, 2.0]), serial_share=st.sampled_from([0.0, 1.0]))
def test_hetero_dp_with_a_runner_equals_brute_force(seed: int, n: int, counts: list[int],
                                                    style: str, host: float,
                                                    serial_share: float) -> None:
    """With a runner's host time per stage (and its serial part), the programme's period is
    the brute force's: more stages are not free."""
    from tpusplit.partition.device_chain import runner_period

    costs = random_costs(np.random.default_rng(seed), len(counts), n, style)
    serial = host * serial_share
    fast = hetero_partition(costs, counts, "max", host=host, serial=serial)
    slow = hetero_brute_force(costs, counts, "max", host=host, serial=serial)
    assert fast.value == pytest.approx(slow.value)
    assert len(fast.kinds) == len(slow.kinds)
    edges = (0, *fast.cuts, n)
    stages = [costs[t, a, b] for t, a, b in zip(fast.kinds, edges, edges[1:], strict=False)]
    assert runner_period(max(stages), len(stages), host, serial) == pytest.approx(fast.value)


def test_a_runner_is_for_one_host_and_the_bottleneck() -> None:
    costs = random_costs(np.random.default_rng(0), 2, 4, "additive")
    with pytest.raises(ValueError, match="bottleneck"):
        hetero_partition(costs, [1, 1], "sum", host=0.3)
    with pytest.raises(ValueError, match="serial <= host"):
        hetero_partition(costs, [1, 1], "max", host=0.1, serial=0.3)


def test_hetero_uses_the_right_devices_in_any_order() -> None:
    # kind 0 is fast on the first half, kind 1 on the second: one of each, in that order
    n = 6
    per = np.array([[1, 1, 1, 9, 9, 9], [9, 9, 9, 1, 1, 1]], dtype=float)
    c = np.full((2, n + 1, n + 1), np.inf)
    for t in range(2):
        for i in range(n):
            for j in range(i + 1, n + 1):
                c[t, i, j] = per[t, i:j].sum()
    r = hetero_partition(c, [1, 1])
    assert r.cuts == (3,) and r.kinds == (0, 1) and r.value == 3
    r = hetero_partition(c[::-1].copy(), [1, 1])  # kinds swapped: order follows the costs
    assert r.kinds == (1, 0)
    assert hetero_partition(c, [3, 0]).kinds == (0, 0, 0)  # only kind 0: 3 stages of it


def test_hetero_errors() -> None:
    c = np.zeros((2, 4, 4))
    with pytest.raises(ValueError, match="objective"):
        hetero_partition(c, [1, 1], "min")
    with pytest.raises(ValueError, match="shape"):
        hetero_partition(c, [1])
    with pytest.raises(ValueError, match="at least one device"):
        hetero_partition(c, [0, 0])
    with pytest.raises(ValueError, match="no finite"):
        hetero_partition(np.full((1, 3, 3), np.inf), [2])


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6), kinds=st.integers(1, 3),
       style=st.sampled_from(["additive", "boundary", "arbitrary"]))
def test_placement_equals_brute_force(seed: int, n: int, kinds: int, style: str) -> None:
    costs = random_costs(np.random.default_rng(seed), kinds, n, style)
    fast, slow = place(costs), place_brute_force(costs)
    assert fast.cost == pytest.approx(slow.cost)
    assert fast.cost == pytest.approx(sum(costs[t, a, b] for a, b, t in fast.runs))
    assert [r[0] for r in fast.runs] == [0, *[r[1] for r in fast.runs[:-1]]]
    assert fast.runs[-1][1] == n
    assert all(a[2] != b[2] for a, b in zip(fast.runs, fast.runs[1:], strict=False))


def test_placement_switches_only_when_it_pays() -> None:
    per = np.array([[1.0, 1.0, 10.0, 1.0], [5.0, 5.0, 1.0, 5.0]])
    n = 4

    def table(switch: float) -> np.ndarray:
        c = np.full((2, n + 1, n + 1), np.inf)
        for t in range(2):
            for i in range(n):
                for j in range(i + 1, n + 1):
                    c[t, i, j] = per[t, i:j].sum() + switch
        return c

    assert place(table(0.5)).runs == ((0, 2, 0), (2, 3, 1), (3, 4, 0))
    assert place(table(0.5)).kinds == (0, 0, 1, 0)
    assert place(table(20.0)).runs == ((0, 4, 0),)
