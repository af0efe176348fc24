"""The compiler log parser against the measured CSVs, and compile_file with a stand-in compiler."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from tpusplit.calibration.measurements import measurements_dir
from tpusplit.errors import TpusplitError
from tpusplit.pipeline.edgetpu_compiler import (
    compile_bytes,
    compile_file,
    compiler_memory,
    find_compiler,
    parse_log,
    parse_size,
    require_compiler,
)
from tpusplit.units import MiB

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "edgetpu_compiler"
MEASURED = measurements_dir()


def csv_row(name: str, key: str) -> dict[str, str]:
    if not (MEASURED / name).is_file():
        pytest.skip(f"{MEASURED / name} not available")
    with open(MEASURED / name) as fh:
        for row in csv.DictReader(fh):
            if row[next(iter(row))] == key:
                return row
    raise AssertionError(f"{key} not in {name}")


def mib_list(text: str) -> list[float]:
    value = json.loads(text) if text.startswith("[") else float(text)
    return value if isinstance(value, list) else [value]


def test_parse_size_units() -> None:
    assert parse_size("4.17MiB") == round(4.17 * MiB)
    assert parse_size("76.75KiB") == 78592
    assert parse_size("0.00B") == 0
    assert parse_size("1.5GiB") == 3 * 2**29
    for bad in ("", "12", "MiB", "4,17MiB", "-1B"):
        with pytest.raises(ValueError):
            parse_size(bad)


@pytest.mark.parametrize(("fixture", "csv_name", "key"), [
    ("conv_F682_1tpu.txt", "conv_1tpu.csv", "682"),
    ("conv_F32_1tpu.txt", "conv_1tpu.csv", "32"),
    ("conv_F682_2seg.txt", "conv_2tpu_compiler_split.csv", "682"),
    ("fc_N1620_partial.txt", "fc_1tpu.csv", "1620"),
])
def test_memory_figures_match_the_measurements(fixture: str, csv_name: str, key: str) -> None:
    logs = parse_log((FIXTURES / fixture).read_text(), fixture)
    row = csv_row(csv_name, key)
    on = mib_list(row["On chip mem used"])
    off = mib_list(row["Off chip mem used"])
    assert len(logs) == len(on) == len(off)
    for log, a, b in zip(logs, on, off, strict=True):
        # the compiler prints 2 decimals: agree to half a unit of the last printed digit
        unit = 2**10 if log.on_chip_bytes < MiB else MiB
        assert abs(log.on_chip_bytes - a * MiB) <= 0.005 * unit + 1
        assert abs(log.off_chip_bytes - b * MiB) <= 0.005 * MiB + 1
        assert log.fits == (b == 0)


def test_operation_table_and_mapping() -> None:
    one = parse_log((FIXTURES / "conv_F682_1tpu.txt").read_text())[0]
    assert one.input_model == "conv_F682.tflite"
    assert one.output_model == "conv_F682_edgetpu.tflite"
    assert one.operations == [("QUANTIZE", 1, "Mapped to Edge TPU"),
                              ("CONV_2D", 5, "Mapped to Edge TPU")]
    assert one.ops_mapped == one.total_ops == 6 and one.subgraphs == 1
    assert one.operation_log == "conv_F682_edgetpu.log"
    part = parse_log((FIXTURES / "fc_N1620_partial.txt").read_text())[0]
    assert (part.ops_on_tpu, part.ops_on_cpu, part.ops_mapped) == (9, 1, 9)
    assert part.operations[-1][0] == "QUANTIZE" and "not mapped" in part.operations[-1][2]
    small = parse_log((FIXTURES / "conv_F32_1tpu.txt").read_text())[0]
    assert small.operations == [] and small.ops_mapped == 6  # no table, one subgraph, no CPU
    segs = parse_log((FIXTURES / "conv_F682_2seg.txt").read_text())
    assert [s.output_model for s in segs] == [f"conv_F682_segment_{i}_of_2_edgetpu.tflite"
                                              for i in range(2)]
    assert [s.ops_mapped for s in segs] == [3, 3]
    oplog = parse_log((FIXTURES / "conv_F682_edgetpu.log").read_text())[0]
    assert oplog.input_model == "conv_F682.tflite" and oplog.ops_mapped == 6
    assert oplog.output_model == "conv_F682_edgetpu.tflite"
    assert json.dumps(one.as_dict())


def test_bad_logs_are_one_line_errors() -> None:
    with pytest.raises(TpusplitError, match=r"x\.log: no Edge TPU compiler report"):
        parse_log("hello\nworld\n", "x.log")
    with pytest.raises(TpusplitError, match=r"y\.log: line 2: cannot read"):
        parse_log("Input model: a.tflite\nOn-chip memory used for caching model parameters: "
                  "lots\n", "y.log")


@pytest.fixture
def fake_compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "bin" / "edgetpu_compiler"
    exe.parent.mkdir()
    script = (FIXTURES / "fake_edgetpu_compiler.py").read_text()
    exe.write_text(f"#!{sys.executable}\n{script}")
    exe.chmod(0o755)
    monkeypatch.setenv("TPUSPLIT_EDGETPU_COMPILER", str(exe))
    return exe


def test_compile_file_runs_the_compiler_and_reads_its_log(fake_compiler: Path,
                                                          tmp_path: Path) -> None:
    src = tmp_path / "m.tflite"
    src.write_bytes(b"model")
    res = compile_file(src, tmp_path)
    assert res.path == tmp_path / "m_edgetpu.tflite" and res.model == b"modeledgetpu-custom-op"
    assert res.log.on_chip_bytes == len(b"model") and res.log.fits and res.log.ops_mapped == 2
    res = compile_bytes(b"abc", "seg")
    assert res.model == b"abcedgetpu-custom-op"
    assert parse_log(res.operation_log)[0].input_model == "seg.tflite"
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"FAIL")
    with pytest.raises(TpusplitError, match=r"bad.tflite: edgetpu_compiler failed "
                                            r"\(Internal compiler error. Aborting!\)"):
        compile_file(bad, tmp_path)


def test_missing_compiler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    monkeypatch.delenv("TPUSPLIT_EDGETPU_COMPILER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_compiler() is None
    with pytest.raises(TpusplitError, match="edgetpu_compiler: not found on the PATH"):
        require_compiler()


def test_compiler_memory_feeds_the_edgetpu_cost_source(fake_compiler: Path) -> None:
    from tpusplit.costs.edgetpu import EdgeTPUCost
    from tpusplit.graph import extract, load
    from tpusplit.models.synthetic import conv

    graph = load(conv(8, layers=4, size=16))
    memory = compiler_memory(graph)
    assert memory(1, 3) == (len(extract(graph, 1, 3)), 0)  # the stand-in reports file size
    cost = EdgeTPUCost(graph, memory=memory)
    seg = cost.segment(0, 4)
    assert (seg.on_chip_bytes, seg.off_chip_bytes) == (len(extract(graph, 0, 4)), 0)
    assert memory.compiled == 2
    memory(1, 3)
    assert memory.compiled == 2  # cached
