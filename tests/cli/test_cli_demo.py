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


def test_demo_on_a_device_mix(tmp_path: Path, cli: Callable[..., tuple[int, str, str]]) -> None:
    code, out, _ = cli("demo", "--filters", "16", "--devices", "usb3:1,pcie:1", "--random", "3",
                       "-o", tmp_path)
    assert code == 0, out
    assert "exact heterogeneous pipeline on usb3:1,pcie:1" in out
    assert "devices-as-slowest" in out
    assert "bit-exact with the whole model on 3 input(s): yes" in out
    segments = list(tmp_path.glob("conv_F16_segment_*.tflite"))
    assert 1 <= len(segments) <= 2


def test_demo_device_mix_errors_are_one_line(cli: Callable[..., tuple[int, str, str]]) -> None:
    for devices, words in (("usb3:x", "usb3:x"), ("warp:1", "warp")):
        code, out, err = cli("demo", "--devices", devices)
        assert code != 0
        line = (err or out).strip()
        assert "\n" not in line and words in line, line
