"""Calibration: splits as the measurements did them, and a fit that recovers known parameters."""

from __future__ import annotations

from pathlib import Path

import pytest

from tpusplit.costs.calibrate import calibrate, compiler_cuts, even_cuts
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.measurements import read
from tpusplit.costs.profile import load_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.synthetic import conv, fc


def test_compiler_and_even_splits() -> None:
    g = load(conv(32))
    assert compiler_cuts(g, 2) == [3]
    assert compiler_cuts(g, 3) == [3, 4]
    assert compiler_cuts(g, 4) == [2, 3, 4]
    g = load(fc(100))
    assert even_cuts(g, 2) == [5]
    assert even_cuts(g, 4) == [3, 5, 7]


def test_calibrate_recovers_the_profile_that_made_the_data(tmp_path: Path) -> None:
    truth = load_profile("edgetpu-usb3")
    lines = ["Num filters,# MACs,On chip mem used,Off chip mem used,Inference time"]
    for f in (16, 40, 72, 100, 140):
        g = load(conv(f))
        s = EdgeTPUCost(g, truth).segment(0, len(g.ops))
        lines.append(f"{f},1,{s.on_chip_bytes / 2**20},0.0,{s.latency_ms}")
    csv = tmp_path / "m.csv"
    csv.write_text("\n".join(lines) + "\n")
    assert read(csv).rows[0].size == 16
    prof, summary = calibrate([csv], base=truth)
    assert prof.compute("CONV_2D") == pytest.approx(truth.compute("CONV_2D"), rel=0.05)
    assert summary["mape"] < 0.5


def test_bad_measurement_files(tmp_path: Path) -> None:
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(TpusplitError, match="expected columns"):
        read(f)
    with pytest.raises(TpusplitError, match="cannot read"):
        read(tmp_path / "none.csv")
