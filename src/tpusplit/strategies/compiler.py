"""The ``compiler`` strategy: ``edgetpu_compiler --num_segments=N``'s parameter-count rule.

The rule itself is :mod:`tpusplit.graph.compiler_rule` (libcoral's
``ParameterCountBasedPartitioner``; docs/edgetpu-notes.md section 2). It ignores compute,
crossing tensors and whole-layer caching. Tested against the compiler's
own splits of the conv family (conv_{2,3,4}tpu_compiler_split.csv).

Complexity: O(n) time, N cost evaluations (only to report the plan's figures).
"""

from __future__ import annotations

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph
from tpusplit.graph.compiler_rule import compiler_cuts as compiler_rule
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan


def compiler_cuts(graph: Graph, num_segments: int) -> tuple[int, ...]:
    """The cuts ``edgetpu_compiler --num_segments`` makes (parameter bytes only).

    Raises TpusplitError for a bad segment count, or when the first output op comes too early
    to give every segment but the last at least one op before it (the compiler fails too).
    """
    check_num_segments(graph, num_segments)
    return tuple(compiler_rule(graph, num_segments))


def compiler(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """The plan ``edgetpu_compiler --num_segments`` would make, costed on ``cost``."""
    timer = Timer(cost)
    cuts = compiler_cuts(graph, num_segments)
    return make_plan("compiler", graph, cost, cuts, timer)
