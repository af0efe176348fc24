"""Cost sources: what a segment costs on a device (Edge TPU model, profiler, predictor)."""

from tpusplit.costs.additive import AdditiveCost
from tpusplit.costs.base import CostSource, LowerBound, SegmentCost
from tpusplit.costs.devices import make_cost
from tpusplit.costs.edgetpu import DEVICES, EdgeTPUCost, EdgeTPUSegmentCost
from tpusplit.costs.edgetpu_profile import DeviceProfile, load_profile

__all__ = ["DEVICES", "AdditiveCost", "CostSource", "DeviceProfile", "EdgeTPUCost",
           "EdgeTPUSegmentCost", "LowerBound", "SegmentCost", "load_profile", "make_cost"]
