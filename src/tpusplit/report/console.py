"""The rich console every command prints through: wide enough for our tables when piped."""

from __future__ import annotations

import shutil
import sys

from rich.console import Console

#: Width used when output is not a terminal (pipes, files, tests): tables never truncate.
PIPE_WIDTH = 160


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that is at least :data:`PIPE_WIDTH` wide when piped."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, width=max(PIPE_WIDTH, shutil.get_terminal_size().columns),
                   file=stream)
