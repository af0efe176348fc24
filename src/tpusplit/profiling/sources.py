"""Which cost source a device gets: the Edge TPU model for Edge TPUs, measurements for CPUs.

The one place that turns a device name (:mod:`tpusplit.devices.catalogue`) or a device kind
of a mix (:mod:`tpusplit.devices.kinds`) into a :class:`~tpusplit.costs.base.CostSource`:

* an Edge TPU (``edgetpu-usb3``, ``usb3:2`` in a mix, a profile ``.json``): the analytic
  model :class:`~tpusplit.costs.edgetpu.EdgeTPUCost` with that profile;
* ``cpu`` / ``cpu-p10`` (``--device``, one kind of device): every segment a strategy asks
  for is run on LiteRT and timed (:class:`~tpusplit.profiling.cpu.ProfilerCost`, median or
  10th percentile);
* ``cpu`` / ``cpu@T`` in a mix (``--devices``): :class:`~tpusplit.profiling.cpu_ops.CPUOpCost`,
  each op timed once and added up with a fitted per-stage overhead. The exact planner for a
  mix needs every segment of every kind, O(n^2) of them, which is too many to time one by
  one; a single-kind plan asks for few (the strategies prune with lower bounds).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tpusplit.costs.base import CostSource
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.runner import RunnerModel
from tpusplit.devices.catalogue import REGISTRY, resolve
from tpusplit.devices.kinds import DeviceKind
from tpusplit.devices.target import check_runner
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph


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
        profile: str | Path = dev.name
        return lambda graph: EdgeTPUCost(graph, profile, runner=runner, host_ms=host_ms,
                                         clock=clock)
    if dev.backend == "cpu":
        from tpusplit.profiling.cpu import ProfilerCost

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


def kind_cost(kind: DeviceKind, graph: Graph) -> CostSource:
    """The cost source of one kind of device in a mix (module docstring)."""
    if kind.profile is None:
        from tpusplit.profiling.cpu_ops import CPUOpCost

        return CPUOpCost(graph, threads=kind.threads)
    return EdgeTPUCost(graph, kind.profile)
