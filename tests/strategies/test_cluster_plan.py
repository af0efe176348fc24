"""Plans across hosts: network transfers at cuts between hosts, against brute force."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tpusplit.devices.cluster_spec import parse_cluster
from tpusplit.graph import load
from tpusplit.models.synthetic import conv
from tpusplit.strategies import Plan
from tpusplit.strategies.cluster import plan_cluster

Cli = Callable[..., tuple[int, str, str]]


def two_hosts(bandwidth_mb_s: float, latency_ms: float = 0.1) -> dict[str, Any]:
    return {"hosts": [{"name": "a", "devices": "usb3:1"}, {"name": "b", "devices": "usb3:1"}],
            "links": [{"from": "a", "to": "b", "bandwidth_mb_s": bandwidth_mb_s,
                       "latency_ms": latency_ms}]}


@pytest.fixture(scope="module")
def graph() -> Any:
    return load(conv(512, layers=6, size=16))


def brute_bottleneck(graph: Any, plan_hosts: dict[str, Any]) -> float:
    """Every cut set on at most two devices, each order of hosts: the best bottleneck."""
    from tpusplit.costs.edgetpu import EdgeTPUCost

    cluster = parse_cluster(plan_hosts)
    cost = EdgeTPUCost(graph, "edgetpu-usb3")
    n = len(graph.ops)
    best = cost.latency(0, n)
    for c in range(1, n):
        for a, b in itertools.permutations(["a", "b"]):
            move = cluster.transfer_ms(a, b, int(graph.crossing_bytes[c]))
            best = min(best, max(cost.latency(0, c), cost.latency(c, n), move))
    return best


@pytest.mark.parametrize("bandwidth", [0.5, 5.0, 50.0, 5000.0])
def test_plan_cluster_is_exact_and_reports_the_network(graph: Any, bandwidth: float) -> None:
    spec = two_hosts(bandwidth)
    plan = plan_cluster(graph, parse_cluster(spec), "throughput")
    assert plan.bottleneck_ms == pytest.approx(brute_bottleneck(graph, spec))
    assert len(plan.network_ms) == len(plan.cuts)
    if plan.cuts:
        c = plan.cuts[0]
        want = 0.1 + int(graph.crossing_bytes[c]) / (bandwidth * 1e3)
        assert plan.network_ms[0] == pytest.approx(want)
        assert {s.host for s in plan.segments} == {"a", "b"}
        assert any(f"cut {c}: " in n and " B, " in n for n in plan.notes)
    else:
        assert plan.notes[-1] == "network: none (one host)"
    again = Plan.from_dict(json.loads(plan.to_json()))
    assert again.network_ms == plan.network_ms and again.segments == plan.segments


def test_a_slow_network_keeps_one_host_a_fast_one_splits(graph: Any) -> None:
    slow = plan_cluster(graph, parse_cluster(two_hosts(0.01)), "throughput")
    fast = plan_cluster(graph, parse_cluster(two_hosts(1e5, 0.0)), "throughput")
    assert slow.num_segments == 1 and fast.num_segments == 2
    assert fast.bottleneck_ms < slow.bottleneck_ms


def test_latency_objective_and_bad_objective(graph: Any) -> None:
    plan = plan_cluster(graph, parse_cluster(two_hosts(50.0)), "latency")
    assert plan.strategy == "cluster-latency"
    from tpusplit.errors import TpusplitError

    with pytest.raises(TpusplitError, match="a cluster plan minimises throughput or latency"):
        plan_cluster(graph, parse_cluster(two_hosts(50.0)), "energy")


def test_cli_plan_cluster(cli: Cli, tmp_path: Path) -> None:
    model = tmp_path / "conv.tflite"
    model.write_bytes(conv(512, layers=6, size=16))
    spec = tmp_path / "cluster.json"
    spec.write_text(json.dumps(two_hosts(1e4, 0.05)))
    code, out, err = cli("plan", model, "--cluster", spec, "-o", tmp_path / "plan.json")
    assert code == 0, err
    assert "network ms after" in out and "network: cut" in out and "host" in out
    plan = Plan.load(tmp_path / "plan.json")
    assert [s.host for s in plan.segments] == ["a", "b"] or [s.host for s in
                                                             plan.segments] == ["b", "a"]
    code, out, err = cli("plan", model, "--cluster", spec, "--json")
    assert code == 0 and json.loads(out)["network_ms"]
    code, _, err = cli("plan", model, "--cluster", spec, "--tpus", "2")
    assert code == 2 and err.count("\n") == 1 and "leave out --tpus" in err
    code, _, err = cli("plan", model, "--cluster", tmp_path / "missing.json")
    assert code == 2 and err == f"error: {tmp_path / 'missing.json'}: no such file\n"


def test_a_cluster_plan_also_runs_on_one_host(cli: Cli, tmp_path: Path) -> None:
    """Without --cluster, a cluster plan runs in threads here: each segment on its kind."""
    model = tmp_path / "conv.tflite"
    model.write_bytes(conv(8, layers=4, size=16))
    spec = tmp_path / "cluster.json"
    spec.write_text(json.dumps({
        "hosts": [{"name": "a", "devices": "cpu:1"}, {"name": "b", "devices": "cpu:1"}],
        "links": [{"from": "a", "to": "b", "bandwidth_mb_s": 1e6, "latency_ms": 0.0}]}))
    code, _, err = cli("plan", model, "--cluster", spec, "-o", tmp_path / "plan.json")
    assert code == 0, err
    code, out, err = cli("run", model, "--plan", tmp_path / "plan.json", "--random", "3",
                         "--check", "--json")
    assert code == 0, err
    assert json.loads(out)["check"]["bit_exact"] is True
    code, _, err = cli("run", model, "--cuts", "2", "--cluster", "auto", "--pin")
    assert code == 2 and err.startswith("error: --pin pins the threaded runner's stages")


def test_a_cluster_plan_reports_energy_as_every_plan_does() -> None:
    graph = load(conv(64, layers=4, size=16))
    plan = plan_cluster(graph, parse_cluster(two_hosts(1e4, 0.05)), "throughput")
    assert plan.energy_mj is not None and plan.energy_mj > 0
    assert "energy_mj" in plan.as_dict() and plan.as_dict()["energy_mj"] == plan.energy_mj
