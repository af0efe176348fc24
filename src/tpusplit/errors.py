"""The one exception type users see: a clear, one-line message, never a traceback."""

from __future__ import annotations

import json
from typing import Any


class TpusplitError(Exception):
    """A user-facing error. ``str(err)`` is one line that names the file and the problem."""


def read_bytes(path: object, what: str, error: type[TpusplitError] = TpusplitError) -> bytes:
    """The bytes of ``path``; a one-line ``error`` naming the file when it is missing, a
    directory or unreadable. ``what`` names the kind of file expected (``"TFLite model"``)."""
    from pathlib import Path

    p = Path(str(path))
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: no such file") from None
    except IsADirectoryError:
        raise error(f"{p}: is a directory, not a {what}") from None
    except OSError as exc:
        raise error(f"{p}: cannot read ({exc.strerror})") from None


def read_text(path: object, what: str, error: type[TpusplitError] = TpusplitError) -> str:
    """:func:`read_bytes` decoded as UTF-8 text (one-line ``error`` if it is not)."""
    data = read_bytes(path, what, error)
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise error(f"{path}: not a text {what}") from None


def read_json(path: object, what: str, error: type[TpusplitError] = TpusplitError) -> Any:
    """:func:`read_text` parsed as JSON (one-line ``error`` naming the line if it is not)."""
    text = read_text(path, what, error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None


def first_line(exc: BaseException | str, default: str | None = None) -> str:
    """The first non-empty line of an exception's message, or of a text (for one-line errors
    that quote a library's multi-line message); ``default``, else the exception's type name
    (or ``""``), if there is none."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    if default is not None:
        return default
    return "" if isinstance(exc, str) else type(exc).__name__
