"""Every strategy side by side on one cost source: one cache, so one figure per segment.

The strategies share the cost source's cache: a segment a profiler measured for one strategy
is not measured again (with its own noise) for the next, so a table never shows the same
segment with two latencies, and ``optimal`` is never beaten on its own cost function. A
plan whose figures come from elsewhere (``predicted`` on a measuring source reports
predictions) is re-costed on the shared source, its segments evaluated like any other's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.strategies.base import DEFAULT_BATCH, Plan, Timer, make_plan, rebatch
from tpusplit.strategies.registry import Strategy, get, names


@dataclass(frozen=True)
class Comparison:
    """The plans (in registry order), the one-device plan, and why strategies were skipped."""

    plans: tuple[Plan, ...]
    single: Plan
    skipped: dict[str, str] = field(default_factory=dict)

    def plan(self, strategy: str) -> Plan | None:
        """The plan of ``strategy``, if it planned."""
        return next((p for p in self.plans if p.strategy == strategy), None)


def compare(graph: Graph, num_segments: int, cost: CostSource,
            strategies: Sequence[str] | None = None, batch: int = DEFAULT_BATCH,
            progress: Callable[[str], None] | None = None,
            planners: Mapping[str, Strategy] | None = None) -> Comparison:
    """Plan ``graph`` into ``num_segments`` with every strategy (default: all but the
    oracles) on ``cost``, sharing its cache; ``progress(name)`` is called before each.
    ``planners`` adds strategies or replaces registered ones by name (replica-aware
    ``optimal``, pure ``replicas``, ``stages``).

    A strategy that cannot plan (e.g. no trained predictor) is skipped with its one-line
    reason; a :class:`~tpusplit.errors.TpusplitError` when none can. Complexity: the sum of
    the strategies', less what the shared cache saves.
    """
    todo = list(strategies) if strategies is not None else names()
    plans: list[Plan] = []
    skipped: dict[str, str] = {}
    for name in todo:
        if progress is not None:
            progress(name)
        try:
            fn = (planners or {}).get(name) or get(name)
            p = fn(graph, num_segments, cost)
        except TpusplitError as exc:
            skipped[name] = str(exc)
            continue
        if p.device != cost.device:  # figures from another source: cost it on this one
            timer = Timer(cost)
            again = make_plan(p.strategy, graph, cost, p.cuts, timer, batch=p.batch,
                              notes=(*p.notes, f"figures re-costed on {cost.device}"))
            p = replace(again, cost_evaluations=p.cost_evaluations,
                        solve_seconds=p.solve_seconds)
        plans.append(rebatch(p, cost, batch))
    if not plans:
        why = "; ".join(f"{k}: {v}" for k, v in skipped.items())
        raise TpusplitError(f"{graph.source}: no strategy could plan {num_segments} "
                            f"segments ({why})")
    if progress is not None:
        progress("one device")
    single = rebatch(get("compiler")(graph, 1, cost), cost, batch)
    return Comparison(tuple(plans), single, skipped)
