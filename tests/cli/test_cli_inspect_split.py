"""``tpusplit inspect`` and ``tpusplit split`` end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tpusplit.graph import load
from tpusplit.pipeline import LiteRTStage, random_inputs, run_sequential

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def model_file(tmp_path: Path, random_nets: list[bytes]) -> Path:
    path = tmp_path / "net.tflite"
    path.write_bytes(random_nets[1])
    return path


def test_inspect_table_and_json(model_file: Path, cli: Cli) -> None:
    code, out, _ = cli("inspect", model_file)
    assert code == 0
    assert "CONCATENATION" in out and "narrowest cuts" in out
    code, out, _ = cli("inspect", model_file, "--json")
    assert code == 0
    doc = json.loads(out)
    g = load(model_file)
    assert doc["num_ops"] == len(g.ops) and doc["param_bytes"] == g.param_bytes
    assert doc["macs"] == g.macs
    rows = doc["op_table"]
    assert [r["op"] for r in rows] == [op.name for op in g.ops]
    assert [r["cut_before_bytes"] for r in rows] == [int(b) for b in g.crossing_bytes[:-1]]
    assert rows[-1]["cumulative_param_bytes"] == g.param_bytes


def test_inspect_table_and_narrowest_cuts_name_the_same_positions(model_file: Path,
                                                                  cli: Cli) -> None:
    """The narrowest cuts are --cuts positions; the table shows each one's bytes on the row
    of the op the cut comes before (it was one row off)."""
    code, out, _ = cli("inspect", model_file)
    assert code == 0
    g = load(model_file)
    cells = [[c.strip() for c in line.split("│")] for line in out.splitlines()]
    rows = {int(c[1]): c[-2] for c in cells if len(c) > 2 and c[1].isdigit()}
    summary = out.split("narrowest cuts", 1)[1]
    for k in g.narrowest_cuts():
        assert f"{k} ({int(g.crossing_bytes[k]):,} B)" in summary
        assert rows[k] == f"{int(g.crossing_bytes[k]):,}"


def test_split_writes_coral_names_and_runs_bit_exact(model_file: Path, tmp_path: Path,
                                                     cli: Cli) -> None:
    out_dir = tmp_path / "segs"
    code, out, _ = cli("split", model_file, "--cuts", "5,12", "-o", out_dir)
    assert code == 0, out
    files = sorted(out_dir.iterdir())
    assert [f.name for f in files] == [f"net_segment_{i}_of_3.tflite" for i in range(3)]
    assert "cut 1 before op 5" in out and "cut 2 before op 12" in out
    whole = LiteRTStage(model_file.read_bytes())
    feeds = random_inputs(whole)
    expected = whole.run(feeds)
    env = run_sequential([LiteRTStage(f.read_bytes()) for f in files], feeds)
    for name, value in expected.items():
        assert np.array_equal(env[name], value)


@pytest.mark.parametrize("cuts, message", [
    ("0", "outside"), ("999", "outside"), ("12,5", "not increasing"), ("5,5", "duplicated"),
    ("a,b", "comma-separated op indices"), (",", "empty"),
])
def test_split_bad_cuts_write_nothing(model_file: Path, tmp_path: Path, cli: Cli, cuts: str,
                                      message: str) -> None:
    out_dir = tmp_path / "segs"
    code, _, err = cli("split", model_file, "--cuts", cuts, "-o", out_dir)
    assert code != 0
    assert err.strip().startswith("error: ") and message in err and "Traceback" not in err
    assert not out_dir.exists()
