"""``tpusplit split --compile`` with a stand-in compiler, and without one."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tpusplit.models.synthetic import conv

Cli = Callable[..., tuple[int, str, str]]
FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "edgetpu_compiler" / \
    "fake_edgetpu_compiler.py"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv(8, layers=4, size=16))
    return path


@pytest.fixture
def compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "bin" / "edgetpu_compiler"
    exe.parent.mkdir()
    exe.write_text(f"#!{sys.executable}\n{FAKE.read_text()}")
    exe.chmod(0o755)
    monkeypatch.delenv("TPUSPLIT_EDGETPU_COMPILER", raising=False)
    monkeypatch.setenv("PATH", f"{exe.parent}")
    return exe


def test_split_compile_writes_compiled_segments_and_logs(cli: Cli, model: Path, tmp_path: Path,
                                                         compiler: Path) -> None:
    out = tmp_path / "out"
    code, text, err = cli("split", model, "--cuts", "2", "-o", out, "--compile", "--json")
    assert code == 0, err
    data = json.loads(text)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([f"conv_segment_{i}_of_2{s}" for i in range(2)
                            for s in (".tflite", "_edgetpu.tflite", "_edgetpu.log")])
    for i in range(2):
        plain = (out / f"conv_segment_{i}_of_2.tflite").read_bytes()
        assert (out / f"conv_segment_{i}_of_2_edgetpu.tflite").read_bytes() == \
            plain + b"edgetpu-custom-op"
    rows = data["compiled"]
    assert [r["on_chip_bytes"] for r in rows] == [
        (out / f"conv_segment_{i}_of_2.tflite").stat().st_size for i in range(2)]
    assert all(r["off_chip_bytes"] == 0 and r["ops_mapped"] == 2 for r in rows)
    code, text, _ = cli("split", model, "--cuts", "2", "-o", tmp_path / "o2", "--compile")
    assert code == 0 and "edgetpu_compiler" in text and "on-chip MiB" in text


def test_split_compile_without_compiler_writes_nothing(cli: Cli, model: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TPUSPLIT_EDGETPU_COMPILER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    out = tmp_path / "out"
    code, text, err = cli("split", model, "--cuts", "2", "-o", out, "--compile")
    assert code == 2 and text == ""
    assert err.startswith("error: edgetpu_compiler: not found on the PATH")
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() or not any(out.iterdir())


def test_split_compile_failure_writes_nothing(cli: Cli, tmp_path: Path,
                                              compiler: Path) -> None:
    model = tmp_path / "conv.tflite"
    model.write_bytes(conv(8, layers=4, size=16))
    # make the stand-in fail on every segment: it fails on inputs containing b"FAIL"
    compiler.write_text(compiler.read_text().replace('if b"FAIL" in data:', "if True:"))
    out = tmp_path / "out"
    code, _, err = cli("split", model, "--cuts", "2", "-o", out, "--compile")
    assert code == 2 and "edgetpu_compiler failed (Internal compiler error. Aborting!)" in err
    assert not out.exists() or not any(out.iterdir())
