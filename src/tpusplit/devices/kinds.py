"""Device sets: a machine's mix of Edge TPUs and CPU cores (``--devices usb3:2,pcie:1,cpu:2``).

Syntax: comma-separated ``KIND[:COUNT]`` (count 1 when omitted). ``KIND`` is an Edge TPU
profile, by its short name (``usb3``, ``usb2``, ``pcie``, ``devboard``, ``rpi4-usb3``,
``rpi3-usb2``, ``usb3-sweeps``), its full name (``edgetpu-pcie``) or a profile ``.json`` file;
or ``cpu`` for a CPU core (``cpu@2``: a CPU stage of two LiteRT threads). Each kind has a
cost source (:func:`tpusplit.profiling.sources.kind_cost`), a backend to run on (``edgetpu``
or ``cpu``) and a power model (:mod:`tpusplit.devices.energy`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tpusplit.devices.energy import PowerModel, power_of
from tpusplit.devices.profiles import ALIASES, DEVICES
from tpusplit.errors import TpusplitError

#: Short names of the shipped Edge TPU profiles.
SHORT: dict[str, str] = {name.removeprefix("edgetpu-"): name for name in DEVICES}
#: Most devices a set may hold (the exact planner's work grows with the product of counts).
MAX_DEVICES = 16


@dataclass(frozen=True)
class DeviceKind:
    """One kind of device in a set: its label, how many, its profile or thread count."""

    label: str
    count: int
    profile: str | None = None   # Edge TPU profile name or .json path; None for a CPU
    threads: int = 1

    @property
    def backend(self) -> str:
        """``edgetpu`` or ``cpu``."""
        return "cpu" if self.profile is None else "edgetpu"

    @property
    def power(self) -> PowerModel:
        """What the device draws (:mod:`tpusplit.devices.energy`)."""
        return power_of(self.backend, self.threads)


def _kind(text: str, count: int) -> DeviceKind:
    m = re.fullmatch(r"cpu(?:@(\d+))?", text)
    if m:
        threads = int(m.group(1) or 1)
        if threads < 1:
            raise ValueError("a CPU stage needs at least 1 thread")
        return DeviceKind(text, count, None, threads)
    name = ALIASES.get(text, SHORT.get(text, text))
    if name in DEVICES:
        return DeviceKind(text, count, name)
    if text.endswith(".json"):
        if not Path(text).is_file():
            raise ValueError(f"profile {text} not found")
        return DeviceKind(text, count, text)
    raise ValueError(f"unknown device kind {text!r}; use {', '.join(SHORT)}, edgetpu-*, a "
                     f"profile .json, cpu or cpu@THREADS")


def parse_devices(text: str) -> list[DeviceKind]:
    """The kinds of ``text`` (module docstring), in the order given.

    Raises:
        TpusplitError: one line naming the entry and the problem.
    """
    kinds: list[DeviceKind] = []
    if not text.strip():
        raise TpusplitError("--devices: empty; e.g. --devices usb3:2,cpu:1")
    for entry in text.split(","):
        entry = entry.strip()
        kind, _, count_text = entry.partition(":")
        try:
            count = int(count_text) if count_text else 1
            if count < 1:
                raise ValueError("the count must be >= 1")
            parsed = _kind(kind.strip(), count)
        except ValueError as exc:
            msg = str(exc) if "invalid literal" not in str(exc) else \
                f"count {count_text!r} is not a whole number"
            raise TpusplitError(f"--devices: {entry!r}: {msg}") from None
        if any(k.label == parsed.label for k in kinds):
            raise TpusplitError(f"--devices: {parsed.label!r} listed twice; give one count")
        kinds.append(parsed)
    total = sum(k.count for k in kinds)
    if total > MAX_DEVICES:
        raise TpusplitError(f"--devices: {total} devices; at most {MAX_DEVICES}")
    return kinds


def describe(kinds: list[DeviceKind]) -> str:
    """The set written back in ``--devices`` syntax."""
    return ",".join(f"{k.label}:{k.count}" for k in kinds)


