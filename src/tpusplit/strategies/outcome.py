"""What planning produced: the chosen plan and what ``tpusplit plan`` shows beside it."""

from __future__ import annotations

from dataclasses import dataclass, field

from tpusplit.costs.base import CostSource
from tpusplit.devices.target import Target
from tpusplit.graph import Graph
from tpusplit.strategies.base import Plan
from tpusplit.strategies.comparison import Comparison
from tpusplit.strategies.heterogeneous import LayerPlacement
from tpusplit.strategies.sizing import AutoResult


@dataclass
class Planning:
    """What planning produced: the chosen plan and what a command shows beside it."""

    graph: Graph
    target: Target
    plan: Plan | None
    cost: CostSource | None = None
    comparison: Comparison | None = None
    auto: AutoResult | None = None
    #: ``--devices --compare``: the "every device as the slowest" baseline.
    others: tuple[Plan, ...] = ()
    #: ``--devices --compare`` for latency or energy: the per-layer placement.
    layers: LayerPlacement | None = None
    objective: str = "throughput"
    warnings: list[str] = field(default_factory=list)
