"""Writing files all or nothing: the one atomic write every command and cache uses.

Each file goes to a temporary name in its directory, then is renamed over the target, so a
reader (or a crash) never sees half a file. Files get the usual permissions (``0666`` less
the umask), not the ``0600`` of a temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from tpusplit.errors import TpusplitError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_files(files: Mapping[Path, bytes | str], what: str = "file") -> None:
    """Write every file or none (text is written as UTF-8); parent folders are created.

    Raises a one-line :class:`~tpusplit.errors.TpusplitError` naming the file that could not
    be written (``what`` says what it is: "plan", "profiler cache", ...); nothing of the
    batch is left behind then.
    """
    staged: list[tuple[str, Path]] = []
    current = Path("output")
    mode = 0o666 & ~_umask()
    try:
        for path, data in files.items():
            path = Path(path)
            current = path
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed write
                stale.unlink(missing_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data.encode() if isinstance(data, str) else data)
            os.chmod(tmp, mode)
    except OSError as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise TpusplitError(f"{current}: cannot write the {what} ({exc.strerror})") from None
    for tmp, path in staged:
        os.replace(tmp, path)


def write_file(path: str | Path, data: bytes | str, what: str = "file") -> None:
    """Write one file atomically (see :func:`write_files`)."""
    write_files({Path(path): data}, what)


def data_dir() -> Path:
    """The measurement data: ``$TPUSPLIT_DATA``, else the ``tpusplit/data`` folder shipped in
    the package (``data/`` of a checkout is a link to it)."""
    env = os.environ.get("TPUSPLIT_DATA")
    return Path(env) if env else Path(str(resources.files("tpusplit") / "data"))
