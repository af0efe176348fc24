"""Whole-pipeline measurement: time per inference, first-result latency and latency percentiles.

A feeder thread pushes a batch as fast as the pipeline accepts it (back-pressure from the
bounded queues), the caller's thread pops and timestamps every result. This is how the Coral
measurements were taken (wall time of a batch / batch size) plus the per-input latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tpusplit.errors import TpusplitError
from tpusplit.pipeline.backend import Stage
from tpusplit.pipeline.rebalance import Rebalance
from tpusplit.pipeline.runner import (
    Pipeline,
    PipelineError,
    StageError,
    StageStats,
    replicas_of,
)


@dataclass
class PipelineMeasurement:
    """A batch through a pipeline. Times in milliseconds unless named ``_s``."""

    count: int
    wall_s: float
    first_result_ms: float
    latencies_ms: list[float]
    stages: list[StageStats]
    results: list[dict[str, np.ndarray]] = field(default_factory=list, repr=False)
    #: The whole model run input after input on one LiteRT thread, ms per inference (None
    #: when not measured): what the pipeline is compared with.
    baseline_ms: float | None = None
    #: Replicas the runner moved between stages while it ran (one line each).
    moves: list[str] = field(default_factory=list)

    @property
    def time_per_inference_ms(self) -> float:
        """Wall time of the batch / batch size (the Coral convention)."""
        return 1e3 * self.wall_s / self.count if self.count else float("nan")

    @property
    def throughput_ips(self) -> float:
        """Inferences per second over the batch."""
        return self.count / self.wall_s if self.wall_s > 0 else float("nan")

    @property
    def speedup(self) -> float | None:
        """The 1-thread whole model's time per inference over the pipeline's (None without
        a baseline)."""
        if self.baseline_ms is None or not self.count:
            return None
        return self.baseline_ms / self.time_per_inference_ms

    def percentile(self, q: float) -> float:
        """Latency percentile ``q`` (0-100) from push to pop, in ms."""
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def utilisation(self) -> list[float]:
        """Share of the wall time each stage spent running."""
        return [s.utilisation(self.wall_s) for s in self.stages]

    def ideal_throughput_ips(self) -> float:
        """1 / (slowest stage's mean busy time per item, over its replicas): the pipeline's
        upper bound."""
        slowest = max(s.period_s() for s in self.stages if s.items)
        return 1.0 / slowest if slowest > 0 else float("nan")

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly summary."""
        return {"count": self.count, "wall_s": self.wall_s,
                "time_per_inference_ms": self.time_per_inference_ms,
                "throughput_ips": self.throughput_ips,
                "ideal_throughput_ips": self.ideal_throughput_ips(),
                "whole_model_1_thread_ms": self.baseline_ms, "speedup": self.speedup,
                "first_result_ms": self.first_result_ms,
                "latency_ms": {f"p{q}": self.percentile(q) for q in (50, 90, 99)},
                "stages": [{**s.as_dict(), "utilisation": u}
                           for s, u in zip(self.stages, self.utilisation(), strict=True)],
                **({"moves": list(self.moves)} if self.moves else {})}


def measure_pipeline(stages: Sequence[Stage | Sequence[Stage]],
                     inputs: Sequence[Mapping[str, np.ndarray]],
                     outputs: Sequence[str] | None = None, queue_size: int = 4,
                     cores: Sequence[int | Sequence[int | None] | None] | None = None,
                     warmup: int = 1,
                     keep_results: bool = False,
                     progress: Callable[[int], None] | None = None,
                     rebalance: Rebalance | None = None) -> PipelineMeasurement:
    """Run ``inputs`` through a fresh pipeline of ``stages`` and time it (``rebalance``: the
    runner may move replicas between stages, :class:`~tpusplit.pipeline.rebalance.Rebalance`).

    Each stage (every replica of it: a list or tuple of stages) first runs ``warmup`` times
    alone (first invokes allocate). Raises the pipeline's
    :class:`~tpusplit.pipeline.runner.StageError` if a stage fails.
    ``progress(k)`` is called after each result.
    """
    groups = [replicas_of(s) for s in stages]
    for _ in range(warmup if inputs else 0):
        env = dict(inputs[0])
        for i, group in enumerate(groups):
            for j, stage in enumerate(group):
                try:
                    out = stage.run({n: env[n] for n in stage.input_names})
                except Exception as exc:  # a stage failing already: the pipeline's error
                    raise StageError(i, 0, exc, j, len(group)) from None
            env.update(out)
    with Pipeline(stages, outputs=outputs, queue_size=queue_size, cores=cores,
                  rebalance=rebalance) as pipe:
        m = measure_runner(pipe, inputs, keep_results, progress)
        m.moves = [mv.describe() for mv in pipe.moves] + pipe.move_failures
        return m


class Runner(Protocol):
    """What :func:`measure_runner` needs of a pipeline runner: the threaded
    :class:`~tpusplit.pipeline.runner.Pipeline` and the Ray one both have it."""

    @property
    def stats(self) -> Sequence[StageStats]:
        """Per-stage counters."""
        ...

    def push(self, feeds: Mapping[str, np.ndarray] | None) -> None:
        """Queue one input; ``None`` ends the input."""
        ...

    def pop(self, timeout: float | None = None) -> dict[str, np.ndarray] | None:
        """The next result in order; ``None`` after the last one."""
        ...

    def reset_stats(self) -> None:
        """Count from now on."""
        ...


def measure_runner(pipe: Runner, inputs: Sequence[Mapping[str, np.ndarray]],
                   keep_results: bool = False,
                   progress: Callable[[int], None] | None = None) -> PipelineMeasurement:
    """Time ``inputs`` through a started runner (threaded or Ray): a feeder thread pushes,
    this thread pops and timestamps. Raises the runner's :class:`StageError` on a failure."""
    pushed: list[float] = []
    feeder_error: list[BaseException] = []

    def feed() -> None:
        try:
            for x in inputs:
                pushed.append(time.perf_counter())  # offered (queueing counts)
                pipe.push(x)
            pipe.push(None)
        except PipelineError as exc:  # the consumer sees the same failure
            feeder_error.append(exc)

    pipe.reset_stats()  # count from now, not from start-up
    t0 = time.perf_counter()
    feeder = threading.Thread(target=feed, daemon=True, name="tpusplit-feeder")
    feeder.start()
    popped: list[float] = []
    results: list[dict[str, np.ndarray]] = []
    while True:
        got = pipe.pop()
        if got is None:
            break
        popped.append(time.perf_counter())
        if keep_results:
            results.append(got)
        if progress is not None:
            progress(len(popped))
    wall = time.perf_counter() - t0
    feeder.join()
    stats = [StageStats(s.items, s.busy_s, s.wait_s, s.blocked_s, s.replicas)
             for s in pipe.stats]
    lat = [1e3 * (b - a) for a, b in zip(pushed, popped, strict=False)]
    first = 1e3 * (popped[0] - t0) if popped else float("nan")
    return PipelineMeasurement(len(popped), wall, first, lat, stats, results)


def whole_model_ms(model: bytes, inputs: Sequence[Mapping[str, np.ndarray]],
                   warmup: int = 1) -> float:
    """The whole model on one LiteRT thread, input after input: ms per inference (the
    baseline a CPU pipeline is compared with). Complexity: one inference per input."""
    from tpusplit.pipeline.litert import LiteRTStage

    stage = LiteRTStage(model, num_threads=1)
    feeds = [{n: x[n] for n in stage.input_names} for x in inputs]
    try:
        for x in feeds[:warmup]:
            stage.run(x)
        t0 = time.perf_counter()
        for x in feeds:
            stage.run(x)
    except (RuntimeError, ValueError) as exc:  # LiteRT loads the model but cannot invoke it
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TpusplitError(f"the whole model loads but LiteRT cannot run it ({first}); "
                            "nothing to compare the pipeline with") from None
    return 1e3 * (time.perf_counter() - t0) / max(len(feeds), 1)
