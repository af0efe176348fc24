"""Energy per inference of a pipeline: each device's power while busy and while idle.

A device draws ``active_w`` while it works on a stage and ``idle_w`` otherwise. In a pipeline
that delivers one result every ``period_ms`` (the time per inference), stage ``k`` is busy
``busy_k`` ms per inference, so

``J per inference = sum_k (active_w_k * busy_k + idle_w_k * (period - busy_k)) / 1000``

and the devices' *active* energy (what planning for energy minimises, since it is additive
over stages) is ``sum_k active_w_k * busy_k / 1000``. The figures, and where they come from:

- **Edge TPU**: 4 TOPS at 2 TOPS per watt, so 2 W at full load (Coral's product pages and
  datasheets: "4 trillion operations per second (TOPS), using 0.5 watts for each TOPS"). A
  stage is charged the full 2 W for its whole latency (link transfers included): an upper
  bound, since the array is rarely at full load. Idle draw is not published by Coral; 0.5 W
  is an assumption (edit :data:`POWER` or pass your own :class:`PowerModel`).
- **CPU**: no power counters on this machine (no RAPL under ``/sys/class/powercap``), so a
  core is charged an assumed 5 W busy and 1 W idle, the order of a desktop or server core;
  an assumption, not a measurement.

The model charges no energy for the host's own work (drivers, copies) beyond the devices'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PowerModel:
    """Power of one device: while busy and while idle (W), and where the figures come from."""

    active_w: float
    idle_w: float
    source: str


#: Power of each kind of device (``edgetpu``; ``cpu`` per thread).
POWER: dict[str, PowerModel] = {
    "edgetpu": PowerModel(2.0, 0.5, "2 W at 4 TOPS: Coral datasheets (2 TOPS/W); idle 0.5 W "
                                    "assumed (not published)"),
    "cpu": PowerModel(5.0, 1.0, "assumed 5 W busy / 1 W idle per core (no RAPL counters here)"),
}


def power_of(kind: str, threads: int = 1) -> PowerModel:
    """The power model of a device kind (``edgetpu`` or ``cpu``; a CPU device scales with its
    threads)."""
    base = POWER["edgetpu" if kind == "edgetpu" else "cpu"]
    if kind == "edgetpu":
        return base
    return PowerModel(base.active_w * threads, base.idle_w * threads,
                      f"{threads} x ({base.source})")


@dataclass(frozen=True)
class Energy:
    """Energy per inference (mJ): the devices' active share, their idle share, the total."""

    active_mj: float
    idle_mj: float

    @property
    def total_mj(self) -> float:
        """Active plus idle energy per inference."""
        return self.active_mj + self.idle_mj

    @property
    def inferences_per_joule(self) -> float:
        """How many inferences one joule buys."""
        return 1000.0 / self.total_mj if self.total_mj > 0 else float("inf")

    def as_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {"energy_mj": self.total_mj, "active_mj": self.active_mj,
                "idle_mj": self.idle_mj, "inferences_per_joule": self.inferences_per_joule}


def replicated_energy(stage_busy_ms: Sequence[float], batch: int, period_ms: float,
                      power: Sequence[PowerModel], replicas: Sequence[int] | None = None
                      ) -> Energy:
    """:func:`pipeline_energy` of a simulated pipeline whose stage ``i`` was busy
    ``stage_busy_ms[i]`` over ``batch`` inputs on ``replicas[i]`` devices of ``power[i]``
    (every device on its own: a stage's busy time shared by its replicas)."""
    counts = list(replicas) if replicas else [1] * len(stage_busy_ms)
    busy = [b / batch / r for b, r in zip(stage_busy_ms, counts, strict=True) for _ in range(r)]
    each = [p for p, r in zip(power, counts, strict=True) for _ in range(r)]
    return pipeline_energy(busy, period_ms, each)


def pipeline_energy(busy_ms: Sequence[float], period_ms: float,
                    power: Sequence[PowerModel]) -> Energy:
    """Energy per inference of stages busy ``busy_ms`` each per inference, one result every
    ``period_ms``, on devices of ``power`` (module docstring). O(stages)."""
    if len(busy_ms) != len(power):
        raise ValueError(f"{len(busy_ms)} stages but {len(power)} power models")
    active = sum(p.active_w * b for p, b in zip(power, busy_ms, strict=True))
    idle = sum(p.idle_w * max(0.0, period_ms - b) for p, b in zip(power, busy_ms, strict=True))
    return Energy(active, idle)
