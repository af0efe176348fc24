"""The strategy registry: name -> ``fn(graph, num_segments, cost) -> Plan``, one line each."""

from __future__ import annotations

from collections.abc import Callable

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.strategies.balanced import balanced
from tpusplit.strategies.base import Plan
from tpusplit.strategies.brute_force import brute_force
from tpusplit.strategies.compiler import compiler
from tpusplit.strategies.hybrid import hybrid
from tpusplit.strategies.optimal import optimal
from tpusplit.strategies.predicted import predicted
from tpusplit.strategies.profiled import profiled

Strategy = Callable[[Graph, int, CostSource], Plan]

#: Every strategy, in the order tables show them.
STRATEGIES: dict[str, Strategy] = {
    "compiler": compiler,
    "profiled": profiled,
    "balanced": balanced,
    "optimal": optimal,
    "brute_force": brute_force,
    "predicted": predicted,
    "hybrid": hybrid,
}

#: Reference oracles: usable by name, left out of ``--compare`` (exponential time).
ORACLES = frozenset({"brute_force"})


def names(include_oracles: bool = False) -> list[str]:
    """Registered strategy names (without the oracles unless asked)."""
    return [k for k in STRATEGIES if include_oracles or k not in ORACLES]


def get(name: str) -> Strategy:
    """The strategy called ``name``; a one-line TpusplitError listing the choices otherwise."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise TpusplitError(f"unknown strategy {name!r}; choose from "
                            f"{', '.join(names(include_oracles=True))}") from None
