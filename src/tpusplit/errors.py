"""The one exception type users see: a clear, one-line message, never a traceback."""


class TpusplitError(Exception):
    """A user-facing error. ``str(err)`` is one line that names the file and the problem."""
