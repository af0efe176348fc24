"""Command line: thin commands that parse arguments, call the library and print.

One module per command (they evolve independently); each registers on ``app``.
"""

from __future__ import annotations

import sys
import warnings

from typer import TyperException
from typer._click.exceptions import NoArgsIsHelpError  # typer >= 0.29 vendors click

# Command modules register themselves on ``app``: one import line each.
from tpusplit.cli import (
    bench_cmd,  # noqa: F401
    calibrate_cmd,  # noqa: F401
    cluster_cmd,  # noqa: F401
    demo_cmd,  # noqa: F401
    devices_cmd,  # noqa: F401
    inspect_cmd,  # noqa: F401
    plan_cmd,  # noqa: F401
    predictor_cmd,  # noqa: F401
    run_cmd,  # noqa: F401
    simulate_cmd,  # noqa: F401
    split_cmd,  # noqa: F401
    zoo_cmd,  # noqa: F401
)
from tpusplit.cli.app import app
from tpusplit.errors import TpusplitError, first_line

__all__ = ["app", "main"]


def _warn_line(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main() -> None:
    """Entry point of the ``tpusplit`` console script.

    A user's mistake, whether typer finds it (a missing argument, a value out of range) or
    tpusplit does, is one line on stderr and exit status 2, never a traceback or a box.
    """
    warnings.showwarning = _warn_line
    try:
        code = app(prog_name="tpusplit", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # a bare `tpusplit` or `tpusplit zoo`: the help
        print(exc.format_message())
        code = 0
    except TyperException as exc:  # usage errors found while parsing
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} -h`)" if ctx is not None else ""
        message = first_line(exc.format_message()).rstrip(".")
        print(f"error: {message}{where}", file=sys.stderr)
        code = getattr(exc, "exit_code", 2)
    except TpusplitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    if code == 130:
        print("interrupted", file=sys.stderr)
    sys.exit(code or 0)
