"""How figures read in text: op ranges half-open, as in the JSON and in ``--cuts``."""

from __future__ import annotations


def op_range(start: int, end: int) -> str:
    """Ops ``start`` up to (not including) ``end``: ``[0, 6)``, as the JSON's ``[0, 6]``
    and the cut positions (a segment starts at a cut) mean it."""
    return f"[{start}, {end})"
