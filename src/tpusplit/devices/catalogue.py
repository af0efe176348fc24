"""Device names: the one list every ``--device`` takes, with each device's cost source and backend.

The shipped Edge TPU profiles (``edgetpu-usb3``, ``edgetpu-pcie``, ``edgetpu-devboard``, ...:
:data:`tpusplit.devices.profiles.DEVICES`; also ``edgetpu``, the USB 3 profile, or a
device-profile ``.json`` file) are Edge TPUs: planned with the Edge TPU performance model, run
through libedgetpu. ``cpu`` (the profiler's median time) and ``cpu-p10`` (its 10th percentile,
steadier on busy cores) are LiteRT on CPU cores: planned by profiling, run by LiteRT. ``null``
runs segments without computing anything (wiring checks) and has no cost source. Which cost
source a device gets is :mod:`tpusplit.profiling.sources`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tpusplit.devices.profiles import ALIASES
from tpusplit.devices.profiles import DEVICES as PROFILES
from tpusplit.errors import TpusplitError


@dataclass(frozen=True)
class Device:
    """A device name: the backend that runs segments on it and what it is."""

    name: str
    backend: str
    description: str


#: Every device name: one per shipped Edge TPU profile, the CPU and the null device.
REGISTRY: dict[str, Device] = {d.name: d for d in (
    *(Device(name, "edgetpu", f"Edge TPU model, profile {name}") for name in PROFILES),
    Device("cpu", "cpu", "LiteRT on CPU cores (planned by profiling, median time)"),
    Device("cpu-p10", "cpu", "LiteRT on CPU cores (profiling, 10th-percentile time)"),
    Device("null", "null", "no computation: checks a split's wiring (no cost source)"),
)}


def device_help(planning: bool = False) -> str:
    """The ``--device`` help text every command shows."""
    names = [n for n in REGISTRY if not planning or n != "null"]
    return f"{', '.join(names)} (edgetpu = edgetpu-usb3), or a device-profile .json file."


def resolve(device: str) -> Device:
    """The :class:`Device` called ``device`` (an alias or a profile ``.json`` is an Edge TPU);
    a one-line error listing the names otherwise."""
    name = ALIASES.get(device, device)
    if name in REGISTRY:
        return REGISTRY[name]
    if device.endswith(".json"):
        return Device(device, "edgetpu", f"Edge TPU model with the profile {device}")
    raise TpusplitError(f"unknown device {device!r}: choose from {', '.join(REGISTRY)}, "
                        "edgetpu, or a device-profile .json file")
