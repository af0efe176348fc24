"""Segment files: where each segment of a split goes (Coral's naming) and its bytes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from tpusplit.graph.coral import split_coral
from tpusplit.graph.graph import Graph
from tpusplit.graph.slicing import split
from tpusplit.graph.tflite import GraphError


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


#: A segment file's name: ``<stem>_segment_<i>_of_<N>.tflite`` (``_edgetpu`` when compiled).
SEGMENT_NAME = re.compile(r"(?P<stem>.+)_segment_(?P<i>\d+)_of_(?P<n>\d+)(?P<tpu>_edgetpu)?"
                          r"\.tflite")


def stale_segments(directory: str | Path, stem: str, count: int) -> list[Path]:
    """Segment files of model ``stem`` in ``directory`` from a split into other than
    ``count`` segments (an earlier split's set, which would mix with the new one)."""
    out = []
    for p in sorted(Path(directory).glob(f"{stem}_segment_*_of_*.tflite")):
        m = SEGMENT_NAME.fullmatch(p.name)
        if m and m["stem"] == stem and int(m["n"]) != count:
            out.append(p)
    return out


def check_segment_set(paths: Sequence[str | Path]) -> None:
    """A one-line error unless segment files named ``<stem>_segment_<i>_of_<N>`` form one
    whole set in order (every ``i`` of ``0..N-1`` once, one stem, one ``N``); files named
    otherwise are not checked."""
    found = [(Path(p), SEGMENT_NAME.fullmatch(Path(p).name)) for p in paths]
    named = [(p, m) for p, m in found if m]
    if not named:
        return
    if len(named) != len(found):
        return  # a mix of names: the user's own order, not checked
    stems = {(m["stem"], m["n"], bool(m["tpu"])) for _, m in named}
    if len(stems) > 1:
        raise GraphError(f"{named[0][0]}: segment files of different splits "
                         f"({', '.join(sorted(f'{s}_of_{n}' for s, n, _ in stems))}); give "
                         "one split's segments")
    n = int(named[0][1]["n"])
    got = [int(m["i"]) for _, m in named]
    if got != list(range(n)):
        missing = sorted(set(range(n)) - set(got))
        what = (f"missing segment(s) {', '.join(map(str, missing))}" if missing
                else "not in pipeline order")
        raise GraphError(f"{named[0][0]}: an incomplete or shuffled set of {n} segments "
                         f"({len(got)} given, {what}); give all {n}, 0 to {n - 1}")
