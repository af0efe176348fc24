"""Segment files: where each segment of a split goes (Coral's naming) and its bytes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tpusplit.graph.coral import split_coral
from tpusplit.graph.graph import Graph
from tpusplit.graph.slicing import split


def segment_path(directory: str | Path, stem: str, index: int, count: int) -> Path:
    """Where segment ``index`` of ``count`` of model ``stem`` is written: Coral's naming,
    ``<stem>_segment_<index>_of_<count>.tflite``."""
    return Path(directory) / f"{stem}_segment_{index}_of_{count}.tflite"


def split_files(graph: Graph, cuts: Sequence[int], directory: str | Path,
                coral: bool = False) -> dict[Path, bytes]:
    """:func:`split` (with ``coral``: :func:`tpusplit.graph.coral.split_coral`), keyed by the
    file each segment goes to (:func:`segment_path`); nothing is written."""
    blobs = split_coral(graph, cuts) if coral else split(graph, cuts)
    return {segment_path(directory, graph.name, i, len(blobs)): b for i, b in enumerate(blobs)}
