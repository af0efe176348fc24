"""The caching rule against Coral's compiler on real compiled files (data/, never skipped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tpusplit.calibration.compiled_graphs import (
    CompiledRow,
    edgetpu_graph,
    exclusion,
    match,
    read_compiled,
    resize_input,
)
from tpusplit.costs.onchip import layer_bytes, segment_placement
from tpusplit.devices.profiles import load_profile
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.graph.edgetpu_part import edgetpu_part
from tpusplit.units import MiB


@pytest.fixture(scope="module")
def rows() -> list[CompiledRow]:
    return read_compiled()


def rule(row: CompiledRow, depthwise: tuple[int, int] | None = None) -> tuple[float, float]:
    """The rule's on-chip and off-chip MiB for the row's Edge TPU part (shipped capacity)."""
    g, _ = edgetpu_graph(row)
    p = load_profile("edgetpu-usb3")
    pl = segment_placement(g, 0, len(g.ops), *p.cache)
    if depthwise is None:
        return pl.on_chip_bytes / MiB, pl.off_chip_bytes / MiB
    total = sum(layer_bytes(g, i, depthwise) for i in range(len(g.ops)))
    return total / MiB, 0.0


def test_the_data_is_in_the_repository(rows: list[CompiledRow]) -> None:
    assert len(rows) == 47
    by = {}
    for r in rows:
        by[r.compiler] = by.get(r.compiler, 0) + 1
    assert by == {"google-coral/edgetpu@5020de9386": 20, "google-coral/test_data@104342d2d3": 19,
                  "iwatake2222/EdgeTPU_Analysis@1f5fbce4bd": 7,
                  "jveitchmichaelis/edgetpu-yolo@283644dc27": 1}
    assert sum(r.cocompiled for r in rows) == 13
    assert sum(r.cycles is not None for r in rows) == 27


def test_every_row_is_matched_or_says_why(rows: list[CompiledRow]) -> None:
    kinds: dict[str, int] = {}
    for r in rows:
        m = match(r)
        if m is None:
            assert exclusion(r).startswith("co-compiled" if r.cocompiled else "no uncompiled")
            continue
        assert exclusion(r) == ""
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    assert kinds == {"original": 18, "same name": 1, "stand-in": 6, "rebuild": 7}


def test_matched_parts_leave_the_compilers_cpu_ops(rows: list[CompiledRow]) -> None:
    # the old compiler mapped one more op of DeepLab v3 (no parameters involved)
    for r in rows:
        if match(r) is None:
            continue
        _, cpu = edgetpu_graph(r)
        old_deeplab = r.stem.startswith("deeplabv3") and "edgetpu@" in r.compiler
        assert cpu == r.cpu_ops + (1 if old_deeplab else 0), r.compiled_file


def test_rule_is_within_5_percent_or_0_1_mib_on_every_matched_row(rows: list[CompiledRow]
                                                                  ) -> None:
    ok = []
    for r in rows:
        if match(r) is None:
            continue
        on, off = rule(r)
        ok.append(all(abs(a - b) <= max(0.05 * b, 0.1)
                      for a, b in ((on, r.on_chip_mib), (off, r.off_chip_mib))))
    assert len(ok) == 32 and sum(ok) == 32  # measured: 32 of 32 (30 with the old depthwise)


def test_parameter_totals_within_2_percent_need_the_fitted_depthwise_size(
        rows: list[CompiledRow]) -> None:
    def close(depthwise: tuple[int, int] | None) -> int:
        n = 0
        for r in rows:
            if match(r) is None:
                continue
            on, off = rule(r, depthwise)
            n += abs((on + off) / r.total_mib - 1) <= 0.02
        return n

    assert close(None) >= 23  # measured: 23 of 32 rows
    assert close((1, 8)) <= 6  # the depthwise analogy with CONV_2D of before: 6 rows


def test_posenet_stand_in_is_the_original_resized() -> None:
    name = "posenet_mobilenet_v1_075_353_481_16_quant_decoder"
    data = (Path(__file__).resolve().parents[2] / "data" / "edgetpu-community" / "models"
            / f"{name}.tflite").read_bytes()
    part, _ = edgetpu_part(data, name)
    g = load(resize_input(part, (721, 1281, 3)))
    # output stride 16: ceil(721 / 16) x ceil(1281 / 16)
    assert {g.tensors[t].shape[1:3] for t in g.outputs} == {(46, 81)}
    assert g.param_bytes == load(part).param_bytes


def test_bad_csv_is_one_line_error(tmp_path: Path) -> None:
    p = tmp_path / "c.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(TpusplitError, match="expected the columns"):
        read_compiled(p)
    good = (Path(__file__).resolve().parents[2] / "data" / "edgetpu-community"
            / "compiled_graphs.csv").read_text().splitlines()
    p.write_text("\n".join([good[0], good[1].replace(",0.4946,", ",x,")]) + "\n")
    with pytest.raises(TpusplitError, match="line 2"):
        read_compiled(p)
    with pytest.raises(TpusplitError, match="no such file"):
        read_compiled(tmp_path / "missing.csv")
