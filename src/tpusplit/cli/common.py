"""Argument parsing shared by the commands."""

from __future__ import annotations

from tpusplit.errors import TpusplitError


def parse_cuts(text: str, source: str) -> list[int]:
    """Parse ``"12,40"`` into ``[12, 40]`` (range and order are checked against the graph)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise TpusplitError(f"{source}: --cuts is empty; give op indices like 12,40")
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise TpusplitError(f"{source}: --cuts {text!r} must be comma-separated op indices") \
            from None
