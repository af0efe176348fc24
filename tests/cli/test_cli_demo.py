"""``tpusplit demo`` runs end to end; the README's commands are the ones CI runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_small(tmp_path: Path, cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = cli("demo", "--filters", "16", "--tpus", "3", "--random", "4", "-o", tmp_path)
    assert code == 0, out
    for strategy in ("compiler", "profiled", "balanced", "optimal"):
        assert strategy in out
    assert "bit-exact with the whole model on 4 input(s): yes" in out
    assert len(list(tmp_path.glob("conv_F16_segment_*_of_3.tflite"))) == 3


def test_readme_gives_exactly_two_setup_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```bash\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    assert block[0].endswith("tpusplit demo")
    assert "pytest" in block[1]
    assert block[1] in (ROOT / ".ci" / "run").read_text()
