"""The facade: from a file to a plan, a simulation and a running pipeline in Python."""

from __future__ import annotations

from pathlib import Path

import pytest

import tpusplit
from tpusplit.costs.additive import AdditiveCost
from tpusplit.models.synthetic import conv


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv(32, layers=4, size=16))
    return path


def test_plan_simulate_run_from_a_file(model: Path, tmp_path: Path) -> None:
    plan = tpusplit.plan(model, 2, device="edgetpu-pcie")
    assert plan.num_segments == 2 and plan.device == "edgetpu-pcie" and plan.batch == 15
    plan.save(tmp_path / "plan.json")
    again = tpusplit.Plan.load(tmp_path / "plan.json")
    assert again.cuts == plan.cuts and again.model_fingerprint == plan.model_fingerprint
    sim = tpusplit.simulate(model, again, device="edgetpu-pcie")
    assert sim.time_per_inference_ms == pytest.approx(plan.time_per_inference_ms)
    run = tpusplit.run(model, again, inputs=4, check=True)
    assert run.measurement.count == 4 and len(run.outputs) == 4
    assert run.check is not None and run.check.ok
    assert run.measurement.baseline_ms is not None and run.measurement.speedup is not None


def test_the_same_with_cuts_bytes_and_a_cost_source(model: Path) -> None:
    data = model.read_bytes()
    graph = tpusplit.load(data)
    plan = tpusplit.plan(data, 2, cost=AdditiveCost(graph), strategy="balanced")
    assert plan.device == "additive" and plan.strategy == "balanced"
    assert tpusplit.simulate(graph, list(plan.cuts)).cuts == list(plan.cuts)
    assert tpusplit.run(graph, list(plan.cuts), inputs=2, device="null").measurement.count == 2


def test_mistakes_are_tpusplit_errors(model: Path, tmp_path: Path) -> None:
    with pytest.raises(tpusplit.TpusplitError, match="unknown device"):
        tpusplit.plan(model, 2, device="gpu")
    with pytest.raises(tpusplit.TpusplitError, match="outside"):
        tpusplit.run(model, [99])
    other = tmp_path / "other.tflite"
    other.write_bytes(conv(16, layers=4, size=16))
    with pytest.raises(tpusplit.TpusplitError, match="another model"):
        tpusplit.run(other, tpusplit.plan(model, 2))


def test_the_readme_example_is_this_api() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for call in ("tpusplit.plan(", "tpusplit.simulate(", "tpusplit.run("):
        assert call in readme
    assert all(call in tpusplit.__doc__ for call in ("tpusplit.plan(", "tpusplit.run("))
