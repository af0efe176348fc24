"""Report on segments compiled by ``edgetpu_compiler``: on-chip, off-chip, operations mapped."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from tpusplit.pipeline.edgetpu_compiler import CompileResult
from tpusplit.units import MiB


def compile_rows(results: dict[Path, CompileResult]) -> list[dict[str, object]]:
    """One JSON-ready row per compiled segment (keyed by the file written)."""
    return [{"file": str(path), **r.log.as_dict()} for path, r in results.items()]


def compile_table(results: dict[Path, CompileResult]) -> Table:
    """What the compiler reported for each segment."""
    table = Table(title="edgetpu_compiler")
    for c in ("compiled segment", "on-chip MiB", "off-chip MiB", "ops mapped", "fits"):
        table.add_column(c, justify="left" if c == "compiled segment" else "right")
    for path, r in results.items():
        log = r.log
        total = log.total_ops if log.total_ops >= 0 else "?"
        table.add_row(path.name, f"{log.on_chip_bytes / MiB:.2f}",
                      f"{log.off_chip_bytes / MiB:.2f}", f"{log.ops_mapped}/{total}",
                      "yes" if log.fits else "NO (streams)")
    return table
