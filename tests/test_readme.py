"""The README's Python example runs as written (a doctest, in a scratch folder)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    blocks = re.findall(r"```python\n(>>> .*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no doctest example"
    monkeypatch.chdir(tmp_path)
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for i, block in enumerate(blocks):
        test = parser.get_doctest(block, {}, f"README block {i}", str(README), 0)
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_quick_start_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         cli) -> None:  # type: ignore[no-untyped-def]
    """Every command of the README's hardware-free quick start, in order (the zoo in a
    scratch cache), exits 0; the run is bit-exact."""
    import shlex

    text = README.read_text()
    block = text[text.index("## Quick start, no hardware"):]
    block = block[block.index("```bash\n") + 8:block.index("```", block.index("```bash\n") + 8)]
    zoo = tmp_path / "cache" / "tpusplit" / "zoo"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    model = ""
    ran = 0
    for line in block.splitlines():
        command = line.split("#")[0].strip()
        if command.startswith("M="):
            model = command[2:].replace("~/.cache/tpusplit/zoo", str(zoo))
            continue
        words = [model if w == "$M" else w for w in shlex.split(command)]
        assert words[0] == "tpusplit"
        code, out, err = cli(*words[1:])
        assert code == 0, (command, err)
        ran += 1
    assert ran == 6 and "bit-exact with the whole model" in out and ": yes" in out
    assert (tmp_path / "gantt.png").is_file() and (tmp_path / "plan.json").is_file()
