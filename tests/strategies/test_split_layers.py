"""Planning inside layers: exact on the refined chain, never worse than whole layers, and the
rewritten segments bit-exact with the original model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import tpusplit
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.files import data_dir
from tpusplit.graph.layer_split import propose, split_graph
from tpusplit.models.synthetic import conv, fc
from tpusplit.strategies import get
from tpusplit.strategies.brute_force import brute_force
from tpusplit.strategies.split_layers import _where, plan_split_layers, splittable

CORAL = data_dir() / "coral-reference" / "models"


def _usb3(graph: tpusplit.Graph) -> EdgeTPUCost:
    return EdgeTPUCost(graph, "edgetpu-usb3")


def test_conv_682_on_3_tpus_beats_whole_layers_by_a_quarter() -> None:
    """The issue's acceptance figure (model): at most 0.75x the best whole-layer plan."""
    graph = tpusplit.load(conv(682), name="conv682")
    found = plan_split_layers(graph, 3, _usb3, get("optimal"))
    assert found.plan.layer_splits
    assert found.plan.bottleneck_ms <= 0.75 * found.whole.bottleneck_ms
    assert found.plan.streamed_bytes < found.whole.streamed_bytes


@pytest.mark.parametrize("model", ["conv", "fc"])
def test_optimal_on_the_refined_chain_equals_brute_force(model: str) -> None:
    graph = tpusplit.load(conv(256, layers=3, size=16) if model == "conv" else fc(1024, layers=3))
    cands = splittable(graph, min_bytes=1, max_slices=3)
    refined = split_graph(graph, [propose(graph, c.op, c.slices) for c in cands])
    assert len(refined.ops) > len(graph.ops)
    for n in (2, 3):
        exact = get("optimal")(refined, n, _usb3(refined))
        oracle = brute_force(refined, n, _usb3(refined))
        assert exact.bottleneck_ms == pytest.approx(oracle.bottleneck_ms, rel=1e-9)


@pytest.mark.parametrize("name", ["fc2048", "fc2620", "conv702", "mobilenet_v2"])
def test_never_worse_than_whole_layers(name: str) -> None:
    data = {"fc2048": lambda: fc(2048), "fc2620": lambda: fc(2620),
            "conv702": lambda: conv(702),
            "mobilenet_v2": lambda: (CORAL / "mobilenet_v2_1.0_224_quant.tflite").read_bytes()
            }[name]()
    graph = tpusplit.load(data, name=name)
    for n in (2, 3, 4):
        for strategy in ("optimal", "balanced", "compiler"):
            found = plan_split_layers(graph, n, _usb3, get(strategy))
            assert found.plan.bottleneck_ms <= found.whole.bottleneck_ms * (1 + 1e-9)


def _run_check(model: Path, plan_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    code, out, err = cli("run", model, "--plan", plan_path, "--random", "4", "--check",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["check"]["bit_exact"] is True


@pytest.mark.parametrize(("name", "tpus"), [("fc2048", 2), ("fc2620", 4), ("conv702", 2)])
def test_cuts_inside_layers_run_bit_exact_with_the_original(name: str, tpus: int,
                                                           tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    data = {"fc2048": lambda: fc(2048), "fc2620": lambda: fc(2620),
            "conv702": lambda: conv(702)}[name]()
    model = tmp_path / f"{name}.tflite"
    model.write_bytes(data)
    code, _, err = cli("plan", model, "--tpus", str(tpus), "--replicas", "1",
                       "--split-layers", "-o", tmp_path / "plan.json")
    assert code == 0, err
    plan = tpusplit.Plan.load(tmp_path / "plan.json")
    graph = tpusplit.load(model)
    assert plan.layer_splits and plan.source_ops == len(graph.ops)
    inside = [w for w in (_where(graph, plan.layer_splits, c) for c in plan.cuts)
              if w[1] is not None]
    assert inside, "expected a cut inside a layer"
    _run_check(model, tmp_path / "plan.json", cli)
    code, _, err = cli("split", model, "--plan", tmp_path / "plan.json", "-o", tmp_path / "s")
    assert code == 0, err
    assert len(list((tmp_path / "s").glob("*.tflite"))) == plan.num_segments
    # the Python API agrees: same segments, outputs equal to the original model's
    run = tpusplit.run(model, plan, inputs=3, check=True)
    assert run.check is not None and run.check.ok


def test_a_split_plan_refuses_another_model(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(fc(2048))
    b.write_bytes(fc(2048, seed=1, layers=5))
    assert cli("plan", a, "--tpus", "2", "--split-layers", "-o", tmp_path / "p.json")[0] == 0
    code, _, err = cli("run", b, "--plan", tmp_path / "p.json", "--random", "1")
    assert code == 2 and "the plan is for another model" in err and err.count("\n") == 1


def test_compare_with_split_layers_runs_every_strategy(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "fc.tflite"
    model.write_bytes(fc(2048))
    code, out, err = cli("plan", model, "--tpus", "2", "--split-layers", "--compare", "--json")
    assert code == 0, err
    rows = {r["strategy"]: r for r in json.loads(out)}
    assert {"compiler", "balanced", "optimal", "profiled"} <= set(rows)
    assert any(r.get("layer_splits") for r in rows.values())
    code, out2, _ = cli("plan", model, "--tpus", "2", "--compare", "--json")
    whole = {r["strategy"]: r for r in json.loads(out2)}
    for name in ("compiler", "balanced", "optimal"):
        assert rows[name]["bottleneck_ms"] <= whole[name]["bottleneck_ms"] * (1 + 1e-9)
    assert np.isfinite(rows["optimal"]["bottleneck_ms"])
