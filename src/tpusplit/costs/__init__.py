"""Cost sources: what a segment costs on a device (Edge TPU model, profiler, predictor)."""

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.edgetpu import DEVICES, EdgeTPUCost, EdgeTPUSegmentCost
from tpusplit.costs.edgetpu_profile import DeviceProfile, load_profile

__all__ = ["DEVICES", "CostSource", "DeviceProfile", "EdgeTPUCost", "EdgeTPUSegmentCost",
           "SegmentCost", "load_profile"]
