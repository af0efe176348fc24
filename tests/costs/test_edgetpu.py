"""Latency model and profile files: hand-worked numbers, invariants and clear errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.costs.edgetpu import (
    DEVICES,
    EdgeTPUCost,
    EdgeTPUSegmentCost,
    at_clock,
    op_terms,
    stream_reads,
)
from tpusplit.costs.onchip import layer_bytes
from tpusplit.devices.profiles import DeviceProfile, load_profile, save_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models import slim
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv, fc
from tpusplit.units import MiB

UNIT = DeviceProfile(
    "unit", fixed_ms=1.0, link_ms_per_mib=2.0, conv_ms_per_mcycle=1000.0,
    depthwise_ms_per_mcycle=500.0, fc_ms_per_ktile=10.0, element_ms_per_mib=4.0, op_ms=0.5,
    act_in_ms_per_mib=3.0, act_out_ms_per_mib=5.0, reread_mib=1.0, cache_base_mib=7.76)


def test_shipped_profiles_load_and_differ_by_link() -> None:
    for name in DEVICES:
        p = load_profile(name)
        assert p.name == name and p.conv_ms_per_mcycle > 0 and p.link_ms_per_mib > 0
        assert p.link in ("usb3", "usb2", "pcie") and p.description
    usb2, usb3 = load_profile("edgetpu-usb2"), load_profile("edgetpu-usb3")
    assert usb2.link_ms_per_mib > 5 * usb3.link_ms_per_mib
    # every profile describes the same chip
    chip = {f: getattr(usb3, f) for f in ("conv_ms_per_mcycle", "element_ms_per_mib")}
    assert all({f: getattr(load_profile(n), f) for f in chip} == chip for n in DEVICES)
    assert load_profile("edgetpu") == usb3  # alias


def test_hand_worked_conv_latency() -> None:
    g = load(conv(32, layers=2, size=8))
    cost = EdgeTPUCost(g, UNIT)
    s = cost.segment(0, len(g.ops))
    assert isinstance(s, EdgeTPUSegmentCost)
    # conv 3->32 3x3: reduction 9*4 = 36 -> 1 pass per position; conv 32->32: 9*32 = 288 -> 5
    passes = 8 * 8 * (1 + 5)
    assert op_terms(g, 1).conv_mcycles * 1e6 == pytest.approx(8 * 8)
    assert not op_terms(g, 0).tpu  # QUANTIZE of the float input runs on the host
    assert s.compute_ms == pytest.approx(passes / 1e6 * 1000.0 + 2 * 0.5)
    assert s.in_ms == pytest.approx(8 * 8 * 3 / MiB * (2.0 + 3.0))  # int8 input on the device
    assert s.out_ms == pytest.approx(8 * 8 * 32 / MiB * (2.0 + 5.0))
    assert s.stream_ms == 0 and s.off_chip_bytes == 0
    assert s.latency_ms == pytest.approx(1.0 + s.compute_ms + s.in_ms + s.out_ms)


def test_depthwise_fc_and_element_terms() -> None:
    g = load(slim.mobilenet_v2(0.5, 96))
    dw = next(i for i, op in enumerate(g.ops) if op.name == "DEPTHWISE_CONV_2D")
    t = op_terms(g, dw)
    w = g.tensors[g.ops[dw].inputs[1]].shape
    h, wd = g.tensors[g.ops[dw].outputs[0]].shape[1:3]
    assert t.dw_mcycles * 1e6 == pytest.approx(h * wd * -(-w[3] // 64) * w[1] * w[2])
    add = next(i for i, op in enumerate(g.ops) if op.name == "ADD")
    assert op_terms(g, add).element_mib == pytest.approx(g.ops[add].output_bytes / MiB)
    reshape = next(i for i, op in enumerate(g.ops) if op.name == "RESHAPE")
    assert op_terms(g, reshape).ops == 0  # free
    g = load(fc(100))
    k = next(i for i, op in enumerate(g.ops) if op.name == "FULLY_CONNECTED")
    assert op_terms(g, k).fc_ktiles * 1e3 == pytest.approx(2 * 1)  # 100x64: 2 x 1 tiles


def test_streamed_weights_are_reread_with_the_working_set() -> None:
    g = load(conv(452))
    s = EdgeTPUCost(g, UNIT).features(0, len(g.ops))
    assert s.streamed_mib == pytest.approx(s.off_chip_bytes / MiB)
    # the streamed 64x64x452 layer: 2 x 64x64x512 (channels padded to 64) = 4 MiB of
    # activations, read 4 times at 1 MiB per read
    assert s.streamed_reads_mib / s.streamed_mib == pytest.approx(4.0)
    once = EdgeTPUCost(g, replace(UNIT, reread_mib=0.0)).features(0, len(g.ops))
    assert once.streamed_reads_mib == pytest.approx(once.streamed_mib)
    capped = EdgeTPUCost(g, replace(UNIT, reread_max=2.5)).features(0, len(g.ops))
    assert capped.streamed_reads_mib / capped.streamed_mib == pytest.approx(2.5)
    # fc layers have tiny activations: read once
    g = load(fc(1700))
    f = EdgeTPUCost(g, UNIT).features(0, len(g.ops))
    assert f.streamed_mib > 0 and f.streamed_reads_mib == pytest.approx(f.streamed_mib)


def test_overflowing_stages_reread_in_proportion_to_their_demand() -> None:
    """A stage whose streamed layer's activations plus its own staged input and output exceed
    the on-chip memory reads its weights ``overflow_reads * demand / memory`` times more."""
    prof = replace(UNIT, reread_max=2.0, overflow_reads=1.5)
    g = load(conv(560))
    whole = EdgeTPUCost(g, prof).features(0, len(g.ops))  # tiny input: demand 7 < 7.76 MiB
    assert whole.streamed_reads_mib / whole.streamed_mib == pytest.approx(2.0)
    g = load(conv(682))
    stage = EdgeTPUCost(g, prof).features(4, 6)  # 64x64x682 in and out, L4 streamed
    demand = 4 * 64 * 64 * 704 / MiB  # L4's input + output + the stage's input + output
    assert stage.streamed_reads_mib / stage.streamed_mib == pytest.approx(
        2.0 * 1.5 * demand / 7.76)
    for ws, staged, reads in [(0.1, 0.0, 1.0), (5.0, 0.0, 2.0), (5.0, 3.0, 2.0 * 1.5 * 8 / 7.76)]:
        assert stream_reads(ws, staged, prof.reads) == pytest.approx(reads)
    steeper = replace(prof.reads, overflow_power=2.0)  # the what-if's steeper overflow term
    assert stream_reads(5.0, 3.0, steeper) == pytest.approx(2.0 * 1.5 * (8 / 7.76) ** 2)
    assert stream_reads(5.0, 0.0, steeper) == pytest.approx(2.0)  # under the memory: no term


def test_clock_scales_the_chip_terms_only() -> None:
    g = load(slim.mobilenet_v1(0.5, 160))
    fast, slow = EdgeTPUCost(g, UNIT), EdgeTPUCost(g, UNIT, clock="std")
    a, b = fast.segment(0, len(g.ops)), slow.segment(0, len(g.ops))
    assert isinstance(a, EdgeTPUSegmentCost) and isinstance(b, EdgeTPUSegmentCost)
    assert b.compute_ms == pytest.approx(2 * a.compute_ms)
    assert (b.fixed_ms, b.in_ms, b.out_ms) == pytest.approx((a.fixed_ms, a.in_ms, a.out_ms))
    assert at_clock(UNIT, 125.0).conv_ms_per_mcycle == 4 * UNIT.conv_ms_per_mcycle
    with pytest.raises(TpusplitError, match="--clock"):
        at_clock(UNIT, "turbo")


def test_memory_override_and_transfer() -> None:
    g = load(conv(32, layers=2, size=8))
    cost = EdgeTPUCost(g, UNIT, memory=lambda a, b: (0, 1000))
    s = cost.segment(0, len(g.ops))
    assert (s.on_chip_bytes, s.off_chip_bytes) == (0, 1000)
    assert s.stream_ms > 0
    assert cost.transfer_ms(2) == pytest.approx(8 * 8 * 32 / MiB * (2 * 2.0 + 3.0 + 5.0))
    assert cost.transfer_ms(0) == 0.0
    assert cost.lower_bound() is None


def test_profile_roundtrip(tmp_path: Path) -> None:
    save_profile(UNIT, tmp_path / "p.json")
    assert load_profile(tmp_path / "p.json") == replace(UNIT, source=str(tmp_path / "p.json"))


@pytest.mark.parametrize("content, words", [
    ("{not json", r"not JSON \(line 1"),
    ("[]", "JSON object"),
    ('{"name": "x"}', "lacks"),
    ('{"name": "x", "compute_ms_per_gmac": {}}', "tpusplit 0.1 profile"),
    ('{"format": 7, "name": "x"}', "profile format 7"),
])
def test_bad_profile_files(tmp_path: Path, content: str, words: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(TpusplitError, match=words) as err:
        load_profile(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_negative_and_missing_profiles(tmp_path: Path) -> None:
    data = load_profile("edgetpu-usb3").to_json()
    data["link_ms_per_mib"] = -1
    f = tmp_path / "neg.json"
    f.write_text(json.dumps(data))
    with pytest.raises(TpusplitError, match=r"link_ms_per_mib must be"):
        load_profile(f)
    with pytest.raises(TpusplitError, match="no such file"):
        load_profile(tmp_path / "missing.json")
    with pytest.raises(TpusplitError, match="unknown device"):
        load_profile("edgetpu-usb9")
    folder = tmp_path / "d.json"
    folder.mkdir()
    with pytest.raises(TpusplitError, match="is a directory"):
        load_profile(folder)


def test_any_segment_of_branching_nets(random_nets: list[bytes]) -> None:
    from tpusplit.costs.host_ops import runs_on_host
    from tpusplit.sim import simulate

    for data in random_nets[:3]:
        g = load(data)
        n = len(g.ops)
        cost = EdgeTPUCost(g, "edgetpu-pcie")
        for a in range(0, n, 3):
            for b in range(a + 1, n + 1, 4):
                s = cost.segment(a, b)
                # host ops alone (a float input's QUANTIZE): no Edge TPU invoke at all
                assert s.latency_ms > 0 or all(runs_on_host(g, i) for i in range(a, b))
                assert s.on_chip_bytes + s.off_chip_bytes == sum(layer_bytes(g, i)
                                                                 for i in range(a, b))
        cuts = g.narrowest_cuts(2)
        r = simulate(cost, sorted(cuts), batch=5)
        assert r.time_per_inference_ms >= max(s.latency_ms for s in r.segments) - 1e-9


def _device_and_streaming(cost: EdgeTPUCost, a: int, b: int) -> float:
    s = cost.segment(a, b)
    assert isinstance(s, EdgeTPUSegmentCost)
    return s.compute_ms + s.stream_ms


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), device=st.sampled_from(["edgetpu-usb3", "edgetpu-rpi3-usb2"]))
def test_growing_a_segment_by_an_op_with_weights_never_makes_it_cheaper(seed: int,
                                                                      device: str) -> None:
    """Property: with the cache capacity held fixed, adding an op with weights to the end of a
    segment never lowers its on-device time (compute + streamed weights), and never lowers
    the whole latency when the op's output is no smaller than the tensors it consumes.

    (With boundary costs, a cut moved past a downsampling layer *may* get cheaper: the narrower
    tensor crosses the link instead. That is the model being right, so the full-latency
    property is asserted only where the boundary cannot shrink.)
    """
    g = load(random_net(seed))
    fixed = replace(load_profile(device), cache_in_coef=0.0, cache_out_coef=0.0)
    cost = EdgeTPUCost(g, fixed)
    n = len(g.ops)
    for a in range(0, n - 1, 2):
        for b in range(a + 1, n):
            if g.ops[b].param_bytes == 0:
                continue
            assert _device_and_streaming(cost, a, b + 1) >= _device_and_streaming(cost, a, b) \
                - 1e-9
            ins = sum(g.tensors[t].nbytes for t in g.ops[b].inputs if not g.tensors[t].constant)
            if g.ops[b].output_bytes >= ins:
                assert cost.latency(a, b + 1) >= cost.latency(a, b) - 1e-9


def test_implausible_profile_values_are_refused(tmp_path: Path) -> None:
    data = load_profile("edgetpu-usb3").to_json()
    for field, value in (("conv_ms_per_mcycle", 1e308), ("fixed_ms", 1e6)):
        path = tmp_path / "p.json"
        path.write_text(json.dumps({**data, field: value}))
        with pytest.raises(TpusplitError, match=f"{field} = .* is not a plausible value"):
            load_profile(path)
