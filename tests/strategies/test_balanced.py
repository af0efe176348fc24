"""balanced: narrow cuts, balanced latency, and never more streaming than the compiler."""

from __future__ import annotations

import numpy as np
import pytest
from strategy_costs import MatrixCost, random_costs

from tpusplit.graph import load
from tpusplit.models.random_net import random_net
from tpusplit.strategies import plan
from tpusplit.strategies.balanced import narrow_cuts


@pytest.fixture(scope="module")
def nets():  # type: ignore[no-untyped-def]
    return [load(random_net(s)) for s in range(3)]


def test_narrow_cuts_are_outside_branches(nets) -> None:  # type: ignore[no-untyped-def]
    for g in nets:
        cuts, width = narrow_cuts(g, 2)
        assert width == 1
        assert cuts and all(len(g.crossing(k)) == 1 for k in cuts)
        inside = [k for k in range(1, len(g.ops)) if len(g.crossing(k)) > 1]
        assert inside and not set(inside) & set(cuts)
        many, _wide = narrow_cuts(g, len(g.ops) - 1)
        assert many == list(range(1, len(g.ops)))


@pytest.mark.parametrize("kind", ["additive", "boundary", "cliff"])
def test_streams_no_more_than_compiler_and_cuts_narrow(nets, kind: str) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    for g in nets:
        n = len(g.ops)
        first = g.output_ops[0]
        for k in (2, 3, 4):
            if k - 1 > first:
                continue
            lat, off = random_costs(n, kind, rng)
            comp = plan(g, k, MatrixCost(g, lat, off), "compiler")
            bal = plan(g, k, MatrixCost(g, lat, off), "balanced")
            opt = plan(g, k, MatrixCost(g, lat, off), "optimal")
            assert bal.streamed_bytes <= comp.streamed_bytes
            assert opt.bottleneck_ms <= bal.bottleneck_ms
            assert all(s.end > s.start for s in bal.segments)
            if not any("any cuts" in x or "least streaming" in x for x in bal.notes):
                narrow, _ = narrow_cuts(g, k - 1)
                assert set(bal.cuts) <= set(narrow)


def test_refines_away_streaming_when_the_cache_allows(nets) -> None:  # type: ignore[no-untyped-def]
    """Latency alone prefers streaming partitions; balanced picks a non-streaming one."""
    g = nets[0]
    n = len(g.ops)
    narrow, _ = narrow_cuts(g, 1)
    good = min(narrow, key=lambda k: abs(2 * k - n))
    size = max(good, n - good)  # segments of more ops than this stream
    off = np.fromfunction(lambda i, j: np.maximum(0, (j - i) - size) * 100, (n + 1, n + 1)
                          ).astype(np.int64)
    length = np.fromfunction(lambda i, j: j - i, (n + 1, n + 1))
    lat = np.where(off > 0, 1.0, 1.0 + 0.01 * length)  # streaming is (artificially) faster
    p = plan(g, 2, MatrixCost(g, lat, off), "balanced")
    assert p.streamed_bytes == 0
    assert p.cuts[0] in narrow and n - size <= p.cuts[0] <= size
    fastest = plan(g, 2, MatrixCost(g, lat, off), "optimal")
    assert fastest.streamed_bytes > 0 and fastest.bottleneck_ms < p.bottleneck_ms
