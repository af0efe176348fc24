"""An SSD's post-processing, left by the Edge TPU to the host: costed on the host CPU, planned
as a stage of its own when that is faster, and run bit-exact with the whole model."""

from __future__ import annotations

from pathlib import Path

import pytest

import tpusplit
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.host_ops import host_tail, reference_ms
from tpusplit.graph import load
from tpusplit.models.slim import ssd_mobilenet_v1
from tpusplit.partition import replica_brute_force
from tpusplit.strategies import get
from tpusplit.strategies.base import Plan
from tpusplit.strategies.replicated import optimal_replicated


@pytest.fixture(scope="module")
def ssd() -> bytes:
    """A small SSD MobileNet v1 ending in TFLite_Detection_PostProcess (91 classes)."""
    return ssd_mobilenet_v1(size=96, multiplier=0.25, postprocess=True)


def test_the_post_processing_is_host_cpu_time_as_in_the_calibration() -> None:
    """The whole SSD with its post-processing costs what the fit charged Coral's measured
    file: the graph without it plus cpu_factor x the op's reference-CPU time, which is the
    time measured for Coral's COCO SSD (1917 anchors x 91 classes)."""
    with_pp = load(ssd_mobilenet_v1(postprocess=True))
    without = load(ssd_mobilenet_v1())
    n = len(with_pp.ops)
    post = n - 1
    assert with_pp.ops[post].custom_code == "TFLite_Detection_PostProcess"
    assert reference_ms(with_pp, post) == pytest.approx(0.297)
    assert host_tail(with_pp) == len(without.ops)  # the two DEQUANTIZEs and the op
    assert host_tail(without) is None
    for profile in ("edgetpu-usb3", "edgetpu-devboard"):
        a, b = EdgeTPUCost(with_pp, profile), EdgeTPUCost(without, profile)
        host = a.profile.cpu_factor * 0.297
        assert a.latency(0, n) == pytest.approx(b.latency(0, len(without.ops)) + host)
        assert a.latency(len(without.ops), n) == pytest.approx(host)  # no Edge TPU invoke
        bound = a.lower_bound()
        assert bound is not None and float(bound(len(without.ops), n)) <= host


@pytest.mark.parametrize("devices", [1, 2, 4])
@pytest.mark.parametrize("profile", ["edgetpu-usb3", "edgetpu-devboard"])
def test_a_host_stage_when_faster_and_exact_before_it(ssd: bytes, devices: int,
                                                      profile: str) -> None:
    g = load(ssd)
    cost = EdgeTPUCost(g, profile)
    tail = host_tail(g)
    assert tail is not None
    plan = optimal_replicated(g, devices, cost, host_cores=2)
    whole = optimal_replicated(g, devices, cost, host_cores=2, max_stages=1)
    assert plan.devices_used <= devices
    assert plan.time_per_inference_ms <= whole.time_per_inference_ms + 1e-9
    if plan.host_stage:
        assert plan.cuts[-1] == tail and plan.segments[-1].device == "cpu"
        assert plan.replica_counts[-1] <= 2
        # the device stages before it: the exact programme's value, checked by brute force
        r = cost.runner
        oracle = replica_brute_force(tail, devices, cost.latency, host=r.stage_ms,
                                     serial=r.stage_ms if r.serial else 0.0,
                                     link=cost.link_ms if cost.shared_link else None)
        assert list(plan.cuts[:-1]) == list(oracle.cuts)
        assert plan.replica_counts[:-1] == tuple(oracle.replicas)


def test_a_host_stage_plan_round_trips_and_runs_bit_exact(tmp_path: Path) -> None:
    """COCO's SSD on 4 PCIe TPUs: the post-processing on the host beats doing it in each copy.
    On 4 USB TPUs sharing one link the copies' transfers are the bottleneck, so it does not."""
    model = tmp_path / "ssd.tflite"
    model.write_bytes(ssd_mobilenet_v1(postprocess=True))
    usb = tpusplit.plan(model, tpus=4, device="edgetpu-usb3")
    assert not usb.host_stage and usb.replica_counts == (4,)
    link = usb.segments[0].link_ms
    assert link > 0 and usb.bottleneck_ms == pytest.approx(link)
    plan = tpusplit.plan(model, tpus=4, device="edgetpu-pcie")
    assert plan.host_stage, plan.notes
    again = Plan.load(_saved(plan, tmp_path / "plan.json"))
    assert again.host_stage and again.devices_used == plan.devices_used <= 4
    run = tpusplit.run(model, again, 6, simulate_tpu=True, check=True)
    assert run.check is not None and run.check.ok and run.check.compared == 6


def _saved(plan: Plan, path: Path) -> Path:
    plan.save(path)
    return path


def test_a_pure_pipeline_gets_its_host_stage_too(tmp_path: Path) -> None:
    """``replicas=1`` (a pure pipeline): the host stage is one copy, the device stages one
    device each, and the plan is no slower than the pipeline without it."""
    model = tmp_path / "ssd.tflite"
    model.write_bytes(ssd_mobilenet_v1(postprocess=True))
    plan = tpusplit.plan(model, tpus=3, replicas=1, device="edgetpu-usb3")
    assert plan.host_stage and plan.replica_counts == (1,) * plan.num_segments
    assert plan.devices_used == plan.num_segments - 1 <= 3
    g = load(model)
    plain = get("optimal")(g, 3, EdgeTPUCost(g, "edgetpu-usb3"))  # no host stage
    assert not plain.host_stage
    assert plan.time_per_inference_ms < plain.time_per_inference_ms
