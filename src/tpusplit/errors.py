"""The one exception type users see: a clear, one-line message, never a traceback."""


class TpusplitError(Exception):
    """A user-facing error. ``str(err)`` is one line that names the file and the problem."""


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
