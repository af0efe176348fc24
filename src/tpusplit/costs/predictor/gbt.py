"""Light baseline: an additive linear latency model corrected by gradient-boosted trees.

Step 1 fits latency as a non-negative combination of the segment's raw totals (op counts and
MACs per op type, element ops, parameter, activation and boundary bytes, a constant) by
non-negative least squares on relative error (Lawson & Hanson, "Solving Least Squares
Problems", 1974; ``scipy.optimize.nnls``): a roofline-like sum that extrapolates to long
segments. Step 2 fits scikit-learn's ``HistGradientBoostingRegressor`` (histogram gradient
boosting as in LightGBM: Ke et al., NeurIPS 2017) to ``log(latency / linear estimate)`` on the
log-scaled features plus the estimate, correcting what the sum misses (kernel efficiency by
shape, cache effects). Needs scikit-learn (the ``predict-light`` extra), not PyTorch.

Training is O(iterations * N * features) plus one NNLS solve; prediction is O(features +
iterations * depth) per segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import nnls
from sklearn.ensemble import HistGradientBoostingRegressor

from tpusplit.costs.dataset import Dataset
from tpusplit.costs.features import OP_TYPES, SEGMENT_NAMES
from tpusplit.costs.predictor.base import Predictor
from tpusplit.errors import TpusplitError

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


class GBTPredictor(Predictor):
    """Non-negative linear sum of segment totals, corrected by gradient-boosted trees."""

    kind: ClassVar[str] = "gbt"
    uses_tokens: ClassVar[bool] = False

    def __init__(self, max_iter: int = 400, learning_rate: float = 0.05,
                 max_leaf_nodes: int = 15, seed: int = 0) -> None:
        super().__init__()
        self.params = {"max_iter": max_iter, "learning_rate": learning_rate,
                       "max_leaf_nodes": max_leaf_nodes, "random_state": seed,
                       "l2_regularization": 1e-2, "min_samples_leaf": 10,
                       "early_stopping": False}
        self.model: HistGradientBoostingRegressor | None = None
        self.weights: np.ndarray | None = None
        self.col_scale: np.ndarray | None = None

    def _linear(self, x: np.ndarray) -> np.ndarray:
        assert self.weights is not None and self.col_scale is not None
        est = (raw_totals(x) / self.col_scale) @ self.weights
        return np.maximum(est, 1e-4)

    def fit(self, data: Dataset) -> GBTPredictor:
        """Fit the linear sum (relative error), then the trees on its log residual."""
        if len(data) < 2:
            raise TpusplitError(f"cannot train on {len(data)} segment(s)")
        x, y = data.X, np.maximum(data.y, 1e-6)
        raw = raw_totals(x)
        self.col_scale = np.maximum(np.abs(raw).max(axis=0), 1e-12)
        a = raw / self.col_scale
        self.weights = nnls(a / y[:, None], np.ones(len(y)), maxiter=50 * a.shape[1])[0]
        est = self._linear(x)
        self.model = HistGradientBoostingRegressor(**self.params)
        self.model.fit(np.hstack([x, np.log(est)[:, None]]), np.log(y / est))
        self.device = data.devices[0]
        self.trained_on = len(data)
        return self

    def _predict(self, vectors: np.ndarray, tokens: Sequence[np.ndarray]) -> np.ndarray:
        if self.model is None:
            raise TpusplitError("the predictor is not trained")
        est = self._linear(vectors)
        return est * np.exp(self.model.predict(np.hstack([vectors, np.log(est)[:, None]])))

    def _state(self) -> dict[str, Any]:
        return {"params": self.params, "model": self.model, "weights": self.weights,
                "col_scale": self.col_scale}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> GBTPredictor:
        pred = cls()
        pred.params = dict(state["params"])
        pred.model = state["model"]
        pred.weights = np.asarray(state["weights"])
        pred.col_scale = np.asarray(state["col_scale"])
        return pred
