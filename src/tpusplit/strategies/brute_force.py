"""The ``brute_force`` strategy: every partition tried (the oracle, for small models).

An adapter over :func:`tpusplit.partition.brute_force`; usable by name, left out of
``--compare`` (exponential time).
"""

from __future__ import annotations

from math import comb

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.partition import brute_force as enumerate_all
from tpusplit.strategies.base import Plan, Timer, check_num_segments, make_plan

#: Refuse instances with more partitions than this (the oracle is for small models).
MAX_PARTITIONS = 2_000_000


def brute_force(graph: Graph, num_segments: int, cost: CostSource) -> Plan:
    """The minimum-bottleneck plan, found by trying every partition (small models only).

    Complexity: C(n - 1, N - 1) partitions, every one of the n(n+1)/2 segments evaluated.
    Raises TpusplitError when there are more than :data:`MAX_PARTITIONS` partitions.
    """
    check_num_segments(graph, num_segments)
    n = len(graph.ops)
    count = comb(n - 1, num_segments - 1)
    if count > MAX_PARTITIONS:
        raise TpusplitError(f"{graph.source}: brute force would try {count:,} partitions; "
                            "use optimal")
    timer = Timer(cost)
    found = enumerate_all(n, num_segments, cost.latency)
    return make_plan("brute_force", graph, cost, found.cuts, timer,
                     lower_bound_ms=found.value)
