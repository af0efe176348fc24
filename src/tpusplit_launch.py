"""The ``tpusplit`` console script: Ctrl-C while it starts is answered, not a traceback.

Importing tpusplit pulls in numpy, LiteRT and rich, which takes a moment; an interrupt then
is "interrupted" and exit status 130, as everywhere else. An interrupt inside an extension
module's import surfaces as some other error (numpy's: ``ImportError: PyCapsule_Import could
not import module "datetime"``), so while the commands are imported a SIGINT handler of its
own answers at once instead of raising. This module sits outside the ``tpusplit`` package
so that nothing heavy is imported before the guard.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("interrupted\n")
    sys.stderr.flush()
    os._exit(130)  # mid-import: no clean-up of half-imported modules to run


def main() -> None:
    """Import the commands, then run them (:func:`tpusplit.cli.main`)."""
    previous = signal.signal(signal.SIGINT, _interrupted)
    try:
        from tpusplit.cli import main as run_cli
    except KeyboardInterrupt:  # raised before the handler was set
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGINT, previous)
    run_cli()


if __name__ == "__main__":
    main()
