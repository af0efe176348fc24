"""Reports on a latency predictor: its accuracy on a dataset, as a table or JSON."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from tpusplit.predictor import Metrics
from tpusplit.predictor.dataset import Dataset


def metrics_dict(m: Metrics, data: Dataset) -> dict[str, Any]:
    """JSON-ready accuracy (percentages as fractions) with the segment and model counts."""
    return {"segments": m.count, "models": len(set(data.models)), **m.as_dict()}


def metrics_table(m: Metrics, title: str) -> Table:
    """One row: RMSE, RMSPE, MAPE and the shares within +-10% and +-5%."""
    table = Table(title=title)
    for col in ("segments", "RMSE (ms)", "RMSPE", "MAPE", "within ±10%", "within ±5%"):
        table.add_column(col, justify="right")
    table.add_row(str(m.count), f"{m.rmse_ms:.4f}", f"{m.rmspe:.1%}", f"{m.mape:.1%}",
                  f"{m.within_10:.1%}", f"{m.within_5:.1%}")
    return table
