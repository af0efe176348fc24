"""Device sets, the CPU op model and the energy model."""

from __future__ import annotations

import pytest

from tpusplit.costs.additive import AdditiveCost
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.devices.energy import POWER, pipeline_energy, power_of
from tpusplit.devices.kinds import describe, parse_devices
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.random_net import random_net
from tpusplit.profiling.cpu_ops import CPUOpCost, fit_overhead


def test_parse_devices() -> None:
    kinds = parse_devices("usb3:2, pcie ,cpu@2:1,edgetpu-rpi3-usb2:3")
    assert [(k.label, k.count, k.backend, k.threads) for k in kinds] == [
        ("usb3", 2, "edgetpu", 1), ("pcie", 1, "edgetpu", 1), ("cpu@2", 1, "cpu", 2),
        ("edgetpu-rpi3-usb2", 3, "edgetpu", 1)]
    assert kinds[0].profile == "edgetpu-usb3" and kinds[2].profile is None
    assert describe(kinds) == "usb3:2,pcie:1,cpu@2:1,edgetpu-rpi3-usb2:3"
    assert kinds[2].power.active_w == 2 * POWER["cpu"].active_w


@pytest.mark.parametrize("text, words", [
    ("usb4:2", "unknown device kind 'usb4'"), ("usb3:x", "not a whole number"),
    ("usb3:0", "count must be >= 1"), ("usb3:1,usb3:2", "listed twice"), ("", "empty"),
    ("cpu:17", "at most 16"), ("nope.json:1", "not found"),
])
def test_bad_device_sets(text: str, words: str) -> None:
    with pytest.raises(TpusplitError, match=words) as err:
        parse_devices(text)
    assert "\n" not in str(err.value) and str(err.value).startswith("--devices")


def test_fit_overhead_recovers_the_invoke_cost() -> None:
    true_op = [1.0, 2.0, 0.5, 3.0, 1.5]
    o = 0.2
    lone = [t + o for t in true_op]  # each op timed alone pays the invoke once
    segs = [(a, b, o + sum(true_op[a:b])) for a, b in ((0, 2), (1, 5), (0, 5), (2, 4))]
    assert fit_overhead(lone, segs) == pytest.approx(o)
    assert fit_overhead(lone, []) == 0.0


def test_cpu_op_cost_is_additive_with_an_exact_bound() -> None:
    g = load(random_net(1))
    n = len(g.ops)
    per = [0.1 * (i % 3 + 1) for i in range(n)]
    truth = AdditiveCost(g, per, fixed_ms=0.05)  # what a profiler sees: every run pays 0.05
    cost = CPUOpCost(g, profiler=truth)
    assert cost.overhead_ms == pytest.approx(0.05)
    bound = cost.lower_bound()
    assert bound is not None
    for a, b in ((0, 1), (0, n), (2, n - 1)):
        assert cost.latency(a, b) == pytest.approx(truth.latency(a, b))
        assert float(bound(a, b)) == pytest.approx(cost.latency(a, b))  # type: ignore[arg-type]
    assert cost.power().active_w == POWER["cpu"].active_w
    assert cost.profile_runs >= n


def test_cpu_op_cost_on_litert_runs() -> None:
    g = load(random_net(2))
    cost = CPUOpCost(g, check_segments=2)
    assert all(t > 0 for t in cost.op_ms) and cost.latency(0, len(g.ops)) > 0
    assert cost.device == "cpu"


def test_pipeline_energy() -> None:
    tpu, cpu = power_of("edgetpu"), power_of("cpu", 2)
    e = pipeline_energy([4.0, 10.0], 10.0, [tpu, cpu])
    assert e.active_mj == pytest.approx(tpu.active_w * 4 + cpu.active_w * 10)
    assert e.idle_mj == pytest.approx(tpu.idle_w * 6)
    assert e.inferences_per_joule == pytest.approx(1000 / e.total_mj)
    with pytest.raises(ValueError):
        pipeline_energy([1.0], 1.0, [tpu, cpu])
    g = load(random_net(0))
    assert EdgeTPUCost(g).power() == tpu
    assert AdditiveCost(g).power() is None
