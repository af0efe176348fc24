"""Command line: thin commands that parse arguments, call the library and print.

One module per command (they evolve independently); each registers on ``app``.
"""

from __future__ import annotations

import sys
import warnings

# Command modules register themselves on ``app``: one import line each.
from tpusplit.cli import (
    bench_cmd,  # noqa: F401
    calibrate_cmd,  # noqa: F401
    demo_cmd,  # noqa: F401
    inspect_cmd,  # noqa: F401
    plan_cmd,  # noqa: F401
    predictor_cmd,  # noqa: F401
    run_cmd,  # noqa: F401
    simulate_cmd,  # noqa: F401
    split_cmd,  # noqa: F401
    zoo_cmd,  # noqa: F401
)
from tpusplit.cli.app import app
from tpusplit.errors import TpusplitError

__all__ = ["app", "main"]


def _warn_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main() -> None:
    """Entry point of the ``tpusplit`` console script.

    A user's mistake is one line on stderr and exit status 2, never a traceback.
    """
    warnings.showwarning = _warn_line
    try:
        app()
    except TpusplitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
