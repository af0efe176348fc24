"""An additive latency prior: a non-negative linear sum of a segment's raw totals.

Fits latency as a non-negative combination of op counts and MACs per op type, element ops,
parameter, activation and boundary bytes, input/output counts and a constant, by non-negative
least squares on relative error (Lawson & Hanson, "Solving Least Squares Problems", 1974;
``scipy.optimize.nnls``). A roofline-like sum that extrapolates to segments longer or heavier
than the training ones; the learned predictors correct it. O(N F^2) to fit, O(F) per segment.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from tpusplit.predictor.encoding import OP_TYPES, SEGMENT_NAMES

_K = len(OP_TYPES)
_LOG_TOTALS = [SEGMENT_NAMES.index(n) for n in (
    "log_element_ops", "log_param_bytes", "log_act_bytes", "log_in_bytes", "log_out_bytes")]
_COUNTS = [SEGMENT_NAMES.index(n) for n in ("n_inputs", "n_outputs")]


def raw_totals(x: np.ndarray) -> np.ndarray:
    """The additive (unlogged) columns of segment vectors ``x`` plus a constant column."""
    counts = x[:, :_K]
    macs = np.expm1(x[:, _K:2 * _K])
    totals = np.expm1(x[:, _LOG_TOTALS])
    return np.hstack([counts, macs, totals, x[:, _COUNTS], np.ones((len(x), 1))])


class LinearPrior:
    """Non-negative weights per raw total, fitted on relative error."""

    def __init__(self, weights: np.ndarray | None = None,
                 col_scale: np.ndarray | None = None) -> None:
        self.weights = weights
        self.col_scale = col_scale

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearPrior:
        """Minimise sum(((raw(x) @ w - y) / y)^2) over w >= 0."""
        raw = raw_totals(x)
        self.col_scale = np.maximum(np.abs(raw).max(axis=0), 1e-12)
        a = raw / self.col_scale
        self.weights = nnls(a / y[:, None], np.ones(len(y)), maxiter=50 * a.shape[1])[0]
        return self

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Estimated latency (ms) for segment vectors ``x`` (at least 1e-4)."""
        if self.weights is None or self.col_scale is None:
            raise ValueError("LinearPrior is not fitted")
        return np.maximum((raw_totals(x) / self.col_scale) @ self.weights, 1e-4)
