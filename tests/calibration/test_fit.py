"""Calibration: splits as the measurements did them, readers, and fits that recover the truth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tpusplit.accuracy import mape
from tpusplit.calibration import fit as fit_module
from tpusplit.calibration.fit import (
    calibrate,
    compiler_cuts,
    fit,
    grid_of,
    leave_one_model_out,
    predict,
)
from tpusplit.calibration.measurements import Observation, even_cuts, read, read_observations
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.devices.profiles import DeviceProfile, Reads, load_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import bounds, load
from tpusplit.models.specs import build_spec
from tpusplit.models.synthetic import conv, fc

TRUTH = replace(load_profile("edgetpu-usb3"), fixed_ms=0.3, link_ms_per_mib=2.5,
                depthwise_ms_per_mcycle=1.5, op_ms=0.01, cpu_factor=0.0)
CACHE = TRUTH.cache
MODELS = ("conv-40", "conv-140", "conv-300", "conv-472", "conv-560", "fc-300", "fc-1000",
          "fc-1700", "fc-1900", "nasbench-1-c16", "nasbench-2-c24", "MobileNetV1-slim",
          "coral-mobilenet_v1_0.5_160")


def single(spec: str, host: str, profile: DeviceProfile, link: str = "usb3") -> Observation:
    g = load(build_spec(spec))
    return Observation(spec, (), host, EdgeTPUCost(g, profile).latency(0, len(g.ops)),
                       link=link)


def test_compiler_and_even_splits() -> None:
    g = load(conv(32))
    assert compiler_cuts(g, 2) == [3]
    assert compiler_cuts(g, 3) == [3, 4]
    assert compiler_cuts(g, 4) == [2, 3, 4]
    g = load(fc(100))
    assert even_cuts(g, 2) == [5]
    assert even_cuts(g, 4) == [3, 5, 7]


def test_fit_recovers_the_profile_that_made_the_data() -> None:
    slow = replace(TRUTH, fixed_ms=2.0, link_ms_per_mib=25.0)
    obs = [single(m, "a", TRUTH) for m in MODELS] + [single(m, "b", slow, "usb2")
                                                     for m in MODELS]
    result = fit(obs, CACHE, reads_grid=grid_of(TRUTH.reads), prior_weight=0.0)
    assert mape(result.predicted_ms, [o.ms for o in obs]) < 0.001
    assert result.hosts["a"]["fixed_ms"] == pytest.approx(0.3, abs=0.02)
    assert result.hosts["a"]["link_ms_per_mib"] == pytest.approx(2.5, rel=0.03)
    assert result.hosts["b"]["link_ms_per_mib"] == pytest.approx(25.0, rel=0.03)
    assert result.tpu["conv_ms_per_mcycle"] == pytest.approx(TRUTH.conv_ms_per_mcycle, rel=0.03)
    prof = result.profile("b", "b-profile")
    g = load(build_spec("conv-200"))
    assert EdgeTPUCost(g, prof).latency(0, len(g.ops)) == pytest.approx(
        EdgeTPUCost(g, slow).latency(0, len(g.ops)), rel=0.02)


def test_pipelines_are_fitted_by_their_bottleneck() -> None:
    g = load(build_spec("conv-300"))
    cost = EdgeTPUCost(g, TRUTH)
    cuts = compiler_cuts(g, 3)
    stages = [cost.latency(a, b) for a, b in bounds(g, cuts)]
    batch = 50
    obs = Observation("conv-300", tuple(cuts), "a", (sum(stages) + (batch - 1) * max(stages))
                      / batch, batch=batch)
    pred = predict(fit([*(single(m, "a", TRUTH) for m in MODELS)], CACHE,
                       reads_grid=grid_of(TRUTH.reads), prior_weight=0.0), [obs])
    assert pred[0] == pytest.approx(obs.ms, rel=0.02)


def test_user_calibration_keeps_the_chip_and_fits_the_host(tmp_path: Path) -> None:
    mine = replace(TRUTH, fixed_ms=1.2, link_ms_per_mib=6.0)
    lines = ["model,cuts,host,ms"]
    for spec in ("conv-64", "conv-200", "conv-480", "fc-1700"):
        g = load(build_spec(spec))
        (tmp_path / f"{spec}.tflite").write_bytes(build_spec(spec))
        lines.append(f"{spec}.tflite,,pc,{EdgeTPUCost(g, mine).latency(0, len(g.ops))}")
    csv = tmp_path / "mine.csv"
    csv.write_text("\n".join(lines) + "\n")
    obs = read_observations(csv)
    assert obs[0].model == str(tmp_path / "conv-64.tflite") and obs[0].host == "pc"
    prof, summary = calibrate(obs, base=TRUTH, name="my-pc")
    # exact data, so only the weak pull towards the base profile leaves an error
    assert prof.name == "my-pc" and summary["mape"] < 1.5
    assert prof.link_ms_per_mib == pytest.approx(6.0, rel=0.05)
    assert prof.conv_ms_per_mcycle == TRUTH.conv_ms_per_mcycle  # the chip is kept


def test_one_small_model_moves_what_it_can_and_keeps_the_rest() -> None:
    """A single measurement of a small model (dominated by the per-invoke cost) cannot tell
    the fixed cost from the link rate: the fit matches it, and the link rate stays near the
    base profile's instead of collapsing to 0 (streaming would then be free)."""
    base = load_profile("edgetpu-usb3")
    g = load(build_spec("MobileNetV1-slim"))
    predicted = EdgeTPUCost(g, base).latency(0, len(g.ops))
    obs = [Observation("MobileNetV1-slim", (), "pc", predicted + 1.2)]
    prof, summary = calibrate(obs, base=base)
    assert summary["mape"] < 2.0
    assert prof.fixed_ms > base.fixed_ms + 0.5
    assert 0.5 * base.link_ms_per_mib < prof.link_ms_per_mib < 2 * base.link_ms_per_mib
    assert prof.cpu_factor == pytest.approx(base.cpu_factor)  # nothing said of the CPU


def test_leave_one_model_out_predicts_unseen_models() -> None:
    obs = [replace(single(m, "a", TRUTH), group="coral") for m in MODELS]
    held = leave_one_model_out(obs, CACHE)
    assert set(held) == set(range(len(obs)))
    assert mape([held[i] for i in range(len(obs))], [o.ms for o in obs]) < 0.05


@pytest.mark.parametrize("text, words", [
    ("a,b\n1,2\n", "missing model, cuts, host, ms"),
    ("model,cuts,host,ms\nm.tflite,,h,abc\n", "must be numbers"),
    ("model,cuts,host,ms\nm.tflite,3;2,h,1\n", "cuts increasing"),
    ("model,cuts,host,ms,runner\nm.tflite,,h,1,java\n", "runner must be"),
    ("model,cuts,host,ms,link\nm.tflite,,h,1,wifi\n", "link must be one of"),
    ("model,cuts,host,ms\na.tflite;b.tflite,3,h,1\n", "not both"),
    ("model,cuts,host,ms\n", "no measurement rows"),
])
def test_bad_observation_files(tmp_path: Path, text: str, words: str) -> None:
    f = tmp_path / "x.csv"
    f.write_text(text)
    with pytest.raises(TpusplitError, match=words) as err:
        read_observations(f)
    assert str(f.name) in str(err.value) and "\n" not in str(err.value)


def test_bad_measurement_files(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(TpusplitError, match="expected columns"):
        read(f)
    with pytest.raises(TpusplitError, match="no such file"):
        read(tmp_path / "none.csv")


def test_calibrate_needs_one_host() -> None:
    obs = [single("conv-40", "a", TRUTH), single("conv-40", "b", TRUTH)]
    with pytest.raises(TpusplitError, match="2 hosts"):
        calibrate(obs, base=TRUTH)
    with pytest.raises(TpusplitError, match="no measurements"):
        fit([], CACHE)


def test_user_csv_clock_column(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("model,cuts,host,ms,clock\nconv-64,,pc,3.0,std\nconv-64,,pc,2.0,\n"
                   "conv-64,,pc,9.0,125\n")
    assert [o.clock_mhz for o in read_observations(csv)] == [250.0, 500.0, 125.0]
    csv.write_text("model,cuts,host,ms,clock\nconv-64,,pc,3.0,turbo\n")
    with pytest.raises(TpusplitError, match="line 2: clock must be max, std or MHz"):
        read_observations(csv)


def test_a_host_without_small_models_takes_its_class_fixed_cost() -> None:
    """Coral's x86 file has no model under 3 ms: its fixed cost comes from the x86 hosts that
    have small models, not from its own large ones (which cannot tell it from compute)."""
    small = ("MobileNetV1-slim", "coral-mobilenet_v1_0.5_160", "conv-40", "fc-300")
    large = ("conv-300", "conv-472", "fc-1900")
    obs = [single(m, h, replace(TRUTH, fixed_ms=f)) for h, f in (("a", 0.4), ("b", 0.8))
           for m in small + large]
    obs += [single(m, "big-only", replace(TRUTH, fixed_ms=0.0)) for m in large]
    result = fit(obs, CACHE, reads_grid=grid_of(TRUTH.reads), prior_weight=0.0)
    a, b = result.hosts["a"]["fixed_ms"], result.hosts["b"]["fixed_ms"]
    assert a == pytest.approx(0.4, abs=0.1) and b == pytest.approx(0.8, abs=0.1)
    # its own data say 0 (it was made so), but they cannot know: it takes the class mean
    assert result.hosts["big-only"]["fixed_ms"] == pytest.approx((a + b) / 2, rel=1e-3)


def test_a_fit_with_known_reads_keeps_every_read_parameter() -> None:
    """``grid_of`` holds every read parameter, the what-ifs' overflow power included, so a
    held-out refit (:func:`leave_one_model_out`) keeps the reads it was given."""
    reads = Reads(1.0, 2.5, 1.25, overflow_power=2.0)
    grid = grid_of(reads)
    assert Reads(onchip_mib=reads.onchip_mib, **{k: v[0] for k, v in grid.items()}) == reads


@pytest.mark.parametrize("how", ["half", "duplex"])
def test_a_shared_link_bounds_a_pipeline_by_its_stages_link_bytes(
        monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """``SHARED_LINK``: the stages' link bytes in turn (half: all of them; duplex: inputs and
    streamed weights, and outputs, each direction on its own) bound the period from below."""
    g = load(build_spec("conv-300"))
    cost = EdgeTPUCost(g, TRUTH)
    cuts = compiler_cuts(g, 3)
    obs = Observation("conv-300", tuple(cuts), "a", 1.0, batch=1000)
    result = fit([single(m, "a", TRUTH) for m in MODELS], CACHE,
                 reads_grid=grid_of(TRUTH.reads), prior_weight=0.0)
    alone = predict(result, [obs])[0]
    feats = [cost.features(a, b) for a, b in bounds(g, cuts)]
    down = sum(f.in_mib + f.streamed_reads_mib for f in feats)
    up = sum(f.out_mib for f in feats)
    mib = down + up if how == "half" else max(down, up)
    slow = replace(result, hosts={"a": {**result.hosts["a"], "link_ms_per_mib": 100.0}})
    monkeypatch.setattr(fit_module, "SHARED_LINK", how)
    # a slow link: its bytes in turn are the period (batch 1000: the fill is negligible)
    assert predict(slow, [obs])[0] == pytest.approx(mib * 100.0, rel=0.01)
    # the fitted link: the stages' own times bound it, as with a link per TPU
    assert predict(result, [obs])[0] == pytest.approx(alone)
