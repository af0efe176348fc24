"""Cost sources: what a segment costs on a device (Edge TPU model, profiler, predictor)."""

from tpusplit.costs.base import CostSource, SegmentCost

__all__ = ["CostSource", "SegmentCost"]
