"""A profiler's measurement cache on disk: versioned JSON entries, merged on every write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tpusplit.errors import TpusplitError
from tpusplit.files import write_file

#: Format of the cache files; a file of another version is ignored (measured afresh).
CACHE_VERSION = 1


def read_entries(path: Path | None, what: str) -> dict[str, dict[str, Any]]:
    """The entries of the cache at ``path`` (none when there is no file or another version).

    Raises a one-line :class:`~tpusplit.errors.TpusplitError` naming the file when it is not
    such a cache (``what`` names it: "profiler cache", ...).
    """
    if path is None or not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        if data.get("version") != CACHE_VERSION:
            return {}
        entries = data["entries"]
        if not isinstance(entries, dict):
            raise TypeError("entries")
        return entries
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise TpusplitError(f"{path}: not a tpusplit {what} (delete it to start afresh)"
                            ) from None


def merge_and_write(path: Path, entries: dict[str, dict[str, Any]],
                    what: str) -> dict[str, dict[str, Any]]:
    """Write ``entries`` merged over what other processes added meanwhile; return the merge.

    An unreadable file on disk is replaced.
    """
    try:
        on_disk = read_entries(path, what)
    except TpusplitError:
        on_disk = {}
    on_disk.update(entries)
    write_file(path, json.dumps({"version": CACHE_VERSION, "entries": on_disk}, indent=0,
                                sort_keys=True), what)
    return on_disk
