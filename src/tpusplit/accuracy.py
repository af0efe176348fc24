"""Accuracy of predicted figures against measured ones: the one definition of MAPE."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mape(predicted: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray
         ) -> float:
    """Mean absolute percentage error, as a FRACTION (0.05 means 5%; format with ``:.1%``).

    ``mean(|predicted - actual| / actual)`` over pairs with ``actual > 0``; NaN when there
    are none. Raises ``ValueError`` when the lengths differ. Complexity O(N).
    """
    p = np.asarray(predicted, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if p.shape != a.shape:
        raise ValueError(f"{p.shape} predictions for {a.shape} measurements")
    if a.size == 0:
        return float("nan")
    return float(np.mean(np.abs(p - a) / a))
