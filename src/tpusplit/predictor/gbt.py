"""Light baseline: an additive linear latency model corrected by gradient-boosted trees.

Step 1 fits :class:`~tpusplit.predictor.linear.LinearPrior` (latency as a non-negative
sum of the segment's raw totals, by NNLS on relative error): a roofline-like sum that
extrapolates to long segments. Step 2 fits scikit-learn's ``HistGradientBoostingRegressor``
(histogram gradient boosting as in LightGBM: Ke et al., NeurIPS 2017) to
``log(latency / linear estimate)`` on the log-scaled features plus the estimate, correcting
what the sum misses (kernel efficiency by shape, cache effects). Needs scikit-learn (the
``predict-light`` extra), not PyTorch.

Training is O(iterations * N * features) plus one NNLS solve; prediction is O(features +
iterations * depth) per segment.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from tpusplit.errors import TpusplitError
from tpusplit.predictor.base import Predictor
from tpusplit.predictor.dataset import Dataset
from tpusplit.predictor.linear import LinearPrior


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
        self.prior = LinearPrior()

    def _linear(self, x: np.ndarray) -> np.ndarray:
        return self.prior(x)

    def fit(self, data: Dataset) -> GBTPredictor:
        """Fit the linear sum (relative error), then the trees on its log residual."""
        if len(data) < 2:
            raise TpusplitError(f"cannot train on {len(data)} segment(s)")
        x, y = data.X, np.maximum(data.y, 1e-6)
        self.prior.fit(x, y)
        est = self._linear(x)
        self.model = HistGradientBoostingRegressor(**self.params)
        with threadpool_limits(1):  # robust on shared cores; small data gains little
            self.model.fit(np.hstack([x, np.log(est)[:, None]]), np.log(y / est))
        self._trained_on(data)
        return self

    def _predict(self, vectors: np.ndarray, tokens: Sequence[np.ndarray]) -> np.ndarray:
        if self.model is None:
            raise TpusplitError("the predictor is not trained")
        est = self._linear(vectors)
        # one thread: OpenMP's thread team is slower than serial for these small batches
        # and collapses when the cores are busy (e.g. a pipeline running beside the planner)
        with threadpool_limits(1):
            corr = self.model.predict(np.hstack([vectors, np.log(est)[:, None]]))
        return est * np.exp(corr)

    def _state(self) -> dict[str, Any]:
        return {"params": self.params, "model": self.model, "weights": self.prior.weights,
                "col_scale": self.prior.col_scale}

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> GBTPredictor:
        pred = cls()
        pred.params = dict(state["params"])
        pred.model = state["model"]
        pred.prior = LinearPrior(np.asarray(state["weights"]), np.asarray(state["col_scale"]))
        return pred
