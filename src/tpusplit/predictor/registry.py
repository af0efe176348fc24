"""Predictor kinds by name (``gbt``, ``transformer``), imported lazily (torch is optional)."""

from tpusplit.predictor.base import KINDS, predictor_class

__all__ = ["KINDS", "predictor_class"]
