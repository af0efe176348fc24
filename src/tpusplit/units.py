"""Byte units: the one definition of KiB and MiB (binary: 2**10 and 2**20 bytes)."""

from __future__ import annotations

KiB = 1 << 10
MiB = 1 << 20


def mib(nbytes: float) -> float:
    """``nbytes`` in MiB."""
    return nbytes / MiB
