"""``--tpus auto``: the fewest segments that reach the best throughput (within 5%) or a target."""

from __future__ import annotations

from dataclasses import dataclass

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.strategies.base import Plan
from tpusplit.strategies.registry import Strategy, get

#: Throughput within this fraction of the best counts as reaching it.
TOLERANCE = 0.05


@dataclass(frozen=True)
class AutoResult:
    """The chosen plan, every plan tried (N = 1..max), and why this one was chosen."""

    plan: Plan
    tried: tuple[Plan, ...]
    reason: str
    target_reached: bool = True


def auto(graph: Graph, cost: CostSource, strategy: str = "optimal", max_segments: int = 8,
         target_ips: float | None = None, tolerance: float = TOLERANCE,
         planner: Strategy | None = None) -> AutoResult:
    """Plan ``graph`` with ``strategy`` for N = 1..``max_segments`` and pick N.

    Without a target: the smallest N whose throughput is at least ``(1 - tolerance)`` times the
    best. With ``target_ips``: the smallest N reaching it; if none does, the best N and
    ``target_reached=False``. Complexity: ``max_segments`` runs of the strategy (the cost
    source's cache is shared between them); an N the strategy cannot plan is skipped.
    ``planner`` replaces the registered strategy (a replica-aware ``optimal``: N is then a
    number of devices, stages and replicas together).
    """
    if max_segments < 1:
        raise TpusplitError(f"{graph.source}: --max-tpus must be >= 1, got {max_segments}")
    if target_ips is not None and not target_ips > 0:
        raise TpusplitError(f"{graph.source}: the throughput target must be > 0, "
                            f"got {target_ips}")
    fn = planner or get(strategy)
    top = min(max_segments, len(graph.ops))
    plans = []
    for k in range(1, top + 1):
        try:
            plans.append(fn(graph, k, cost))
        except TpusplitError:  # e.g. the compiler rule with too many segments: skip this N
            continue
    if not plans:
        raise TpusplitError(f"{graph.source}: {strategy} cannot plan 1..{top} segments")
    tried = tuple(plans)
    best = max(tried, key=lambda p: p.throughput_ips)
    if target_ips is None:
        need = (1 - tolerance) * best.throughput_ips
        chosen = next(p for p in tried if p.throughput_ips >= need)
        reason = (f"fewest devices within {tolerance:.0%} of the best throughput "
                  f"({best.throughput_ips:.1f}/s with {best.devices_used})")
        return AutoResult(chosen, tried, reason)
    hit = next((p for p in tried if p.throughput_ips >= target_ips), None)
    if hit is None:
        return AutoResult(best, tried, f"no N <= {top} reaches {target_ips:g}/s; the best is "
                          f"{best.throughput_ips:.1f}/s with {best.devices_used}", False)
    return AutoResult(hit, tried, f"fewest devices reaching {target_ips:g}/s")
