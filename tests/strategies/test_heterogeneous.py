"""Planning for a mix of devices against brute force, and through the CLI."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tpusplit.costs.additive import AdditiveCost
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.devices.kinds import parse_devices
from tpusplit.graph import bounds, load
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv
from tpusplit.partition.placement import place_brute_force
from tpusplit.strategies.heterogeneous import (
    place_layers,
    plan_as_slowest,
    plan_devices,
)


def _costs(g: object) -> list[object]:
    """A fast TPU-like kind and a CPU-like kind (per-op costs that differ by op)."""
    tpu = EdgeTPUCost(g, "edgetpu-usb3")  # type: ignore[arg-type]
    cpu = AdditiveCost(g, lambda op: 0.02 + op.macs / 2e8, fixed_ms=0.05)  # type: ignore[arg-type]
    return [tpu, cpu]


@pytest.mark.parametrize("seed", [0, 3])
def test_plan_devices_is_the_best_of_every_pipeline(seed: int) -> None:
    g = load(random_net(seed))
    kinds = parse_devices("usb3:1,cpu:2")
    costs = _costs(g)
    p = plan_devices(g, kinds, "throughput", costs=costs)  # type: ignore[arg-type]
    n = len(g.ops)
    best = float("inf")
    for k in range(1, 4):
        for cuts in itertools.combinations(range(1, n), k - 1):
            for assign in itertools.product(range(2), repeat=k):
                if assign.count(0) > 1 or assign.count(1) > 2:
                    continue
                best = min(best, p.runner.period_ms(
                    [costs[t].latency(a, b)  # type: ignore[attr-defined]
                     for t, (a, b) in zip(assign, bounds(g, cuts), strict=True)]))
    # what the plan reports (the runner's host time per stage included) is the minimum
    assert p.runner.stage_ms > 0
    assert p.bottleneck_ms == pytest.approx(best)
    assert {s.device for s in p.segments} <= {"usb3", "cpu"}
    assert p.energy_mj is not None and p.energy_mj > 0
    base = plan_as_slowest(g, kinds, costs=costs)  # type: ignore[arg-type]
    assert p.bottleneck_ms <= base.bottleneck_ms + 1e-9


def test_objectives_and_per_layer_placement() -> None:
    g = load(random_net(4))
    kinds = parse_devices("usb3:1,cpu:1")
    costs = _costs(g)
    lat = plan_devices(g, kinds, "latency", costs=costs)  # type: ignore[arg-type]
    thr = plan_devices(g, kinds, "throughput", costs=costs)  # type: ignore[arg-type]
    assert sum(s.latency_ms for s in lat.segments) <= sum(s.latency_ms for s in thr.segments) \
        + 1e-9
    assert thr.bottleneck_ms <= lat.bottleneck_ms + 1e-9
    layers = place_layers(g, kinds, "latency", costs=costs)  # type: ignore[arg-type]
    # placement may revisit a kind, so it is never worse than a 2-device contiguous pipeline
    assert layers.cost <= sum(s.latency_ms for s in lat.segments) + 1e-9
    table = np.stack([c.matrix() for c in costs])  # type: ignore[arg-type]
    if len(g.ops) <= 9:
        assert layers.cost == pytest.approx(place_brute_force(table).cost)
    energy = place_layers(g, kinds, "energy", costs=costs)  # type: ignore[arg-type]
    assert energy.unit == "mJ" and energy.cost > 0


def test_plan_and_run_a_mixed_plan_through_the_cli(cli: Callable[..., tuple[int, str, str]],
                                                  tmp_path: Path) -> None:
    m = tmp_path / "c.tflite"
    m.write_bytes(conv(24, layers=4, size=16))
    plan = tmp_path / "mix.json"
    code, out, err = cli("plan", m, "--devices", "usb3:1,cpu:1", "--compare", "-o", plan,
                         "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["device"] == "usb3:1,cpu:1" and d["energy_mj"] > 0 and d["compare"]
    assert all(s["device"] in ("usb3", "cpu") for s in d["segments"])
    code, out, err = cli("plan", m, "--devices", "usb3:2", "--objective", "energy")
    assert code == 0 and "energy" in out and "inferences/J" in out
    code, out, err = cli("run", m, "--plan", plan, "--random", "3", "--check",
                         "--simulate-tpu", "--json")
    assert code == 0, err
    assert json.loads(out)["check"]["bit_exact"]
    if any(s["device"] == "usb3" for s in d["segments"]):
        code, _, err = cli("run", m, "--plan", plan, "--random", "2")
        assert code == 2 and "libedgetpu" in err and len(err.strip().splitlines()) == 1
    for args, words in ((("--devices", "usb9:1"), "unknown device kind"),
                        (("--tpus", "2", "--devices", "cpu"), "one of them"),
                        (("--devices", "cpu", "--objective", "speed"), "--objective"),
                        ((), "one of them")):
        code, _, err = cli("plan", m, *args)
        assert code == 2 and words in err and "Traceback" not in err, (args, err)
    code, _, err = cli("run", m, "--cuts", "2", "--simulate-tpu", "--random", "1")
    assert code == 2 and "--simulate-tpu needs" in err
