"""The target of a plan: what devices it is for, how many, on which hosts, under which runner.

A :class:`Target` is what :func:`tpusplit.plan` takes and what a :class:`~tpusplit.Plan`
carries, so simulating, running or streaming a plan needs no device argument and nothing
re-reads device strings. It is parsed in one place, :func:`parse_target`, from the flags a
user gives:

* ``device`` (a name of :mod:`tpusplit.devices.catalogue`: ``edgetpu-usb3``, ``edgetpu-pcie``,
  a profile ``.json``, ``cpu``, ``cpu-p10``, ``null``) and ``tpus`` (how many of it);
* or ``devices``, a mix in ``--devices`` syntax (``usb3:2,cpu:1``; :mod:`tpusplit.devices.kinds`);
* or a cluster description (hosts, their devices, links; :mod:`tpusplit.devices.cluster_spec`);

with the pipeline runner whose host time the figures include (``python``, ``coral``,
``none``; :mod:`tpusplit.costs.runner`), an optional host time per stage and the Edge TPU clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tpusplit.devices.catalogue import Device, resolve
from tpusplit.devices.cluster_spec import Cluster, load_cluster, parse_cluster
from tpusplit.devices.kinds import DeviceKind, describe, parse_devices
from tpusplit.errors import TpusplitError

#: Runner names, in the order the CLI lists them; the first is the default.
RUNNERS: tuple[str, ...] = ("python", "coral", "none")
#: Clocks of libedgetpu's two builds, MHz: ``max`` (libedgetpu1-max, Coral's published
#: figures) and ``std`` (libedgetpu1-std, half the clock).
CLOCKS: dict[str, float] = {"max": 500.0, "std": 250.0}


@dataclass(frozen=True)
class Target:
    """Devices a plan is for (module docstring).

    Exactly one of ``device`` (one kind, ``count`` of them; ``count`` 0 means "to be
    chosen", as ``--tpus auto``), ``kinds`` (a mix) or ``cluster`` is set.
    """

    device: str = ""
    count: int = 0
    kinds: tuple[DeviceKind, ...] = ()
    cluster: Cluster | None = None
    runner: str = "python"
    host_ms: float | None = None
    clock: str | None = None

    @property
    def backend(self) -> str:
        """``edgetpu``, ``cpu`` or ``null`` for one kind of device; ``mix`` otherwise."""
        return resolve(self.device).backend if self.device else "mix"

    @property
    def dev(self) -> Device:
        """The catalogue entry of a one-kind target (a one-line error for a mix)."""
        if not self.device:
            raise TpusplitError(f"{self.describe()}: a mix of devices, not one device")
        return resolve(self.device)

    def with_count(self, count: int) -> Target:
        """The same target with ``count`` devices of its kind."""
        return Target(self.device, count, self.kinds, self.cluster, self.runner, self.host_ms,
                      self.clock)

    def describe(self) -> str:
        """Short text: ``4 x edgetpu-usb3``, ``usb3:2,cpu:1`` or ``cluster of 2 hosts``."""
        if self.cluster is not None:
            return f"cluster of {len(self.cluster.hosts)} host(s)"
        if self.kinds:
            return describe(list(self.kinds))
        return f"{self.count} x {self.device}" if self.count else self.device

    def as_dict(self) -> dict[str, Any]:
        """JSON form (the ``"target"`` of a plan file)."""
        out: dict[str, Any] = {}
        if self.device:
            out.update(device=self.device, count=self.count)
        if self.kinds:
            out["devices"] = describe(list(self.kinds))
        if self.cluster is not None:
            out["cluster"] = self.cluster.as_dict()
        out.update(runner=self.runner, host_ms=self.host_ms, clock=self.clock)
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "<target>") -> Target:
        """Read :meth:`as_dict` output; one-line errors naming ``source``."""
        if not isinstance(data, dict):
            raise TpusplitError(f"{source}: target must be a JSON object")
        cluster = (parse_cluster(data["cluster"], source) if data.get("cluster") is not None
                   else None)
        host_ms = data.get("host_ms")
        if host_ms is not None and (isinstance(host_ms, bool)
                                    or not isinstance(host_ms, int | float)):
            raise TpusplitError(f"{source}: target host_ms must be a number")
        count = data.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise TpusplitError(f"{source}: target count must be a whole number >= 0")
        return parse_target(device=data.get("device") if not data.get("devices") and
                            cluster is None else None,
                            tpus=count or None, devices=data.get("devices"), cluster=cluster,
                            runner=str(data.get("runner", "python")), host_ms=host_ms,
                            clock=data.get("clock"), source=source)


def check_runner(runner: str, clock: str | None = None, host_ms: float | None = None,
                 source: str = "") -> str:
    """One-line errors for an unknown runner or clock, or a negative host time."""
    where = f"{source}: " if source else ""
    if runner not in RUNNERS:
        raise TpusplitError(f"{where}--runner: unknown runner {runner!r}; use one of "
                            f"{', '.join(RUNNERS)}")
    if clock is not None and clock not in CLOCKS:
        raise TpusplitError(f"{where}--clock: expected {' or '.join(CLOCKS)}, got {clock!r}")
    if host_ms is not None and not host_ms >= 0:
        raise TpusplitError(f"{where}--host-ms must be >= 0, got {host_ms!r}")
    return runner


def parse_target(device: str | None = None, tpus: int | None = None, *,
                 devices: str | None = None, cluster: str | Path | Cluster | None = None,
                 runner: str = "python", host_ms: float | None = None,
                 clock: str | None = None, source: str = "") -> Target:
    """The one parser of what a plan is for (module docstring).

    ``device`` defaults to ``edgetpu-usb3``; ``tpus`` None means "to be chosen"
    (``--tpus auto``). ``devices`` and ``cluster`` exclude ``device``/``tpus``.

    Raises:
        TpusplitError: one line naming what is wrong.
    """
    where = f"{source}: " if source else ""
    check_runner(runner, clock, host_ms, source)
    given = [x for x in (devices, cluster) if x is not None]
    if len(given) > 1:
        raise TpusplitError(f"{where}give --devices or --cluster, not both")
    if given and tpus is not None:
        raise TpusplitError(f"{where}--devices and --cluster say how many devices there are; "
                            "leave out --tpus")
    if tpus is not None and (isinstance(tpus, bool) or not isinstance(tpus, int) or tpus < 1):
        raise TpusplitError(f"{where}--tpus must be a positive integer (a number of devices), "
                            f"got {tpus!r}")
    if cluster is not None:
        spec = cluster if isinstance(cluster, Cluster) else load_cluster(cluster)
        return Target(cluster=spec, runner=runner, host_ms=host_ms, clock=clock)
    if devices is not None:
        return Target(kinds=tuple(parse_devices(devices)), runner=runner, host_ms=host_ms,
                      clock=clock)
    dev = resolve(device or "edgetpu-usb3")
    if clock is not None and dev.backend != "edgetpu":
        raise TpusplitError(f"{where}--clock: {dev.name} is not an Edge TPU")
    # the name as given: ``edgetpu`` (any attached Edge TPU, profiled) is not ``edgetpu-usb3``
    return Target(device or dev.name, tpus or 0, runner=runner, host_ms=host_ms, clock=clock)
