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
