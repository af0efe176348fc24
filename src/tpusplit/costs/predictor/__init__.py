"""Learned segment-latency predictors (boosted trees, a Transformer) and their cost source."""

from tpusplit.costs.predictor.base import Predictor, PredictorCost, load_predictor
from tpusplit.costs.predictor.metrics import Metrics, evaluate
from tpusplit.costs.predictor.registry import KINDS, predictor_class

__all__ = ["KINDS", "Metrics", "Predictor", "PredictorCost", "evaluate", "load_predictor",
           "predictor_class"]
