"""``tpusplit bench`` writes its results elsewhere than the committed ones unless asked."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., tuple[int, str, str]]

FAKE = '''
import os
from pathlib import Path

RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")


def main(argv=None):
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fake.md").write_text("figures\\n")
    return 0
'''


def test_results_go_elsewhere_unless_committed(cli: Cli, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "benchmarks" / "fake").mkdir(parents=True)
    (tmp_path / "benchmarks" / "fake" / "run.py").write_text(FAKE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TPUSPLIT_RESULTS", raising=False)
    code, out, err = cli("bench")
    assert code == 0 and out.split() == ["fake"]
    code, _, err = cli("bench", "fake")
    assert code == 0, err
    assert (tmp_path / "bench-results" / "fake.md").is_file()
    assert not (tmp_path / "benchmarks" / "results").exists()
    code, _, err = cli("bench", "fake", "--commit")
    assert code == 0 and (tmp_path / "benchmarks" / "results" / "fake.md").is_file()
