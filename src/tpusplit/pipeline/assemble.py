"""Build a pipeline from a graph and cuts, feed it inputs, and check it against the whole model.

The library side of ``tpusplit run`` and ``tpusplit demo``: :func:`load_stages` splits the
graph and loads one segment per device, :func:`build_pipeline` wires them into a
:class:`~tpusplit.pipeline.runner.Pipeline` whose outputs are the model's outputs,
:func:`random_feeds` makes inputs, :func:`check_outputs` compares results with the whole model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.graph import Graph, split, unique_names
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.litert import LiteRTBackend, LiteRTStage
from tpusplit.pipeline.measure import PipelineMeasurement, measure_pipeline
from tpusplit.pipeline.runner import Pipeline
from tpusplit.pipeline.sequential import random_array

Feeds = dict[str, np.ndarray]


def load_stages(graph: Graph, cuts: Sequence[int], backend: Backend | None = None,
                segments: Sequence[bytes] | None = None) -> list[Stage]:
    """Split ``graph`` at ``cuts`` (or take ready ``segments``), prepare each segment for the
    backend (the Edge TPU compiles it) and load segment i on device i."""
    be = backend or LiteRTBackend()
    blobs = list(segments) if segments is not None else split(graph, cuts)
    return [be.load(be.prepare(b), i) for i, b in enumerate(blobs)]


def io_names(graph: Graph) -> tuple[list[str], list[str]]:
    """The model's input and output tensor names as segments carry them."""
    names = unique_names(graph)
    return [names[t] for t in graph.inputs], [names[t] for t in graph.outputs]


def build_pipeline(graph: Graph, cuts: Sequence[int], backend: Backend | None = None,
                   queue_size: int = 4, cores: Sequence[int | None] | None = None,
                   segments: Sequence[bytes] | None = None) -> Pipeline:
    """A running :class:`Pipeline` of ``graph`` cut at ``cuts`` whose results are the model's
    outputs (close it, or use it as a context manager)."""
    stages = load_stages(graph, cuts, backend, segments)
    return Pipeline(stages, outputs=io_names(graph)[1], queue_size=queue_size, cores=cores)


def random_feeds(graph: Graph, count: int, seed: int = 0) -> list[Feeds]:
    """``count`` random model inputs: uniform in [-1, 1) for floats, the full range for ints."""
    rng = np.random.default_rng(seed)
    names = unique_names(graph)
    out: list[Feeds] = []
    for _ in range(count):
        feeds: Feeds = {}
        for t in graph.inputs:
            tensor = graph.tensors[t]
            feeds[names[t]] = random_array(rng, tensor.shape, np.dtype(tensor.dtype))
        out.append(feeds)
    return out


def whole_model(graph: Graph) -> bytes:
    """The whole model's bytes: the source file when it still exists, else re-serialised."""
    path = Path(graph.source)
    if graph.source and not graph.source.startswith("<") and path.is_file():
        return path.read_bytes()
    return split(graph, [])[0]


@dataclass
class CheckResult:
    """Outcome of :func:`check_outputs`: results compared, mismatching (input, tensor) pairs."""

    compared: int = 0
    mismatches: list[tuple[int, str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every output equals the whole model's, bit for bit."""
        return not self.mismatches and self.compared > 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {"compared": self.compared, "bit_exact": self.ok,
                "mismatches": [{"input": i, "tensor": n, "max_abs_diff": d}
                               for i, n, d in self.mismatches]}


def check_outputs(whole: bytes | Stage, inputs: Sequence[Mapping[str, np.ndarray]],
                  results: Sequence[Mapping[str, np.ndarray]]) -> CheckResult:
    """Run the whole model on every input and compare each of its outputs with ``results``.

    Complexity: one whole-model inference per input.
    """
    stage = LiteRTStage(whole) if isinstance(whole, bytes) else whole
    check = CheckResult()
    for i, (feeds, got) in enumerate(zip(inputs, results, strict=False)):
        want = stage.run({n: feeds[n] for n in stage.input_names})
        check.compared += 1
        for name, value in want.items():
            have = got.get(name)
            if have is None or have.shape != value.shape or not np.array_equal(have, value):
                diff = (float(np.max(np.abs(have.astype(np.float64) - value)))
                        if have is not None and have.shape == value.shape else float("inf"))
                check.mismatches.append((i, name, diff))
    return check


def run_and_check(graph: Graph, cuts: Sequence[int], count: int = 50,
                  backend: Backend | None = None, seed: int = 0, queue_size: int = 4,
                  cores: Sequence[int | None] | None = None, check: bool = True,
                  ) -> tuple[PipelineMeasurement, CheckResult | None]:
    """Run ``count`` random inputs through a pipeline of ``graph`` cut at ``cuts`` and, with
    ``check``, compare every output with the whole model (on LiteRT).

    Returns ``(PipelineMeasurement, CheckResult | None)``: the one call ``tpusplit demo``
    needs.
    """
    stages = load_stages(graph, cuts, backend)
    feeds = random_feeds(graph, count, seed)
    m = measure_pipeline(stages, feeds, outputs=io_names(graph)[1], queue_size=queue_size,
                         cores=cores, keep_results=check)
    return m, (check_outputs(whole_model(graph), feeds, m.results) if check else None)
