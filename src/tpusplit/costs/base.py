"""The cost-source interface every strategy plans with: what one segment costs on one device."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tpusplit.costs.runner import RunnerModel
from tpusplit.devices.energy import PowerModel
from tpusplit.graph import Graph

#: ``bound(i, j)``: a lower bound on the latency of segments ``[i, j)``, for ints or,
#: elementwise, for integer numpy arrays (broadcasting), e.g. every ``i < j`` at once.
LowerBound = Callable[[Any, Any], Any]


@dataclass(frozen=True, slots=True)
class SegmentCost:
    """Cost of ops ``[start, end)`` run as one pipeline stage on one device.

    ``latency_ms`` is the stage's time per inference, everything included: compute, streaming of
    parameters that do not fit on chip, moving its input and output tensors over the host link,
    and the fixed cost per invoke. ``on_chip_bytes``/``off_chip_bytes`` are the parameter bytes
    cached on the device / streamed from the host at every inference (0 where meaningless,
    e.g. on a CPU).
    """

    start: int
    end: int
    latency_ms: float
    on_chip_bytes: int = 0
    off_chip_bytes: int = 0

    @property
    def fits(self) -> bool:
        """True when no parameter is streamed from the host."""
        return self.off_chip_bytes == 0

    @property
    def in_ms(self) -> float:
        """Part of ``latency_ms`` moving the inputs to the device (0: not broken down)."""
        return 0.0

    @property
    def out_ms(self) -> float:
        """Part of ``latency_ms`` moving the outputs back to the host (0: not broken down)."""
        return 0.0

    @property
    def stream_ms(self) -> float:
        """Part of ``latency_ms`` streaming parameters from the host (0: not broken down)."""
        return 0.0

    @property
    def link_ms(self) -> float:
        """Part of ``latency_ms`` that holds the host link: inputs, outputs and streamed
        parameters (what replicas sharing one link take turns for)."""
        return self.in_ms + self.out_ms + self.stream_ms


class CostSource(ABC):
    """Latency of any contiguous op range of one graph on one kind of device.

    Subclasses implement :meth:`_evaluate`. :meth:`segment` caches by ``(start, end)`` and
    counts ``evaluations``: the number of distinct segments evaluated (for a measuring
    source, each is a profiling run). ``seconds`` is the wall time spent evaluating.

    Optional capabilities, declared here with their neutral defaults so that strategies use
    them without probing: :attr:`monotone`, :attr:`parallel`, :meth:`lower_bound`, :meth:`prefetch`,
    :meth:`transfer_ms`.

    :attr:`runner` is the pipeline runner the plans and simulations of this source assume
    (:mod:`tpusplit.costs.runner`): its host time per stage is part of every pipeline's time
    per inference. Sources that know their host set it (an Edge TPU profile); the default is
    the Python runner with no host time.
    """

    #: Short device name, e.g. ``edgetpu-usb3`` or ``cpu``.
    device: str = "unknown"
    #: True when evaluations are real measurements (costly, noisy).
    measured: bool = False
    #: True when a segment never costs less than a segment it contains (latency grows with
    #: the op range, e.g. no boundary transfer in it): probe-and-bisect is then exact.
    monotone: bool = False
    #: Segments it can evaluate at once (several devices measuring in parallel): a strategy
    #: may :meth:`prefetch` that many candidates ahead.
    parallel: int = 1
    #: True when the replicas of a stage share one host link (USB devices on one host
    #: controller): they take turns for its transfers, so a stage passes at most one input
    #: per :meth:`link_ms` whatever its replicas. False: a link per device (PCIe, CPUs).
    shared_link: bool = False

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.evaluations = 0
        self.seconds = 0.0
        self._cache: dict[tuple[int, int], SegmentCost] = {}
        self._trackers: list[set[tuple[int, int]]] = []
        self.runner = RunnerModel("python", 0.0, serial=True)

    def track(self) -> set[tuple[int, int]]:
        """Start recording every distinct segment asked for (cached or not) in the returned
        set, until :meth:`untrack`: what a strategy needed, whoever evaluated it first."""
        asked: set[tuple[int, int]] = set()
        self._trackers.append(asked)
        return asked

    def untrack(self, asked: set[tuple[int, int]]) -> None:
        """Stop recording into ``asked``."""
        self._trackers = [t for t in self._trackers if t is not asked]

    def _asked(self, keys: Iterable[tuple[int, int]]) -> None:
        for tracker in self._trackers:
            tracker.update(keys)

    def segment(self, start: int, end: int) -> SegmentCost:
        """Cost of ops ``[start, end)`` (``0 <= start < end <= n``), cached."""
        key = (start, end)
        if self._trackers:
            self._asked((key,))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        if not 0 <= start < end <= len(self.graph.ops):
            raise IndexError(f"segment [{start}, {end}) outside [0, {len(self.graph.ops)}]")
        t0 = time.perf_counter()
        cost = self._evaluate(start, end)
        self.seconds += time.perf_counter() - t0
        self.evaluations += 1
        self._cache[key] = cost
        return cost

    def matrix(self, spans: Iterable[tuple[int, int]] | None = None) -> np.ndarray:
        """``m[i, j]`` = latency of segment ``[i, j)`` for the ``spans`` given (every
        ``i < j`` when None; :meth:`prefetch` is told them first), ``inf`` elsewhere: the
        one segment-cost matrix the device-mix and predictor planners read.
        O(spans) evaluations."""
        n = len(self.graph.ops)
        todo = (list(spans) if spans is not None else
                [(i, j) for i in range(n) for j in range(i + 1, n + 1)])
        self.prefetch(todo)
        m = np.full((n + 1, n + 1), np.inf)
        for i, j in todo:
            m[i, j] = self.latency(i, j)
        return m

    def latency(self, start: int, end: int) -> float:
        """Shorthand for ``segment(start, end).latency_ms``."""
        return self.segment(start, end).latency_ms

    def link_ms(self, start: int, end: int) -> float:
        """What a stage of ops ``[start, end)`` holds a shared host link per input
        (:attr:`shared_link`; 0 for devices with a link each)."""
        return self.segment(start, end).link_ms if self.shared_link else 0.0

    def fits(self, start: int, end: int) -> bool:
        """Whether the parameters of ops ``[start, end)`` fit on chip."""
        return self.segment(start, end).fits

    def lower_bound(self) -> LowerBound | None:
        """A cheap, valid lower bound on segment latencies, or None when none is known.

        The returned ``bound(i, j) <= latency(i, j)`` for every segment, costs no evaluation,
        and works elementwise on integer numpy arrays (the exact search computes it for every
        segment at once and skips segments whose bound cannot beat the best plan known).
        """
        return None

    def expected_error(self, stages: int) -> str | None:
        """How far off this source's figures are expected to be, one line for reports (None:
        unknown), for a pipeline of ``stages``."""
        return None

    def host_tail(self) -> int | None:
        """Where the model's trailing ops that this device leaves to the host CPU begin (an
        SSD's post-processing on an Edge TPU), or None: the device runs every op."""
        return None

    def power(self) -> PowerModel | None:
        """What one device of this source draws (:mod:`tpusplit.devices.energy`), or None when
        unknown (then plans report no energy)."""
        return None

    def prefetch(self, spans: Sequence[tuple[int, int]]) -> None:
        """Evaluate ``spans`` ahead of use (a source that batches, like a predictor, makes
        this one call); by default one by one."""
        for a, b in spans:
            self.segment(a, b)

    def transfer_ms(self, k: int) -> float:
        """Cost of moving the tensors crossing cut ``k`` from one device to the next.

        Already part of the two adjacent segments' ``latency_ms``; reported separately for
        tables. The default is 0 (devices sharing memory).
        """
        return 0.0

    def reset_counters(self) -> None:
        """Zero ``evaluations`` and ``seconds`` (the cache is kept)."""
        self.evaluations = 0
        self.seconds = 0.0

    def clear(self) -> None:
        """Forget every cached cost and zero the counters (a fresh start for a strategy)."""
        self._cache.clear()
        self.reset_counters()

    @abstractmethod
    def _evaluate(self, start: int, end: int) -> SegmentCost:
        """Compute (or measure) the cost of ops ``[start, end)``."""
