"""Read Edge TPU measurement CSVs (the format of ../shared/data/edgetpu-measurements)."""

from __future__ import annotations

import ast
import csv
import os
from dataclasses import dataclass
from pathlib import Path

from tpusplit.errors import TpusplitError

MiB = 1 << 20

#: Where the team's copy of the real measurements lives (override with TPUSPLIT_MEASUREMENTS).
DEFAULT_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / \
    "edgetpu-measurements"


def measurements_dir() -> Path:
    """The measurement directory: ``$TPUSPLIT_MEASUREMENTS`` or the shared copy next to the repo."""
    env = os.environ.get("TPUSPLIT_MEASUREMENTS")
    if env:
        return Path(env)
    return DEFAULT_DIR.resolve()


@dataclass(frozen=True, slots=True)
class Row:
    """One measured model: family, size (F or N), per-TPU on/off-chip MiB, time per inference.

    ``on_chip_mib``/``off_chip_mib`` hold one value per segment (one for a single TPU).
    """

    family: str
    size: int
    macs: int
    on_chip_mib: tuple[float, ...]
    off_chip_mib: tuple[float, ...]
    time_ms: float

    @property
    def tpus(self) -> int:
        """Number of segments (TPUs)."""
        return len(self.on_chip_mib)


@dataclass(frozen=True, slots=True)
class Measurements:
    """A measurement file: its rows, the family, the TPU count and how it was split."""

    path: Path
    family: str
    tpus: int
    split: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class BatchSweep:
    """A batch-size sweep: time per inference for batches of growing size (one model)."""

    path: Path
    family: str
    size: int
    tpus: int
    batches: tuple[int, ...]
    time_ms: tuple[float, ...]


def _floats(text: str, path: Path, line: int) -> tuple[float, ...]:
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise TpusplitError(f"{path}: line {line}: {text!r} is not a number or a list of "
                            f"numbers") from None
    values = value if isinstance(value, list | tuple) else [value]
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool)
                             for v in values):
        raise TpusplitError(f"{path}: line {line}: {text!r} is not a number or a list of numbers")
    return tuple(float(v) for v in values)


def _read_csv(p: Path) -> list[list[str]]:
    """All rows of a CSV file; a one-line error when it cannot be read as text."""
    try:
        with p.open(newline="") as fh:
            return list(csv.reader(fh))
    except OSError as exc:
        raise TpusplitError(f"{p}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise TpusplitError(f"{p}: not a text CSV file") from None


def read(path: str | Path) -> Measurements:
    """Read one file with columns ``Num filters|Hidden neurons, # MACs, On chip mem used,
    Off chip mem used, Inference time``.

    The family is ``conv`` for ``Num filters`` and ``fc`` for ``Hidden neurons``. The split
    (``compiler``/``even``/``single``) comes from the file name when it says so.

    Raises:
        TpusplitError: the file is missing, empty, or not in this format.
    """
    p = Path(path)
    table = _read_csv(p)
    if not table:
        raise TpusplitError(f"{p}: empty file")
    header = [h.strip() for h in table[0]]
    if len(header) != 5 or header[0] not in ("Num filters", "Hidden neurons"):
        raise TpusplitError(f"{p}: expected columns 'Num filters|Hidden neurons, # MACs, On chip "
                            f"mem used, Off chip mem used, Inference time', got {header}")
    family = "conv" if header[0] == "Num filters" else "fc"
    rows: list[Row] = []
    for line, rec in enumerate(table[1:], start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != 5:
            raise TpusplitError(f"{p}: line {line}: expected 5 fields, got {len(rec)}")
        try:
            size, macs = int(rec[0]), int(rec[1])
            time_ms = float(rec[4])
        except ValueError:
            raise TpusplitError(f"{p}: line {line}: size, MACs and time must be numbers") \
                from None
        on, off = _floats(rec[2], p, line), _floats(rec[3], p, line)
        if len(on) != len(off):
            raise TpusplitError(f"{p}: line {line}: {len(on)} on-chip but {len(off)} off-chip "
                                f"values")
        if size <= 0 or time_ms <= 0 or min(on + off) < 0:
            raise TpusplitError(f"{p}: line {line}: sizes and times must be positive")
        rows.append(Row(family, size, macs, on, off, time_ms))
    if not rows:
        raise TpusplitError(f"{p}: no measurement rows")
    tpus = {r.tpus for r in rows}
    if len(tpus) != 1:
        raise TpusplitError(f"{p}: rows have different TPU counts {sorted(tpus)}")
    name = p.name
    split = "compiler" if "compiler" in name else "even" if "even" in name else (
        "single" if rows[0].tpus == 1 else "unknown")
    return Measurements(p, family, rows[0].tpus, split, tuple(rows))


def read_sweep(path: str | Path) -> BatchSweep:
    """Read a ``Batch size, Inference time`` file named like ``conv_F672_2tpu_..._sweep.csv``."""
    p = Path(path)
    table = _read_csv(p)
    if not table or [h.strip() for h in table[0]] != ["Batch size", "Inference time"]:
        raise TpusplitError(f"{p}: expected columns 'Batch size, Inference time'")
    parts = p.stem.split("_")
    try:
        family = parts[0]
        size = int(parts[1].lstrip("FN"))
        tpus = int(parts[2].removesuffix("tpu"))
    except (IndexError, ValueError):
        raise TpusplitError(f"{p}: name must look like conv_F672_2tpu_..._batch_sweep.csv") \
            from None
    batches, times = [], []
    for line, rec in enumerate(table[1:], start=2):
        if not rec:
            continue
        try:
            batches.append(int(rec[0]))
            times.append(float(rec[1]))
        except (ValueError, IndexError):
            raise TpusplitError(f"{p}: line {line}: expected two numbers") from None
    return BatchSweep(p, family, size, tpus, tuple(batches), tuple(times))


def load_all(directory: str | Path | None = None) -> tuple[list[Measurements], list[BatchSweep]]:
    """Every measurement file and batch sweep in ``directory`` (default :func:`measurements_dir`),
    sorted by family then TPU count."""
    d = Path(directory) if directory is not None else measurements_dir()
    if not d.is_dir():
        raise TpusplitError(f"{d}: measurement directory not found")
    files = sorted(d.glob("*.csv"))
    tables = [read(f) for f in files if "sweep" not in f.name]
    sweeps = [read_sweep(f) for f in files if "sweep" in f.name]
    tables.sort(key=lambda m: (m.family, m.tpus))
    sweeps.sort(key=lambda s: (s.family, s.tpus))
    return tables, sweeps
