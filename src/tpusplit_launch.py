"""The ``tpusplit`` console script: Ctrl-C while it starts is answered, not a traceback.

Importing tpusplit pulls in numpy, LiteRT and rich, which takes a moment; an interrupt then
is "interrupted" and exit status 130, as everywhere else. This module sits outside the
``tpusplit`` package so that nothing heavy is imported before the guard.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Import the commands, then run them (:func:`tpusplit.cli.main`)."""
    try:
        from tpusplit.cli import main as run_cli
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    run_cli()


if __name__ == "__main__":
    main()
