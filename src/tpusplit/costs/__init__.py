"""Cost sources: the interface, the additive model and the analytic Edge TPU model."""

from tpusplit.costs.additive import AdditiveCost
from tpusplit.costs.base import CostSource, LowerBound, SegmentCost
from tpusplit.costs.edgetpu import DEVICES, EdgeTPUCost, EdgeTPUSegmentCost

__all__ = ["DEVICES", "AdditiveCost", "CostSource", "EdgeTPUCost", "EdgeTPUSegmentCost",
           "LowerBound", "SegmentCost"]
