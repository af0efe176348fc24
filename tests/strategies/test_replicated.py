"""Plans with replicas: the replica-aware optimal against pure stages and pure replicas, the
plan's figures against the optimiser's, and running a replicated plan for real."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tpusplit
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.files import data_dir
from tpusplit.models.synthetic import conv, fc
from tpusplit.partition import replica_brute_force
from tpusplit.strategies import get
from tpusplit.strategies.replicated import optimal_replicated, pure_replicas

CORAL = data_dir() / "coral-reference" / "models"
MODELS = {
    "conv682": lambda: conv(682),
    "conv256": lambda: conv(256, layers=6, size=32),
    "fc2048": lambda: fc(2048),
    "mobilenet_v1_0.5": lambda: (CORAL / "mobilenet_v1_0.5_160_quant.tflite").read_bytes(),
}


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("device", ["edgetpu-usb3", "edgetpu-pcie"])
def test_hybrid_is_never_worse_than_pure_stages_or_pure_replicas(name: str,
                                                                 device: str) -> None:
    graph = tpusplit.load(MODELS[name]())
    cost = EdgeTPUCost(graph, device)
    for n in range(1, 9):
        hybrid = optimal_replicated(graph, n, cost)
        assert hybrid.devices_used <= n
        best_stages = get("optimal")(graph, min(n, len(graph.ops)), cost)
        assert hybrid.bottleneck_ms <= best_stages.bottleneck_ms * (1 + 1e-9)
        assert hybrid.bottleneck_ms <= pure_replicas(graph, n, cost).bottleneck_ms * (1 + 1e-9)
        # the plan's bottleneck is the optimiser's proved value
        assert hybrid.bottleneck_ms == pytest.approx(hybrid.lower_bound_ms, rel=1e-9)


def test_the_plan_equals_brute_force_on_a_small_model() -> None:
    graph = tpusplit.load(conv(256, layers=5, size=32))
    cost = EdgeTPUCost(graph, "edgetpu-usb3")
    r = cost.runner
    for n in (2, 3, 5):
        found = optimal_replicated(graph, n, cost)
        oracle = replica_brute_force(len(graph.ops), n, cost.latency, host=r.stage_ms,
                                     serial=r.stage_ms if r.serial else 0.0,
                                     link=cost.link_ms)
        assert found.bottleneck_ms == pytest.approx(oracle.value, rel=1e-9)


def test_replicas_1_is_the_pure_pipeline_and_the_default_may_replicate(
        tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "mnv1.tflite"
    model.write_bytes(MODELS["mobilenet_v1_0.5"]())
    pure = tpusplit.plan(model, 4, replicas=1)
    graph = tpusplit.load(model)
    assert pure.replicas == () and pure.cuts == get("optimal")(
        graph, 4, EdgeTPUCost(graph, "edgetpu-usb3")).cuts
    hybrid = tpusplit.plan(model, 4)
    assert hybrid.replicas and hybrid.devices_used <= 4
    assert hybrid.bottleneck_ms < pure.bottleneck_ms
    # the simulator runs the replicas: the plan's time per inference is the simulated one
    assert tpusplit.simulate(model, hybrid).time_per_inference_ms == pytest.approx(
        hybrid.time_per_inference_ms)
    code, out, err = cli("plan", model, "--tpus", "4", "--compare", "--json")
    assert code == 0, err
    rows = {r["strategy"]: r for r in json.loads(out)}
    assert {"optimal", "stages", "replicas"} <= set(rows)
    assert rows["optimal"]["bottleneck_ms"] <= min(rows["stages"]["bottleneck_ms"],
                                                    rows["replicas"]["bottleneck_ms"]) + 1e-9
    assert [s["replicas"] for s in rows["replicas"]["segments"]] == [4]


def test_a_replicated_plan_runs_bit_exact_on_cpu_cores(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "c.tflite"
    model.write_bytes(conv(64, layers=4, size=16))
    graph = tpusplit.load(model)
    plan = optimal_replicated(graph, 3, EdgeTPUCost(graph, "edgetpu-pcie"), max_stages=2)
    if not plan.replicas:
        pytest.fail(f"expected a replicated plan, got {plan.cuts}")
    run = tpusplit.run(model, plan, inputs=12, check=True)
    assert run.check is not None and run.check.ok and len(run.outputs) == 12
    assert run.context["replicas"] == list(plan.replicas)
    plan.save(tmp_path / "plan.json")
    code, out, err = cli("run", model, "--plan", tmp_path / "plan.json", "--random", "6",
                         "--check", "--json")
    assert code == 0, err
    assert json.loads(out)["replicas"] == list(plan.replicas)


@pytest.mark.zoo
def test_hybrid_is_never_worse_on_the_zoo() -> None:
    """The acceptance sweep: every converted zoo model, N = 1..8, both profiles (needs
    ``tpusplit zoo build``)."""
    from tpusplit.models import zoo

    found = zoo.available()
    if not found:
        pytest.skip("the zoo is not built (tpusplit zoo build)")
    for name in found:
        path = zoo.zoo_path(name)
        graph = tpusplit.load(path)
        for device in ("edgetpu-usb3", "edgetpu-pcie"):
            cost = EdgeTPUCost(graph, device)
            for n in range(1, 9):
                hybrid = optimal_replicated(graph, n, cost)
                stages = get("optimal")(graph, n, cost)
                assert hybrid.bottleneck_ms <= stages.bottleneck_ms * (1 + 1e-9), (path, n)
                assert hybrid.bottleneck_ms <= pure_replicas(graph, n, cost).bottleneck_ms * (
                    1 + 1e-9), (path, n)


def test_copies_of_a_streaming_model_share_a_usb_link_but_not_pcie_lanes() -> None:
    """conv F=682 streams 12 MiB per input: four copies on one USB link pass one input per
    its link time, so the exact plan is a pipeline; on PCIe (a lane each) copies scale. The
    plan file keeps each segment's link time, so a reloaded plan reports the same period."""
    graph = tpusplit.load(MODELS["conv682"]())
    n = len(graph.ops)
    usb = EdgeTPUCost(graph, "edgetpu-usb3")
    pcie = EdgeTPUCost(graph, "edgetpu-pcie")
    assert usb.shared_link and not pcie.shared_link
    assert usb.link_ms(0, n) > usb.latency(0, n) / 4 and pcie.link_ms(0, n) == 0.0
    copies = pure_replicas(graph, 4, usb)
    assert copies.bottleneck_ms == pytest.approx(usb.link_ms(0, n))
    assert copies.time_per_inference_ms >= usb.link_ms(0, n)  # the simulator agrees
    assert any("4 copies share one USB link" in n for n in copies.notes)
    best = optimal_replicated(graph, 4, usb)
    assert best.replica_counts == (1, 1, 1, 1)
    assert not any("share one USB link" in n for n in best.notes)
    assert best.bottleneck_ms < copies.bottleneck_ms
    again = type(copies).from_dict(json.loads(copies.to_json()))
    assert again.segments[0].link_ms == copies.segments[0].link_ms
    assert again.bottleneck_ms == copies.bottleneck_ms
    on_pcie = pure_replicas(graph, 4, pcie)
    assert not any("USB link" in n for n in on_pcie.notes)
    assert on_pcie.bottleneck_ms == pytest.approx(
        (pcie.latency(0, n) + pcie.runner.stage_ms) / 4)
