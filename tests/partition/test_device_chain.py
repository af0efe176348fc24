"""Partitioning across hosts against its brute-force oracle: cuts between hosts pay the link."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.partition.device_chain import (
    cluster_brute_force,
    cluster_partition,
    evaluate,
    hetero_partition,
)


def random_instance(seed: int, kinds: int, n: int, hosts: int
                    ) -> tuple[np.ndarray, list[int], np.ndarray]:
    rng = np.random.default_rng(seed)
    costs = np.full((kinds, n + 1, n + 1), np.inf)
    per_op = rng.uniform(0.1, 5.0, (kinds, n))
    for t in range(kinds):
        for i in range(n):
            for j in range(i + 1, n + 1):
                costs[t, i, j] = per_op[t, i:j].sum() + rng.uniform(0, 1)
    host_of = [int(h) for h in rng.integers(0, hosts, kinds)]
    crossing = rng.uniform(0, 4.0, n + 1)  # "bytes" crossing each cut
    links = np.zeros((hosts, hosts, n + 1))
    for a in range(hosts):
        for b in range(hosts):
            if a != b:
                links[a, b] = rng.uniform(0, 1) + crossing * rng.uniform(0.2, 2.0)
    return costs, host_of, links


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 6),
       counts=st.lists(st.integers(0, 2), min_size=1, max_size=3).filter(lambda c: sum(c) > 0),
       hosts=st.integers(1, 3), objective=st.sampled_from(["max", "sum"]))
def test_cluster_dp_equals_brute_force(seed: int, n: int, counts: list[int], hosts: int,
                                       objective: str) -> None:
    costs, host_of, links = random_instance(seed, len(counts), n, hosts)
    fast = cluster_partition(costs, counts, host_of, links, objective)
    slow = cluster_brute_force(costs, counts, host_of, links, objective)
    assert fast.value == pytest.approx(slow.value)
    assert len(fast.kinds) == len(slow.kinds)  # fewest stages among the optima
    value, total, moves = evaluate(costs, host_of, links, fast.cuts, fast.kinds, objective)
    assert value == pytest.approx(fast.value) and total == pytest.approx(fast.total)
    assert moves == fast.transfers
    assert all(fast.kinds.count(t) <= counts[t] for t in range(len(counts)))


def test_one_host_is_the_heterogeneous_partitioner() -> None:
    costs, _, links = random_instance(3, 2, 6, 1)
    for objective in ("max", "sum"):
        a = cluster_partition(costs, [2, 1], [0, 0], links, objective)
        b = hetero_partition(costs, [2, 1], objective)
        assert a.value == pytest.approx(b.value) and a.transfers == (0.0,) * len(a.cuts)


def test_a_slow_link_keeps_the_pipeline_on_one_host() -> None:
    """Two hosts with one device each: a cheap link splits the model, a slow one does not."""
    n = 4
    costs = np.full((2, n + 1, n + 1), np.inf)
    for t in range(2):
        for i in range(n):
            for j in range(i + 1, n + 1):
                costs[t, i, j] = float(j - i)
    links = np.zeros((2, 2, n + 1))
    links[0, 1] = links[1, 0] = 0.5
    fast = cluster_partition(costs, [1, 1], [0, 1], links)
    assert fast.cuts == (2,) and fast.value == 2.0 and fast.transfers == (0.5,)
    links[0, 1] = links[1, 0] = 10.0
    slow = cluster_partition(costs, [1, 1], [0, 1], links)
    assert slow.cuts == () and slow.value == 4.0


def test_bad_shapes() -> None:
    costs = np.zeros((1, 3, 3))
    with pytest.raises(ValueError, match="links must have shape"):
        cluster_partition(costs, [1], [0], np.zeros((1, 1, 2)))
    with pytest.raises(ValueError, match="hosts given"):
        cluster_partition(costs, [1], [0, 1], np.zeros((2, 2, 3)))
