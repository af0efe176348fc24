"""The null backend: stages that compute nothing and answer zeros of the right shapes.

For tests and dry runs: a pipeline of null stages checks the wiring of a split (names,
shapes, skip tensors, order) and the runner's overhead, with no interpreter and no device.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tpusplit.graph import load, unique_names
from tpusplit.pipeline.backend import Backend
from tpusplit.pipeline.runner import PipelineError


class NullStage:
    """A segment read for its interface only: ``run`` checks its inputs, returns zeros."""

    def __init__(self, model: bytes, source: str = "<segment>") -> None:
        graph = load(model, name=source)
        names = unique_names(graph)
        self._specs = {names[t]: (graph.tensors[t].shape, np.dtype(graph.tensors[t].dtype))
                       for t in (*graph.inputs, *graph.outputs)}
        self.input_names: tuple[str, ...] = tuple(names[t] for t in graph.inputs)
        self.output_names: tuple[str, ...] = tuple(names[t] for t in graph.outputs)
        self.runs = 0

    def input_spec(self, name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
        """Shape and dtype of input ``name``."""
        return self._specs[name]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Check that every input is there with its shape; return zeros for every output."""
        for name in self.input_names:
            if name not in feeds:
                raise PipelineError(f"no value for input tensor {name!r}")
            if tuple(np.shape(feeds[name])) != self._specs[name][0]:
                raise PipelineError(f"input {name!r} has shape {np.shape(feeds[name])}, "
                                    f"expected {self._specs[name][0]}")
        self.runs += 1
        return {name: np.zeros(*self._specs[name]) for name in self.output_names}


class NullBackend(Backend):
    """Loads every segment as a :class:`NullStage` (``device`` is ignored)."""

    name = "null"

    def __init__(self, num_threads: int = 1) -> None:
        self.num_threads = num_threads

    def load(self, model: bytes, device: int = 0) -> NullStage:
        """A null stage with the segment's inputs and outputs."""
        return NullStage(model, source=f"<segment {device}>")
