"""Read a TFLite model into a graph of ops with costs and cuts, and write its segments.

Layering: ``graph`` imports nothing of tpusplit but ``errors``.
"""

from tpusplit.graph.graph import FloatModelWarning, Graph, Op, Tensor, load
from tpusplit.graph.layer_split import (
    EDGETPU_CHANNELS,
    LayerSplit,
    balanced_boundaries,
    op_ranges,
    propose,
    split_layers,
)
from tpusplit.graph.segment_files import (
    check_segment_set,
    segment_path,
    split_files,
    stale_segments,
)
from tpusplit.graph.slicing import (
    Segment,
    bounds,
    check_cuts,
    extract,
    segments,
    split,
    unique_names,
)
from tpusplit.graph.tflite import GraphError

__all__ = [
    "EDGETPU_CHANNELS",
    "FloatModelWarning",
    "Graph",
    "GraphError",
    "LayerSplit",
    "Op",
    "Segment",
    "Tensor",
    "balanced_boundaries",
    "bounds",
    "check_cuts",
    "check_segment_set",
    "extract",
    "load",
    "op_ranges",
    "propose",
    "segment_path",
    "segments",
    "split",
    "split_files",
    "split_layers",
    "stale_segments",
    "unique_names",
]
