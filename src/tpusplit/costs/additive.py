"""An additive cost source: per-op costs, a fixed cost per stage and a link cost per byte.

``latency(i, j) = fixed_ms + sum(op_ms[i:j]) + link_ms_per_mib * boundary MiB of [i, j)``,
where the boundary bytes are the segment's input and output tensors
(:meth:`tpusplit.graph.Graph.segment_io`). A model simple enough to reason about: for tests
(its exact lower bound and monotonicity are known), and for users who have per-op timings
(LiteRT's op profiler, a vendor table) but no device. Without a link cost it is monotone,
so ``optimal`` solves it by probe-and-bisect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from tpusplit.costs.base import CostSource, LowerBound, SegmentCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, Op
from tpusplit.units import MiB


def default_op_ms(op: Op) -> float:
    """1 ms per 1e9 MACs plus 1 ms per 1e9 element operations: a stand-in, not a device."""
    return (op.macs + op.element_ops) / 1e9


class AdditiveCost(CostSource):
    """Segment latency as the sum of its ops' costs plus a fixed and a link cost.

    Args:
        graph: the model.
        op_ms: per-op latency (ms), as a sequence indexed by op or a function of the
            :class:`~tpusplit.graph.Op`; default :func:`default_op_ms`.
        fixed_ms: cost of one stage invoke.
        link_ms_per_mib: cost of moving one MiB of the segment's boundary tensors (0 for
            devices sharing memory).
        device: the name it reports.
    """

    def __init__(self, graph: Graph, op_ms: Sequence[float] | Callable[[Op], float] | None
                 = None, fixed_ms: float = 0.0, link_ms_per_mib: float = 0.0,
                 device: str = "additive") -> None:
        super().__init__(graph)
        per_op = op_ms if op_ms is not None else default_op_ms
        costs = ([float(per_op(op)) for op in graph.ops] if callable(per_op)
                 else [float(v) for v in per_op])
        if len(costs) != len(graph.ops):
            raise TpusplitError(f"{graph.source}: {len(costs)} op costs for "
                                f"{len(graph.ops)} ops")
        values = [*costs, fixed_ms, link_ms_per_mib]
        if not all(np.isfinite(v) and v >= 0 for v in values):
            raise TpusplitError(f"{graph.source}: additive costs must be finite and >= 0")
        self.device = device
        self.fixed_ms = float(fixed_ms)
        self.link_ms_per_mib = float(link_ms_per_mib)
        self.prefix = np.concatenate([[0.0], np.cumsum(costs)])
        self.monotone = self.link_ms_per_mib == 0.0
        self._io: tuple[np.ndarray, np.ndarray] | None = None

    def _boundary_mib(self) -> tuple[np.ndarray, np.ndarray]:
        if self._io is None:
            nbytes = np.array([t.nbytes for t in self.graph.tensors], dtype=np.float64)
            ins, outs = self.graph.io_sums(nbytes)
            self._io = ins / MiB, outs / MiB
        return self._io

    def _link_ms(self, i: np.ndarray | int, j: np.ndarray | int) -> np.ndarray:
        if self.link_ms_per_mib == 0.0:
            return np.zeros(np.broadcast(i, j).shape)
        ins, outs = self._boundary_mib()
        return self.link_ms_per_mib * (ins[i, j] + outs[i, j])

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        ms = self.fixed_ms + self.prefix[end] - self.prefix[start] + self._link_ms(start, end)
        return SegmentCost(start, end, float(ms))

    def lower_bound(self) -> LowerBound | None:
        """The latency itself, vectorised (every term is known in closed form)."""

        def bound(i: object, j: object) -> np.ndarray:
            a, b = np.asarray(i), np.asarray(j)
            return np.asarray(self.fixed_ms + self.prefix[b] - self.prefix[a]
                              + self._link_ms(a, b))

        return bound

    def transfer_ms(self, k: int) -> float:
        """Link time of the tensors crossing cut ``k`` (out of one stage, into the next)."""
        if k <= 0 or k >= len(self.graph.ops):
            return 0.0
        return 2 * self.link_ms_per_mib * float(self.graph.crossing_bytes[k]) / MiB
