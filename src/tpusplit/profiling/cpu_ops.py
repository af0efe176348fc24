"""A CPU cost model fitted on this machine: every op timed alone, plus a fitted stage overhead.

Profiling every segment a heterogeneous planner looks at (``n^2 / 2`` of them) is too slow on
a CPU; profiling every op once (``n`` runs) is not. :class:`CPUOpCost` times each op as a
one-op segment on LiteRT (through :class:`~tpusplit.profiling.cpu.ProfilerCost`), then fits
the per-invoke overhead ``o`` that every one of those timings includes once: on a few longer
segments also timed, ``measured(i, j) = o + sum_{k in [i, j)} (t_k - o)``, so
``o = (sum t_k - measured) / (ops - 1)``, averaged (least squares) over those segments. A
segment then costs ``o + sum max(0, t_k - o)``: additive, with an exact lower bound (itself),
so exact planners never time another segment. Stages on CPU cores share host memory: no link
cost. An op that cannot run alone on random inputs is timed with the ops before it. The
check segments that cannot run on random inputs are skipped.
``benchmarks/heterogeneous`` reports how far the sums land from measured segments.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from tpusplit.costs.base import CostSource, LowerBound, SegmentCost
from tpusplit.devices.energy import PowerModel, power_of
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.pipeline.litert import LiteRTBackend
from tpusplit.profiling.cpu import ProfilerCost


def fit_overhead(op_ms: Sequence[float], segments: Sequence[tuple[int, int, float]]) -> float:
    """The per-invoke overhead ``o`` (ms) that best explains ``segments`` (``(i, j, measured
    ms)`` with ``j - i >= 2``) given every op's lone time ``op_ms``: least squares of
    ``measured = sum(op_ms[i:j]) - (j - i - 1) * o``, clipped to ``[0, min(op_ms)]``."""
    rows = [(j - i - 1, float(sum(op_ms[i:j])) - m) for i, j, m in segments if j - i >= 2]
    if not rows:
        return 0.0
    x = np.array([r[0] for r in rows], dtype=float)
    y = np.array([r[1] for r in rows], dtype=float)
    o = float(x @ y / (x @ x))
    return min(max(0.0, o), float(min(op_ms)) if len(op_ms) else 0.0)


class CPUOpCost(CostSource):
    """Segment latency on ``threads`` CPU threads, from per-op timings (module docstring).

    Args:
        graph: the model.
        threads: LiteRT threads of the stage.
        profiler: what times ops and check segments (default: LiteRT on ``threads`` threads,
            10th-percentile timings, which are steadier on shared cores).
        check_segments: longer segments timed to fit the overhead (at most this many).
    """

    measured = False

    def __init__(self, graph: Graph, threads: int = 1, profiler: CostSource | None = None,
                 check_segments: int = 6) -> None:
        super().__init__(graph)
        self.threads = threads
        self.device = "cpu" if threads == 1 else f"cpu@{threads}"
        prof = profiler if profiler is not None else ProfilerCost(
            graph, LiteRTBackend(num_threads=threads), statistic="p10")
        n = len(graph.ops)
        self.op_ms: list[float] = []
        for i in range(n):
            self.op_ms.append(_lone_ms(prof, i, self.op_ms))
        timed: list[tuple[int, int, float]] = []
        for i, j in _check_spans(n, 3 * check_segments):
            if len(timed) == check_segments:
                break
            try:
                timed.append((i, j, prof.latency(i, j)))
            except (RuntimeError, ValueError, TpusplitError):
                continue  # a segment cut inside a computed-shape chain: try another
        self.overhead_ms = fit_overhead(self.op_ms, timed)
        self.profile_runs = prof.evaluations
        net = np.maximum(0.0, np.asarray(self.op_ms) - self.overhead_ms)
        self.prefix = np.concatenate([[0.0], np.cumsum(net)])

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return SegmentCost(start, end, float(self.overhead_ms + self.prefix[end]
                                             - self.prefix[start]))

    def power(self) -> PowerModel:
        """A CPU stage's power: ``threads`` busy cores."""
        return power_of("cpu", self.threads)

    def lower_bound(self) -> LowerBound | None:
        """The latency itself, vectorised (it is known in closed form)."""
        def bound(i: object, j: object) -> object:
            return self.overhead_ms + self.prefix[np.asarray(j)] - self.prefix[np.asarray(i)]

        return bound


def _lone_ms(prof: CostSource, i: int, before: list[float]) -> float:
    """Op ``i`` timed alone; an op that cannot run alone on random inputs (a RESHAPE fed a
    shape computed by the ops before it, say) is timed with as few ops before it as make it
    run (at most 8), less their own times."""
    for j in range(i, max(-1, i - 9), -1):
        try:
            return max(0.0, prof.latency(j, i + 1) - sum(before[j:i]))
        except (RuntimeError, ValueError, TpusplitError):
            if j == 0:
                raise
    raise TpusplitError(f"{prof.graph.source}: op {i} ({prof.graph.ops[i].name}) does not run "
                        f"on random inputs even with the 8 ops before it")


def _check_spans(n: int, count: int) -> list[tuple[int, int]]:
    """Up to ``count`` segments of at least two ops spread over ``[0, n)`` (halves, thirds)."""
    out: list[tuple[int, int]] = []
    parts = 2
    while len(out) < count and parts <= n // 2:
        edges = np.linspace(0, n, parts + 1).astype(int)
        out += [(int(a), int(b)) for a, b in itertools.pairwise(edges) if b - a >= 2]
        parts += 1
    return out[:count]
