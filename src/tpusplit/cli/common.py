"""Argument parsing and safe file writing shared by the commands."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from tpusplit.errors import TpusplitError


def parse_cuts(text: str, source: str) -> list[int]:
    """Parse ``"12,40"`` into ``[12, 40]`` (range and order are checked against the graph)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise TpusplitError(f"{source}: --cuts is empty; give op indices like 12,40")
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise TpusplitError(f"{source}: --cuts {text!r} must be comma-separated op indices") \
            from None


def write_files(files: Mapping[Path, bytes]) -> None:
    """Write every file or none: each goes to a temporary name first, then all are renamed."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            staged.append((tmp, path))
    except OSError as exc:
        for tmp, _ in staged:
            os.unlink(tmp)
        raise TpusplitError(f"{exc.filename or 'output'}: cannot write ({exc.strerror})") from None
    for tmp, path in staged:
        os.replace(tmp, path)
