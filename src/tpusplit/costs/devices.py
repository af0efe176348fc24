"""Device names: the one list every ``--device`` takes, with each device's cost source and backend.

The shipped Edge TPU profiles (``edgetpu-usb3``, ``edgetpu-pcie``, ``edgetpu-devboard``, ...:
:data:`tpusplit.costs.edgetpu_profile.DEVICES`; also ``edgetpu``, the USB 3 profile, or a
device-profile ``.json`` file) are Edge TPUs: planned with the Edge TPU performance model, run
through libedgetpu. ``cpu`` (the profiler's median time) and ``cpu-p10`` (its 10th percentile,
steadier on busy cores) are LiteRT on CPU cores: planned by profiling, run by LiteRT. ``null``
runs segments without computing anything (wiring checks) and has no cost source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tpusplit.costs.base import CostSource
from tpusplit.costs.edgetpu_profile import ALIASES
from tpusplit.costs.edgetpu_profile import DEVICES as PROFILES
from tpusplit.costs.runner import RunnerModel, check_runner
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph


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


def cost_factory(device: str, runner: str = "python", host_ms: float | None = None,
                 clock: str | None = None) -> Callable[[Graph], CostSource]:
    """The constructor of ``device``'s cost source (for every model of a dataset).

    ``runner``, ``host_ms``: the pipeline runner plans and simulations assume and its host
    time per stage (:mod:`tpusplit.costs.runner`; default: the profile's measured Python
    runner); ``clock``: an Edge TPU's clock, ``max`` (default) or ``std``.
    """
    dev = resolve(device)
    check_runner(runner)
    if clock is not None and dev.backend != "edgetpu":
        raise TpusplitError(f"--clock: {dev.name} is not an Edge TPU")
    if dev.backend == "edgetpu":
        from tpusplit.costs.edgetpu import EdgeTPUCost

        profile: str | Path = dev.name
        return lambda graph: EdgeTPUCost(graph, profile, runner=runner, host_ms=host_ms,
                                         clock=clock)
    if dev.backend == "cpu":
        from tpusplit.costs.profiler import ProfilerCost

        statistic = "p10" if dev.name == "cpu-p10" else "median"

        def make(graph: Graph) -> CostSource:
            cost = ProfilerCost(graph, statistic=statistic)
            cost.device = dev.name
            cost.runner = RunnerModel(runner, host_ms or 0.0, serial=runner == "python")
            return cost

        return make
    raise TpusplitError(f"device {dev.name!r} has no cost source ({dev.description}); "
                        f"plan for one of {', '.join(n for n in REGISTRY if n != 'null')}")


def make_cost(graph: Graph, device: str, runner: str = "python", host_ms: float | None = None,
              clock: str | None = None) -> CostSource:
    """The cost source for ``device`` on ``graph`` (see :func:`cost_factory`)."""
    return cost_factory(device, runner, host_ms, clock)(graph)
