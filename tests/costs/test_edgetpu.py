"""Latency model and profile files: hand-worked numbers and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tpusplit.costs.edgetpu import DEVICES, EdgeTPUCost, EdgeTPUSegmentCost, padded_macs
from tpusplit.costs.edgetpu_cache import MiB
from tpusplit.costs.profile import DeviceProfile, load_profile, save_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import conv, fc

UNIT = DeviceProfile(
    "unit", fixed_ms=1.0,
    compute_ms_per_gmac={"CONV_2D": 1000.0, "FULLY_CONNECTED": 0.0, "OTHER": 0.0},
    element_ms_per_mop=0.0,
    stream_ms_per_mib={"CONV_2D": 100.0, "OTHER": 10.0},
    in_ms_per_mib=2.0, out_ms_per_mib=3.0, cache_base_mib=7.76)


def test_shipped_profiles_load() -> None:
    for name in DEVICES:
        p = load_profile(name)
        assert p.name == name and p.fixed_ms > 0 and p.compute("CONV_2D") > 0
    assert load_profile("edgetpu-usb2").stream("CONV_2D") > load_profile("edgetpu-usb3").stream(
        "CONV_2D")


def test_hand_worked_conv_latency() -> None:
    g = load(conv(32, layers=2, size=8))
    cost = EdgeTPUCost(g, UNIT)
    s = cost.segment(0, len(g.ops))
    assert isinstance(s, EdgeTPUSegmentCost)
    # padded MACs: conv 3->32: 8*8*9*4*64; conv 32->32: 8*8*9*32*64 -> 1000 ms per GMAC
    macs = 8 * 8 * 9 * 4 * 64 + 8 * 8 * 9 * 32 * 64
    assert padded_macs(g, 1) == 8 * 8 * 9 * 4 * 64
    assert s.compute_ms == pytest.approx(macs / 1e9 * 1000.0)
    assert s.in_ms == pytest.approx(8 * 8 * 3 / MiB * 2.0)  # int8 input on the device
    assert s.out_ms == pytest.approx(8 * 8 * 32 / MiB * 3.0)
    assert s.stream_ms == 0 and s.off_chip_bytes == 0
    assert s.latency_ms == pytest.approx(1.0 + s.compute_ms + s.in_ms + s.out_ms)


def test_streaming_costs_per_op_type() -> None:
    g = load(conv(452))
    s = EdgeTPUCost(g, UNIT).segment(0, len(g.ops))
    assert s.stream_ms == pytest.approx(s.off_chip_bytes / MiB * 100.0)
    g = load(fc(1700))
    s = EdgeTPUCost(g, UNIT).segment(0, len(g.ops))
    assert s.off_chip_bytes > 0
    assert s.stream_ms == pytest.approx(s.off_chip_bytes / MiB * 10.0)  # FC falls to OTHER


def test_memory_override_and_transfer() -> None:
    g = load(conv(32, layers=2, size=8))
    cost = EdgeTPUCost(g, UNIT, memory=lambda a, b: (0, 1000))
    s = cost.segment(0, len(g.ops))
    assert (s.on_chip_bytes, s.off_chip_bytes) == (0, 1000)
    assert s.stream_ms > 0
    assert cost.transfer_ms(2) == pytest.approx(8 * 8 * 32 / MiB * 5.0)
    assert cost.transfer_ms(0) == 0.0


def test_profile_roundtrip(tmp_path: Path) -> None:
    save_profile(UNIT, tmp_path / "p.json")
    assert load_profile(tmp_path / "p.json").compute("CONV_2D") == 1000.0


@pytest.mark.parametrize("content, words", [
    ("{not json", "malformed JSON"),
    ("[]", "JSON object"),
    ('{"name": "x"}', "lacks"),
])
def test_bad_profile_files(tmp_path: Path, content: str, words: str) -> None:
    f = tmp_path / "bad.json"
    f.write_text(content)
    with pytest.raises(TpusplitError, match=words) as err:
        load_profile(f)
    assert str(f) in str(err.value) and "\n" not in str(err.value)


def test_negative_and_missing_profiles(tmp_path: Path) -> None:
    data = load_profile("edgetpu-usb3").to_json()
    data["stream_ms_per_mib"]["CONV_2D"] = -1
    f = tmp_path / "neg.json"
    f.write_text(json.dumps(data))
    with pytest.raises(TpusplitError, match=r"stream_ms_per_mib\.CONV_2D must be"):
        load_profile(f)
    with pytest.raises(TpusplitError, match="not found"):
        load_profile(tmp_path / "missing.json")
    with pytest.raises(TpusplitError, match="unknown device"):
        load_profile("edgetpu-usb9")


def test_any_segment_of_branching_nets(random_nets: list[bytes]) -> None:
    from tpusplit.costs.edgetpu_cache import layer_bytes
    from tpusplit.sim import simulate

    for data in random_nets[:3]:
        g = load(data)
        n = len(g.ops)
        cost = EdgeTPUCost(g, "edgetpu-pcie")
        for a in range(0, n, 3):
            for b in range(a + 1, n + 1, 4):
                s = cost.segment(a, b)
                assert s.latency_ms > 0
                assert s.on_chip_bytes + s.off_chip_bytes == sum(layer_bytes(g, i)
                                                                 for i in range(a, b))
        cuts = g.narrowest_cuts(2)
        r = simulate(cost, sorted(cuts), batch=5)
        assert r.time_per_inference_ms >= max(s.latency_ms for s in r.segments) - 1e-9
