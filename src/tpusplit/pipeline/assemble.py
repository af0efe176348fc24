"""Build a pipeline from a graph and cuts, feed it inputs, and check it against the whole model.

The library side of ``tpusplit run`` and ``tpusplit demo``: :func:`load_stages` splits the
graph and loads one segment per device, :func:`build_pipeline` wires them into a
:class:`~tpusplit.pipeline.runner.Pipeline` whose outputs are the model's outputs,
:func:`check_outputs` compares results with the whole model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, split, unique_names
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.inputs import Specs, random_feeds
from tpusplit.pipeline.litert import LiteRTBackend, LiteRTStage
from tpusplit.pipeline.measure import PipelineMeasurement, measure_pipeline, whole_model_ms
from tpusplit.pipeline.runner import Pipeline


def load_stages(graph: Graph, cuts: Sequence[int],
                backend: Backend | Sequence[Backend] | None = None,
                segments: Sequence[bytes] | None = None) -> list[Stage]:
    """Split ``graph`` at ``cuts`` (or take ready ``segments``), prepare each segment for its
    backend (the Edge TPU compiles it) and load segment i on device i. ``backend`` is one for
    every segment or one per segment (a mix of devices)."""
    return [group[0] for group in load_replicas(graph, cuts, None, backend, segments)]


def load_replicas(graph: Graph, cuts: Sequence[int], replicas: Sequence[int] | None = None,
                  backend: Backend | Sequence[Backend] | None = None,
                  segments: Sequence[bytes] | None = None) -> list[list[Stage]]:
    """As :func:`load_stages`, with ``replicas[i]`` copies of segment ``i`` (default one):
    each segment is prepared once and loaded on that many devices, numbered in pipeline
    order (segment 0 on devices ``0 .. r0 - 1``, segment 1 on the next ``r1``, ...)."""
    return loaded_replicas(graph, cuts, replicas, backend, segments)[0]


def loaded_replicas(graph: Graph, cuts: Sequence[int], replicas: Sequence[int] | None = None,
                    backend: Backend | Sequence[Backend] | None = None,
                    segments: Sequence[bytes] | None = None
                    ) -> tuple[list[list[Stage]], SegmentLoader]:
    """As :func:`load_stages`, with ``replicas[i]`` copies of segment ``i`` (default one):
    each segment is prepared once and loaded on that many devices, numbered in pipeline
    order (segment 0 on devices ``0 .. r0 - 1``, segment 1 on the next ``r1``, ...); with the
    loader that loads a prepared segment on a device again."""
    blobs = list(segments) if segments is not None else split(graph, cuts)
    counts = list(replicas) if replicas is not None else [1] * len(blobs)
    if len(counts) != len(blobs) or any(r < 1 for r in counts):
        raise TpusplitError(f"replicas: one count >= 1 for each of the {len(blobs)} segments, "
                            f"got {counts}")
    if isinstance(backend, Sequence):
        if len(backend) != len(blobs):
            raise TpusplitError(f"{len(backend)} backends for {len(blobs)} segments")
        per = list(backend)
    else:
        per = [backend or LiteRTBackend()] * len(blobs)
    ready = [be.prepare(b) for be, b in zip(per, blobs, strict=True)]
    first = [sum(counts[:i]) for i in range(len(counts))]
    devices = [[f + j for j in range(r)] for f, r in zip(first, counts, strict=True)]
    out = [[be.load(b, d) for d in devs]
           for be, b, devs in zip(per, ready, devices, strict=True)]
    return out, SegmentLoader(per, ready, devices)


class SegmentLoader:
    """Loads prepared segment ``i`` on a device again (a replica moved at run time:
    :class:`~tpusplit.pipeline.rebalance.Rebalance`); ``devices[i][j]`` is the device
    replica ``j`` of segment ``i`` was loaded on."""

    def __init__(self, backends: Sequence[Backend], ready: Sequence[bytes],
                 devices: Sequence[Sequence[int]]) -> None:
        self.backends, self.ready = list(backends), list(ready)
        self.devices = [list(d) for d in devices]

    def __call__(self, stage: int, device: int) -> Stage:
        return self.backends[stage].load(self.ready[stage], device)


def io_names(graph: Graph) -> tuple[list[str], list[str]]:
    """The model's input and output tensor names as segments carry them."""
    names = unique_names(graph)
    return [names[t] for t in graph.inputs], [names[t] for t in graph.outputs]


def build_pipeline(graph: Graph, cuts: Sequence[int], backend: Backend | None = None,
                   queue_size: int = 4,
                   cores: Sequence[int | Sequence[int | None] | None] | None = None,
                   segments: Sequence[bytes] | None = None,
                   replicas: Sequence[int] | None = None) -> Pipeline:
    """A running :class:`Pipeline` of ``graph`` cut at ``cuts`` (``replicas[i]`` copies of
    segment ``i``, :func:`load_replicas`) whose results are the model's outputs (close it, or
    use it as a context manager)."""
    groups = load_replicas(graph, cuts, replicas, backend, segments)
    return Pipeline(groups, outputs=io_names(graph)[1], queue_size=queue_size, cores=cores)


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


def reference_stage(whole: bytes, specs: Specs, source: str = "<whole model>"
                    ) -> LiteRTStage:
    """The whole model loaded on LiteRT to check a pipeline against, once it is known to take
    the pipeline's inputs (names, shapes, dtypes: ``specs``); else a one-line error naming
    ``source``: it is another model."""
    stage = LiteRTStage(whole, source=source)
    for name in stage.input_names:
        if name not in specs:
            raise TpusplitError(f"{source}: reads input {name!r}, which the pipeline does not "
                                f"take ({', '.join(specs)}): not the model these segments "
                                "come from")
        shape, dtype = stage.input_spec(name)
        if (shape, dtype) != (tuple(specs[name][0]), np.dtype(specs[name][1])):
            raise TpusplitError(f"{source}: input {name!r} is {dtype} {shape}, the pipeline's "
                                f"is {np.dtype(specs[name][1])} {tuple(specs[name][0])}: not "
                                "the model these segments come from")
    return stage


def spread_cores(count: int) -> list[int]:
    """A CPU core for each of ``count`` stages, round robin over the cores this process may
    use (Linux affinity; core 0 elsewhere)."""
    import os

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    return [cores[i % len(cores)] for i in range(count)]


def check_outputs(whole: bytes | Stage, inputs: Sequence[Mapping[str, np.ndarray]],
                  results: Sequence[Mapping[str, np.ndarray]],
                  source: str = "<whole model>") -> CheckResult:
    """Run the whole model on every input and compare each of its outputs with ``results``.

    ``whole`` as bytes is checked by :func:`reference_stage` (``source`` names it in errors).
    An output the pipeline did not produce counts as a mismatch. Complexity: one whole-model
    inference per input.
    """
    stage: Stage = whole if not isinstance(whole, bytes) else reference_stage(
        whole, {n: (np.shape(v), np.asarray(v).dtype) for n, v in inputs[0].items()}
        if inputs else {}, source)
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
                  baseline: bool = False) -> tuple[PipelineMeasurement, CheckResult | None]:
    """Run ``count`` random inputs through a pipeline of ``graph`` cut at ``cuts``; with
    ``check``, compare every output with the whole model (on LiteRT); with ``baseline``, also
    time the whole model on one LiteRT thread on the same inputs (``baseline_ms``).

    Returns ``(PipelineMeasurement, CheckResult | None)``: the one call ``tpusplit demo``
    needs.
    """
    stages = load_stages(graph, cuts, backend)
    feeds = random_feeds(graph, count, seed)
    m = measure_pipeline(stages, feeds, outputs=io_names(graph)[1], queue_size=queue_size,
                         cores=cores, keep_results=check)
    whole = whole_model(graph) if check or baseline else b""
    if baseline:
        m.baseline_ms = whole_model_ms(whole, feeds)
    return m, (check_outputs(whole, feeds, m.results) if check else None)
