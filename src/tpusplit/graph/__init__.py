"""Read a TFLite model into a graph of ops with costs and cuts, and write its segments.

Layering: ``graph`` imports nothing of tpusplit but ``errors``.
"""

from tpusplit.graph.graph import FloatModelWarning, Graph, Op, Tensor, load
from tpusplit.graph.slicing import (
    Segment,
    bounds,
    check_cuts,
    extract,
    segment_path,
    segments,
    split,
    split_files,
    unique_names,
)
from tpusplit.graph.tflite import GraphError

__all__ = [
    "FloatModelWarning",
    "Graph",
    "GraphError",
    "Op",
    "Segment",
    "Tensor",
    "bounds",
    "check_cuts",
    "extract",
    "load",
    "segment_path",
    "segments",
    "split",
    "split_files",
    "unique_names",
]
