"""The pipeline runner's host time: what a plan's bottleneck and a simulation charge per stage."""

from __future__ import annotations

import numpy as np
import pytest

from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.runner import RunnerModel
from tpusplit.devices.profiles import load_profile
from tpusplit.devices.target import check_runner
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import fc
from tpusplit.partition.device_chain import runner_period
from tpusplit.sim import simulate
from tpusplit.strategies import plan
from tpusplit.strategies.base import make_plan


def test_period_of_each_runner() -> None:
    stages = [0.1, 0.2, 0.1, 0.05]
    python = RunnerModel("python", 0.25, serial=True)
    assert python.period_ms(stages) == pytest.approx(4 * 0.25)  # the GIL: 4 stages in turn
    assert python.period_ms([3.0, 1.0]) == pytest.approx(3.25)  # a long stage dominates
    assert python.period_ms([3.0]) == 3.0  # one segment runs without a pipeline runner
    coral = RunnerModel("coral", 0.25, serial=False)
    assert coral.period_ms(stages) == pytest.approx(0.45)
    assert RunnerModel("none").period_ms(stages) == 0.2
    with pytest.raises(TpusplitError, match="--runner"):
        check_runner("java")
    with pytest.raises(TpusplitError, match="finite"):
        RunnerModel("python", float("inf"))


def test_short_stages_are_not_free() -> None:
    """The fc family on 4 TPUs: stages of a tenth of a millisecond. The measured pipelines
    grow by a quarter millisecond per stage (data/edgetpu-measurements/fc_4tpu_even_split.csv:
    0.98 ms for N=100); the simulation and the plan now say so, and more stages cost more."""
    g = load(fc(100))
    cost = EdgeTPUCost(g, "edgetpu-usb3-sweeps")
    h = load_profile("edgetpu-usb3-sweeps").python_stage_ms
    assert 0.2 < h < 0.3
    sim = simulate(cost, [3, 5, 7], batch=50)
    assert sim.time_per_inference_ms == pytest.approx(0.98, rel=0.1)
    bare = simulate(EdgeTPUCost(g, "edgetpu-usb3-sweeps", runner="none"), [3, 5, 7], batch=50)
    assert bare.time_per_inference_ms < 0.5 * sim.time_per_inference_ms
    plans = [plan(g, n, cost, "optimal") for n in (1, 2, 4)]
    assert plans[2].bottleneck_ms >= 4 * h
    assert plans[2].throughput_ips < plans[1].throughput_ips < plans[0].throughput_ips
    assert plans[2].as_dict()["runner"] == {"name": "python", "stage_ms": h, "serial": True}


def test_host_ms_and_coral_runner_override_the_profile() -> None:
    g = load(fc(100))
    custom = EdgeTPUCost(g, "edgetpu-usb3", runner="coral", host_ms=1.0)
    assert custom.runner == RunnerModel("coral", 1.0, serial=False)
    sim = simulate(custom, [3, 5], batch=1)
    assert sim.time_per_inference_ms == pytest.approx(
        sum(s.latency_ms for s in sim.segments) + 3 * 1.0)


def test_copies_of_one_stage_are_charged_host_time() -> None:
    """A one-stage plan with copies is handed its inputs by the runner (the simulator and the
    period charge it); ``Plan.host_ms`` says the same, and one device still costs nothing."""
    g = load(fc(100))
    cost = EdgeTPUCost(g, "edgetpu-usb3-sweeps")
    h = load_profile("edgetpu-usb3-sweeps").python_stage_ms
    alone = make_plan("stages", g, cost, [], None)
    copies = make_plan("stages", g, cost, [], None, replicas=[3])
    assert alone.host_ms == 0.0
    assert copies.host_ms == pytest.approx(h)
    single = cost.segment(0, len(g.ops)).latency_ms
    assert copies.bottleneck_ms == pytest.approx(max((single + h) / 3, 1 * h))


@pytest.mark.parametrize("serial", [True, False])
def test_the_partition_layers_twin_of_the_period_agrees(serial: bool) -> None:
    """``partition.device_chain.runner_period`` (the pure layer cannot import the runner) is
    ``RunnerModel.period_ms`` for a pipeline without replicas."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        stages = list(rng.uniform(0.01, 3.0, size=int(rng.integers(1, 6))))
        host = float(rng.choice([0.0, 0.25, 1.5]))
        runner = RunnerModel("python" if serial else "coral", host, serial=serial)
        twin = runner_period(max(stages), len(stages), host, host if serial else 0.0)
        assert twin == pytest.approx(runner.period_ms(stages))
