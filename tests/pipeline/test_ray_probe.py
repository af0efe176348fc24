"""``cluster probe``'s measurement on the session's local Ray cluster: every live node, links
fitted, and a listed node that cannot run its probe left out with a warning."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.ray

from tpusplit.pipeline.ray_probe import ProbedNode, fit, live_nodes, probe_links  # noqa: E402


def test_every_live_node_is_probed(ray_cluster: Any) -> None:
    nodes = live_nodes()
    assert {"hostA", "hostB", "hostC"} <= {n.name for n in nodes}
    used, links = probe_links(nodes, [1000, 300_000], repeats=1)
    assert len(links) == len(used) * (len(used) - 1)
    assert all(lk.bandwidth_mb_s > 0 and lk.latency_ms >= 0 for lk in links)


def test_a_node_that_cannot_run_its_probe_is_left_out(ray_cluster: Any) -> None:
    """A node listed as alive that is gone (here: an id no node has) is left out, with a
    warning naming it, and the others are still measured."""
    ghost = ProbedNode("ab" * 28, "nowhere", 1, {"hostZ": 4.0}, "hostZ")
    nodes = [n for n in live_nodes() if n.name in ("hostA", "hostB")]
    with pytest.warns(UserWarning, match="node hostZ .* left out"):
        used, links = probe_links([*nodes, ghost], [1000], repeats=1)
    assert sorted(n.name for n in used) == ["hostA", "hostB"]
    assert sorted((lk.a, lk.b) for lk in links) == [("hostA", "hostB"), ("hostB", "hostA")]


def test_fit_recovers_latency_and_bandwidth() -> None:
    bw, lat = fit([(0, 0.5), (1_000_000, 10.5)])  # 1 MB in 10 ms: 100 MB/s, 0.5 ms
    assert bw == pytest.approx(100.0) and lat == pytest.approx(0.5)
    # noisy large transfers must not move the latency the small ones measure (the probe
    # once fitted 4.6 ms where 1 KB took 1.8 ms)
    noisy = [(1000, 1.8), (1000, 1.85), (1_000_000, 14.0), (1_000_000, 20.0),
             (4_000_000, 40.0), (4_000_000, 52.0)]
    _, lat = fit(noisy)
    assert 1.5 < lat < 2.1
