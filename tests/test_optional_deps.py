"""The base install stays free of Ray: importing tpusplit and its CLI imports no ``ray``."""

from __future__ import annotations

import subprocess
import sys


def test_importing_tpusplit_and_the_cli_does_not_import_ray() -> None:
    code = ("import sys, tpusplit, tpusplit.cli, tpusplit.pipeline, tpusplit.strategies; "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
