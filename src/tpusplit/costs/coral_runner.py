"""Planning for Coral's ``PipelinedModelRunner``: the ``--coral`` modes on any cost source.

``carry`` (default for Edge TPU plans) leaves the cuts free: segments are written with
pass-through tensors (:func:`tpusplit.graph.coral.split_coral`), which cost no Edge TPU time
(the runner copies them in host memory), so the cost source is used as is. ``exclude`` wraps
the cost source in :class:`CoralExclude`: a segment that would have to carry a tensor costs
``inf``, so every strategy (they minimise the slowest segment) avoids it whenever some plan
can. ``off`` plans for tpusplit's own runner only. See :mod:`tpusplit.graph.coral` for the
rule and why ``carry`` is the default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from tpusplit.costs.base import CostSource, LowerBound, SegmentCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.graph.coral import MODES, carried, compatible, violations


class CoralExclude(CostSource):
    """``inner``'s costs, with ``inf`` for every segment Coral's runner could not take as
    written (one that a tensor alive before and after it would have to pass through).

    Incompatible segments are never evaluated on ``inner`` (no compile, no profiling run).
    """

    def __init__(self, inner: CostSource) -> None:
        super().__init__(inner.graph)
        self.inner = inner
        self.device = inner.device
        self.runner = inner.runner
        self.measured = inner.measured
        self.monotone = False  # a longer segment can be allowed where a shorter one is not
        self.excluded = 0

    @property
    def parallel(self) -> int:  # type: ignore[override]
        return self.inner.parallel

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        if not compatible(self.graph, start, end):
            self.excluded += 1
            return SegmentCost(start, end, math.inf)
        return self.inner.segment(start, end)

    def lower_bound(self) -> LowerBound | None:
        return self.inner.lower_bound()  # inf is above any bound

    def prefetch(self, spans: Sequence[tuple[int, int]]) -> None:
        self.inner.prefetch([(a, b) for a, b in spans if compatible(self.graph, a, b)])

    def transfer_ms(self, k: int) -> float:
        return self.inner.transfer_ms(k)

    def clear(self) -> None:
        super().clear()
        self.inner.clear()


def check_mode(mode: str) -> str:
    """``mode`` if it is one of :data:`~tpusplit.graph.coral.MODES`, else a one-line error."""
    if mode not in MODES:
        raise TpusplitError(f"--coral must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def for_coral(cost: CostSource, mode: str) -> CostSource:
    """The cost source to plan with under ``mode`` (``exclude`` wraps it, others keep it)."""
    return CoralExclude(cost) if check_mode(mode) == "exclude" else cost


def coral_note(graph: Graph, cuts: Sequence[int], mode: str) -> str:
    """One line for a plan's notes: how its segments meet Coral's runner under ``mode``."""
    from tpusplit.graph import bounds

    spans = bounds(graph, cuts)
    if mode == "off":
        bad = len(violations(graph, cuts))
        return ("coral: off (tpusplit's runner only" +
                (f"; {bad} tensor(s) skip a segment)" if bad else "; compatible anyway)"))
    count = sum(len(carried(graph, a, b)) for a, b in spans)
    if mode == "carry":
        return (f"coral: carry ({count} pass-through tensor(s) added for "
                "PipelinedModelRunner)" if count else "coral: carry (nothing to carry)")
    return "coral: exclude (every segment's outputs feed the next segment)"


def check_plan(graph: Graph, cuts: Sequence[int], strategy: str, mode: str) -> None:
    """Under ``exclude``, a one-line error when ``strategy``'s cuts still need carrying (no
    Coral-compatible plan within its search, e.g. the compiler's fixed rule, or cuts chosen
    on predictions that know nothing of the rule)."""
    if mode != "exclude":
        return
    bad = violations(graph, cuts)
    if bad:
        raise TpusplitError(f"{graph.source}: {strategy} found no cuts Coral's runner takes "
                            f"without carrying ({bad[0]}); use --coral carry")
