"""AdditiveCost: the closed-form cost source, its exact bound, and optimal on it."""

from __future__ import annotations

import numpy as np
import pytest

from tpusplit.costs.additive import AdditiveCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.partition import brute_force
from tpusplit.strategies import plan
from tpusplit.units import MiB


@pytest.fixture(scope="module")
def graph(random_nets: list[bytes]) -> Graph:
    return load(random_nets[1])


def test_latency_is_the_documented_sum(graph: Graph) -> None:
    n = len(graph.ops)
    ops = np.linspace(0.1, 1.0, n)
    cost = AdditiveCost(graph, list(ops), fixed_ms=0.5, link_ms_per_mib=2.0)
    for a, b in [(0, n), (2, 7), (5, 6)]:
        ins, outs = graph.segment_io(a, b)
        io = sum(graph.tensors[t].nbytes for t in (*ins, *outs)) / MiB
        assert cost.latency(a, b) == pytest.approx(0.5 + ops[a:b].sum() + 2.0 * io)
    assert not cost.monotone and AdditiveCost(graph, list(ops)).monotone
    bound = cost.lower_bound()
    assert bound is not None
    every = np.triu_indices(n + 1, 1)
    assert np.allclose(bound(*every), [cost.latency(int(i), int(j)) for i, j in zip(*every,
                                                                                 strict=True)])


def test_optimal_on_it_equals_brute_force(graph: Graph) -> None:
    n = len(graph.ops)
    for link in (0.0, 5.0):
        for k in (2, 3, 4):
            cost = AdditiveCost(graph, fixed_ms=0.1, link_ms_per_mib=link)
            best = brute_force(n, k, cost.latency).value
            p = plan(graph, k, AdditiveCost(graph, fixed_ms=0.1, link_ms_per_mib=link),
                     "optimal")
            assert p.bottleneck_ms == pytest.approx(best, rel=1e-9)


def test_bad_costs_are_one_line_errors(graph: Graph) -> None:
    with pytest.raises(TpusplitError, match="op costs for"):
        AdditiveCost(graph, [1.0, 2.0])
    with pytest.raises(TpusplitError, match="finite and >= 0"):
        AdditiveCost(graph, fixed_ms=-1.0)
