"""Host time of a pipeline runner per stage and input: what every measured pipeline adds.

A pipeline of N devices is driven by a runner on the host, which moves every input through
N stages (a queue hand-off, a thread wake-up, the interpreter call). The measured Edge TPU
pipelines (``data/edgetpu-measurements``) show that work: a pipeline's time per inference
grows by about ``stage_ms`` per stage even when its stages are far shorter than that. Two
runners, fitted on different files of the data (``benchmarks/results/edgetpu_model.md``):

- ``python``: a thread-and-queue pipeline in Python, as ``tpusplit run`` and the fc files
  of the data use. The host work of all stages takes the GIL in turn, so it *serialises*:
  the time per inference is at least ``N * stage_ms`` however short the stages are.
- ``coral``: libcoral's C++ ``PipelinedModelRunner`` (the conv files of the data). Its
  stages' host work overlaps: each stage takes ``stage_ms`` longer. The data (conv stages
  of milliseconds) say little about it; see its profile field.
- ``none``: no host time (the device times alone, as tpusplit 0.2 reported).

What the data cannot separate: whether the per-stage time is the runner's or the driver's
(libedgetpu), and how it varies with the host CPU (only one host ran pipelines; other
profiles scale it by their CPU factor). A single segment runs without a pipeline runner,
so it adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tpusplit.errors import TpusplitError


@dataclass(frozen=True)
class RunnerModel:
    """A runner's host time per stage and input, and whether it serialises across stages."""

    name: str
    stage_ms: float = 0.0
    serial: bool = False

    def __post_init__(self) -> None:
        if not self.stage_ms >= 0 or self.stage_ms == float("inf"):
            raise TpusplitError(f"runner {self.name}: host time per stage must be a finite "
                                f"number >= 0, got {self.stage_ms}")

    @property
    def serial_ms(self) -> float:
        """The part of the host time per stage that serialises across stages (all of it for a
        serialising runner, none for one whose stages overlap)."""
        return self.stage_ms if self.serial else 0.0

    def host_ms(self, devices: int) -> float:
        """Host time per stage and input of a plan on ``devices`` devices, stages and copies
        alike (0 on one device: nothing is handed between threads)."""
        return self.stage_ms if devices > 1 else 0.0

    def stage_periods(self, stage_ms: Sequence[float], replicas: Sequence[int] | None = None
                      ) -> list[float]:
        """Each stage's time per input: its time plus its host time, over its ``replicas``
        (which take inputs in turn); no host time on a single device."""
        reps = list(replicas) if replicas else [1] * len(stage_ms)
        h = self.host_ms(sum(reps))
        return [(s + h) / r for s, r in zip(stage_ms, reps, strict=True)]

    def period_ms(self, stage_ms: Sequence[float], replicas: Sequence[int] | None = None,
                  link_ms: Sequence[float] | None = None) -> float:
        """Steady-state time per input of a pipeline whose stages take ``stage_ms`` each on
        their devices: the busiest stage plus its host time (divided by its ``replicas``,
        which take inputs in turn, but at least its ``link_ms`` when they share a link), and
        for a serialising runner at least the host time of all stages (one hand-off per stage
        and input, whatever the replicas: :mod:`tpusplit.partition.replicas`)."""
        reps = list(replicas) if replicas else [1] * len(stage_ms)
        links = list(link_ms) if link_ms else [0.0] * len(stage_ms)
        busiest = max(max(p, link if r > 1 else 0.0) for p, r, link
                      in zip(self.stage_periods(stage_ms, reps), reps, links, strict=True))
        serial = len(stage_ms) * self.host_ms(sum(reps))
        return max(busiest, serial) if self.serial else busiest

    def sim_options(self, devices: int) -> tuple[float, int | None]:
        """``(host_ms, host_workers)`` of :func:`tpusplit.sim.simulate` for this runner on
        ``devices`` devices."""
        return self.host_ms(devices), 1 if self.serial else None

    def describe(self) -> str:
        """One line for reports: the runner and its host time."""
        if self.name == "none" or self.stage_ms == 0:
            return f"runner {self.name}: no host time per stage"
        how = "serialised across stages (GIL)" if self.serial else "per stage, stages overlap"
        return f"runner {self.name}: {self.stage_ms:.3f} ms host time per stage and input, {how}"
