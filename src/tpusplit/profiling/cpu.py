"""The profiler cost source: segment latencies measured on a real backend (LiteRT CPU, Edge TPU).

For segment ``[start, end)`` it extracts the segment as a standalone model (what a split at
``[start, end]`` would write for it), prepares it for the backend (the Edge TPU compiles it),
loads it, runs it ``warmup`` times, then times ``repeats`` runs (at least ``min_seconds`` in
all) of the stage's ``run()``: setting inputs, ``invoke()`` and reading outputs, i.e. the full
stage time including its boundary I/O. The latency is the median (or, with ``statistic``,
the 10th percentile or the minimum: steadier on cores shared with other work, which only
ever adds time), the spread is kept in :attr:`ProfilerCost.measurements`. Results are cached
by (model digest, start, end, device) in memory and, with ``cache_path``, in a JSON file
shared between runs (the whole timing record is stored, so any statistic can be read back).

This is the measuring step of libcoral's ``partition_with_profiling`` and of Segm_Prof
(Villarrubia et al., PDP 2023), without the pipeline around it.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.devices.energy import PowerModel, power_of
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, extract
from tpusplit.pipeline import LiteRTBackend, random_inputs
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.profiling.disk_cache import merge_and_write, read_entries

STATISTICS = ("median", "p10", "min")


@dataclass(frozen=True, slots=True)
class Measurement:
    """Timings of one segment (ms): median, spread (10th/90th percentile, min) and run count."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    min_ms: float
    runs: int

    @property
    def spread(self) -> float:
        """(p90 - p10) / median: the relative noise of the measurement."""
        return (self.p90_ms - self.p10_ms) / self.median_ms if self.median_ms > 0 else 0.0


def model_digest(graph: Graph) -> str:
    """SHA-256 (16 hex digits) of the graph's ops, tensor shapes/types and parameter bytes."""
    h = hashlib.sha256()
    for op in graph.ops:
        h.update(f"{op.name}{op.inputs}{op.outputs};".encode())
    for t in graph.tensors:
        h.update(f"{t.shape}{t.dtype}{t.scale}{t.zero_point};".encode())
    for buf in graph.model.buffers or []:
        data = getattr(buf, "data", None)
        if data is not None:
            h.update(np.ascontiguousarray(data).tobytes())
    return h.hexdigest()[:16]


def time_stage(stage: Stage, feeds: dict[str, np.ndarray], warmup: int, repeats: int,
               min_seconds: float) -> Measurement:
    """Run ``stage`` ``warmup`` times, then time at least ``repeats`` runs and ``min_seconds``."""
    for _ in range(warmup):
        stage.run(feeds)
    times: list[float] = []
    clock = time.perf_counter
    t_end = clock() + min_seconds
    while len(times) < repeats or clock() < t_end:
        t0 = clock()
        stage.run(feeds)
        times.append(clock() - t0)
    ms = 1e3 * np.asarray(times)
    p10, med, p90 = (float(v) for v in np.percentile(ms, [10, 50, 90]))
    return Measurement(med, p10, p90, float(ms.min()), len(times))


class ProfilerCost(CostSource):
    """Latency of each segment measured on ``backend`` (default: LiteRT, 1 CPU thread).

    Args:
        graph: the model.
        backend: where segments run; ``device`` is its ``name`` (``cpu`` for LiteRT).
        warmup: untimed runs first.
        repeats: timed runs (at least), the latency is their median.
        min_seconds: keep timing until this much time has passed (short segments).
        cache_path: JSON file caching measurements across runs (created when missing).
        statistic: which timing is the latency: ``median`` (default), ``p10`` or ``min``.

    Complexity: one segment extraction and ``warmup + repeats`` runs per distinct segment.
    """

    measured = True

    def __init__(self, graph: Graph, backend: Backend | None = None, warmup: int = 3,
                 repeats: int = 15, min_seconds: float = 0.02,
                 cache_path: str | Path | None = None, statistic: str = "median") -> None:
        super().__init__(graph)
        if repeats < 1 or warmup < 0:
            raise TpusplitError(f"profiler: repeats must be >= 1 and warmup >= 0 "
                                f"(got {repeats}, {warmup})")
        if statistic not in STATISTICS:
            raise TpusplitError(f"profiler: statistic {statistic!r} is not one of "
                                f"{', '.join(STATISTICS)}")
        self.statistic = statistic
        self.backend: Backend = backend if backend is not None else LiteRTBackend()
        self.device = self.backend.name
        self.warmup = warmup
        self.repeats = repeats
        self.min_seconds = min_seconds
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self.measurements: dict[tuple[int, int], Measurement] = {}
        self._digest: str | None = None
        self._disk: dict[str, dict[str, Any]] = self._read_cache()
        #: Segments answered from the disk cache (not re-measured).
        self.disk_hits = 0

    def power(self) -> PowerModel | None:
        """A CPU stage's power (``threads`` busy cores) when the backend is the CPU."""
        if self.backend.name != "cpu":
            return None
        return power_of("cpu", int(self.backend.num_threads))

    @property
    def digest(self) -> str:
        """The model digest used in cache keys."""
        if self._digest is None:
            self._digest = model_digest(self.graph)
        return self._digest

    @property
    def device_key(self) -> str:
        """Device part of the cache key: backend name plus thread count when not 1."""
        threads = int(self.backend.num_threads)
        return self.device if threads == 1 else f"{self.device}x{threads}"

    def key(self, start: int, end: int) -> str:
        """Cache key of segment ``[start, end)``: ``digest:start:end:device``."""
        return f"{self.digest}:{start}:{end}:{self.device_key}"

    def _read_cache(self) -> dict[str, dict[str, Any]]:
        return read_entries(self.cache_path, "profiler cache")

    def _write_cache(self) -> None:
        if self.cache_path is not None:
            self._disk = merge_and_write(self.cache_path, self._disk, "profiler cache")

    def measure(self, start: int, end: int) -> Measurement:
        """Time segment ``[start, end)`` now (no cache)."""
        stage = self.backend.load(self.backend.prepare(extract(self.graph, start, end)), 0)
        return time_stage(stage, random_inputs(stage, seed=start), self.warmup, self.repeats,
                          self.min_seconds)

    def clear(self) -> None:
        """Forget cached costs; without a ``cache_path`` also every measurement, so the next
        strategy really profiles (its evaluations and seconds are its own). Measurements in a
        ``cache_path`` file are kept: reusing them across runs is what the file is for."""
        super().clear()
        self.measurements.clear()
        self.disk_hits = 0
        if self.cache_path is None:
            self._disk.clear()

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        key = self.key(start, end)
        hit = self._disk.get(key)
        if hit is not None:
            try:
                m = Measurement(**hit)
                self.disk_hits += 1
            except TypeError:
                hit = None
        if hit is None:
            m = self.measure(start, end)
            self._disk[key] = asdict(m)
            self._write_cache()
        self.measurements[(start, end)] = m
        value = {"median": m.median_ms, "p10": m.p10_ms, "min": m.min_ms}[self.statistic]
        return SegmentCost(start, end, value)
