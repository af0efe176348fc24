"""The facade: from a file to a plan, a simulation and a running pipeline in Python."""

from __future__ import annotations

import json
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
    plan = tpusplit.plan(model, 2, device="edgetpu-pcie", replicas=1)
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


def _same(a: dict, b: dict) -> None:  # type: ignore[type-arg]
    """Equal but for the solve time (wall seconds differ between any two runs)."""
    assert {**a, "solve_seconds": 0} == {**b, "solve_seconds": 0}


@pytest.mark.parametrize("args", [
    ["--tpus", "2"],
    ["--tpus", "3", "--device", "edgetpu-usb2", "--strategy", "balanced"],
    ["--tpus", "auto", "--max-tpus", "3"],
    ["--tpus", "2", "--runner", "coral", "--clock", "std"],
])
def test_the_command_and_the_facade_give_the_same_plan(model: Path, tmp_path: Path,
                                                      cli, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("plan", model, *args, "-o", tmp_path / "cli.json")
    assert code == 0, err
    opts = dict(zip(args[::2], args[1::2], strict=True))
    tpus = opts["--tpus"]
    plan = tpusplit.plan(model, tpus if tpus == "auto" else int(tpus),
                         device=opts.get("--device", "edgetpu-usb3"),
                         strategy=opts.get("--strategy"), runner=opts.get("--runner", "python"),
                         clock=opts.get("--clock"), max_tpus=int(opts.get("--max-tpus", 8)))
    plan.save(tmp_path / "api.json")
    cli_json = json.loads((tmp_path / "cli.json").read_text())
    api_json = json.loads((tmp_path / "api.json").read_text())
    _same(cli_json, api_json)
    assert cli_json["target"]["device"] == opts.get("--device", "edgetpu-usb3")


def test_simulate_uses_the_plans_own_device(model: Path) -> None:
    """A plan for USB 2 simulates as USB 2 without saying so again (it used to fall back to
    USB 3 silently), and another device is refused rather than silently simulated."""
    usb2 = tpusplit.plan(model, 2, device="edgetpu-usb2")
    usb3 = tpusplit.plan(model, 2, device="edgetpu-usb3")
    sim = tpusplit.simulate(model, usb2)
    assert sim.time_per_inference_ms == pytest.approx(usb2.time_per_inference_ms)
    assert usb2.time_per_inference_ms > 1.1 * usb3.time_per_inference_ms
    with pytest.raises(tpusplit.TpusplitError, match="the plan is for 2 x edgetpu-usb2"):
        tpusplit.simulate(model, usb2, device="edgetpu-usb3")


def test_a_plan_file_carries_its_target_and_replicas(model: Path, tmp_path: Path) -> None:
    plan = tpusplit.plan(model, 2, device="edgetpu-pcie", runner="coral", replicas=1)
    plan.save(tmp_path / "p.json")
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["target"] == {"device": "edgetpu-pcie", "count": 2, "runner": "coral",
                              "host_ms": None, "clock": None}
    assert [s["replicas"] for s in data["segments"]] == [1, 1]
    again = tpusplit.Plan.load(tmp_path / "p.json")
    assert again.target == plan.target and again == plan
    del data["target"]  # a plan written before targets: still loads, simulates on USB 3
    for s in data["segments"]:
        del s["replicas"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = tpusplit.Plan.load(tmp_path / "old.json")
    assert old.target is None and old.replica_counts == (1, 1)
    assert tpusplit.simulate(model, old, device="edgetpu-pcie").time_per_inference_ms == \
        pytest.approx(plan.time_per_inference_ms)


def test_pipeline_streams_in_input_order(model: Path) -> None:
    """``tpusplit.pipeline``: push / pop as pycoral's PipelinedModelRunner, results in order
    and equal to the whole model's (the docstring's example runs as a doctest too)."""
    import doctest

    from tpusplit.api import facade
    from tpusplit.pipeline import random_feeds
    from tpusplit.pipeline.assemble import whole_model
    from tpusplit.pipeline.litert import LiteRTStage

    assert doctest.testmod(facade).failed == 0
    graph = tpusplit.load(model)
    feeds = random_feeds(graph, 5, seed=3)
    plan = tpusplit.plan(model, 3)
    with tpusplit.pipeline(model, plan) as pipe:
        for f in feeds:
            pipe.push(f)
        pipe.push(None)
        results = [pipe.pop() for _ in feeds]
        assert pipe.pop() is None
    whole = LiteRTStage(whole_model(graph))
    for f, r in zip(feeds, results, strict=True):
        want = whole.run(f)
        assert r is not None and all((r[k] == want[k]).all() for k in want)


def test_run_rebalances_a_drifted_plan_bit_exact(tmp_path: Path) -> None:
    """A plan whose replicas sit on the light stage (stage 0 holds the five heavy layers,
    stage 1 the last one): with ``rebalance`` the threaded runner moves one replica to
    stage 0, outputs stay bit-exact, and the run says so; without it nothing moves."""
    from dataclasses import replace

    from tpusplit.graph import load
    from tpusplit.strategies.base import SegmentFigures

    path = tmp_path / "conv.tflite"
    path.write_bytes(conv(96, layers=6, size=32))
    n = len(load(path).ops)
    plan = tpusplit.plan(path, tpus=1)
    cut = n - 1
    plan = replace(plan, cuts=(cut,), replicas=(1, 2),
                   segments=(SegmentFigures(0, cut, 1.0), SegmentFigures(cut, n, 1.0)))
    run = tpusplit.run(path, plan, 200, check=True, rebalance=True)
    assert run.check is not None and run.check.ok
    assert run.measurement.moves and "from stage 1 to stage 0" in run.measurement.moves[0]
    assert [s.replicas for s in run.measurement.stages] == [2, 1]
    assert run.measurement.as_dict()["moves"] == run.measurement.moves
    still = tpusplit.run(path, plan, 20)
    assert not still.measurement.moves
    with pytest.raises(tpusplit.TpusplitError, match="no stage with more than one"):
        tpusplit.run(path, [cut], 4, rebalance=True)
