"""Segmentation strategies: one module each, a registry, and the Plan type.

``plan(graph, num_segments, cost, strategy)`` is the one entry point; ``get(name)`` and
``names()`` expose the registry (:mod:`tpusplit.strategies.registry`).
"""

from __future__ import annotations

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.strategies.base import Plan, SegmentFigures
from tpusplit.strategies.comparison import Comparison, compare
from tpusplit.strategies.registry import STRATEGIES, get, names
from tpusplit.strategies.sizing import AutoResult, auto


def plan(graph: Graph, num_segments: int, cost: CostSource, strategy: str = "optimal",
         fresh: bool = False) -> Plan:
    """Cut ``graph`` into ``num_segments`` with ``strategy`` under ``cost``.

    With ``fresh``, the cost source forgets its cache first, so ``cost_evaluations`` counts
    everything the strategy needed (as when it runs alone).
    """
    fn = get(strategy)
    if fresh:
        cost.clear()
    return fn(graph, num_segments, cost)


__all__ = ["STRATEGIES", "AutoResult", "Comparison", "Plan", "SegmentFigures", "auto", "compare",
           "get", "names", "plan"]
