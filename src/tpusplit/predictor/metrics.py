"""Accuracy of latency predictions as the field reports it (nn-Meter, MobiSys 2021).

RMSE (ms), RMSPE (root mean square percentage error), MAPE (:func:`tpusplit.accuracy.mape`),
and the share of predictions within +-10% (and +-5%) of the label; percentages are fractions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tpusplit.accuracy import mape

#: Bounds are inclusive: a prediction exactly 10% off (up to rounding) counts as within.
_EPS = 1e-9


@dataclass(frozen=True)
class Metrics:
    """Prediction accuracy over ``count`` segments."""

    count: int
    rmse_ms: float
    rmspe: float
    mape: float
    within_10: float
    within_5: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict (for JSON)."""
        return asdict(self)


def evaluate(predicted: np.ndarray, actual: np.ndarray) -> Metrics:
    """Metrics of ``predicted`` against ``actual`` (both in ms, same length, actual > 0).

    Percentages are fractions (0.05 is 5%). Complexity O(N).
    """
    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if p.shape != a.shape:
        raise ValueError(f"{p.shape} predictions for {a.shape} labels")
    if len(a) == 0:
        return Metrics(0, float("nan"), float("nan"), float("nan"), float("nan"), float("nan"))
    if np.any(a <= 0):
        raise ValueError("labels must be positive")
    rel = (p - a) / a
    return Metrics(
        count=len(a),
        rmse_ms=float(np.sqrt(np.mean((p - a) ** 2))),
        rmspe=float(np.sqrt(np.mean(rel ** 2))),
        mape=mape(p, a),
        within_10=float(np.mean(np.abs(rel) <= 0.10 + _EPS)),
        within_5=float(np.mean(np.abs(rel) <= 0.05 + _EPS)),
    )
