"""The leaf modules: one definition each of MiB, MAPE, atomic writes and an error's first line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from tpusplit.accuracy import mape
from tpusplit.errors import TpusplitError, first_line
from tpusplit.files import write_file, write_files
from tpusplit.units import KiB, MiB, mib


def test_units() -> None:
    assert (KiB, MiB) == (1024, 1024 * 1024)
    assert mib(3 * MiB) == 3.0


def test_mape_is_a_fraction() -> None:
    assert mape([1.1, 1.8], [1.0, 2.0]) == pytest.approx(0.1)
    assert mape(np.array([2.0]), np.array([2.0])) == 0.0
    assert np.isnan(mape([], []))
    with pytest.raises(ValueError, match="predictions"):
        mape([1.0], [1.0, 2.0])


def test_first_line() -> None:
    assert first_line(ValueError("\n  bad thing  \nmore detail")) == "bad thing"
    assert first_line(KeyError()) == "KeyError"
    assert first_line(RuntimeError(""), default="") == ""


def test_files_get_the_usual_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_file(tmp_path / "a" / "plan.json", "{}\n")
        write_files({tmp_path / "b.bin": b"\x00\x01"})
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "plan.json").read_text() == "{}\n"
    assert stat.S_IMODE((tmp_path / "a" / "plan.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.bin").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b.bin", "plan.json"]


def test_all_or_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    good = tmp_path / "good.txt"
    with pytest.raises(TpusplitError, match=r"cannot write the plan") as err:
        write_files({good: "fine", blocker / "inside.txt": "no"}, "plan")
    assert "\n" not in str(err.value) and str(blocker / "inside.txt") in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no temporary left
