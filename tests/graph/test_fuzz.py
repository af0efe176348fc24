"""The reader under fuzz: no traceback, crash or hang on mutated models (a short run; the
long one is ``benchmarks/fuzz/run.py``), and the fuzz runner itself tells them apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parents[1] / "helpers"
sys.path.insert(0, str(HELPERS))

import fuzzing  # noqa: E402


def test_200_mutated_models_give_no_traceback_crash_or_hang() -> None:
    """Seeded byte and structure mutations of Coral's graphs and built models, through load,
    inspect, split and simulate, each in a forked child under a memory cap and a timeout
    (forked from a fresh process, which is much faster than forking pytest)."""
    proc = subprocess.run([sys.executable, str(HELPERS / "fuzzing.py"), "--inputs", "200",
                           "--seed", "7"], capture_output=True, text=True, timeout=900,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    summary = lines[-1]["summary"]
    bad = [r for r in lines[:-1] if r["outcome"] not in ("ok", "clean")]
    assert not bad, bad[:5]
    assert summary.get("clean", 0) > 0 and summary.get("ok", 0) > 0


def _raises(name: str, path: Path) -> None:
    raise IndexError("list index out of range")


def _segfault(name: str, path: Path) -> None:
    os.kill(os.getpid(), 11)


def _allocates(name: str, path: Path) -> None:
    _ = bytearray(4 << 30)


def _sleeps(name: str, path: Path) -> None:
    time.sleep(60)


def _clean(name: str, path: Path) -> None:
    from tpusplit.errors import TpusplitError

    raise TpusplitError(f"{path}: not a TFLite model")


@pytest.mark.parametrize(("target", "kind", "detail"), [
    (_raises, "traceback", "IndexError"),
    (_segfault, "crash", "signal 11"),
    (_allocates, "crash", "MemoryError"),
    (_sleeps, "hang", "more than"),
    (_clean, "clean", "not a TFLite model"),
])
def test_the_runner_tells_outcomes_apart(target, kind: str, detail: str,  # type: ignore[no-untyped-def]
                                         tmp_path: Path) -> None:
    out = fuzzing.run_one("load", tmp_path / "m.tflite", timeout=2.0, target=target)
    assert out.kind == kind and detail in out.detail
