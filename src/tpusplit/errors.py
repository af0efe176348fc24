"""The one exception type users see: a clear, one-line message, never a traceback."""


class TpusplitError(Exception):
    """A user-facing error. ``str(err)`` is one line that names the file and the problem."""


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first non-empty line of ``exc``'s message (for one-line errors that quote a
    library's multi-line message); ``default``, else the exception's type name, if empty."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__ if default is None else default
