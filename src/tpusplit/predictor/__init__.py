"""Learned segment-latency predictors (boosted trees, a Transformer) and their cost source."""

from tpusplit.predictor.base import (
    PREDICTOR_ENV,
    Predictor,
    PredictorCost,
    default_predictor_path,
    find_predictor,
    load_predictor,
)
from tpusplit.predictor.metrics import Metrics, evaluate
from tpusplit.predictor.registry import KINDS, predictor_class

__all__ = ["KINDS", "PREDICTOR_ENV", "Metrics", "Predictor", "PredictorCost",
           "default_predictor_path", "evaluate", "find_predictor", "load_predictor",
           "predictor_class"]
