"""Paced stages: run a segment on LiteRT but take as long as a device would (``--simulate-tpu``).

A plan for a mix of devices can be exercised end to end on a machine without its Edge TPUs:
each TPU stage computes its outputs on the CPU (so results stay bit-exact with the whole
model) and then waits until the latency predicted for the device has passed. A stage whose
CPU run is already slower than the prediction just takes that long (the pipeline then shows
the CPU, not the TPU, for that stage; :attr:`PacedStage.late` counts those runs).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tpusplit.pipeline.backend import Backend
from tpusplit.pipeline.litert import LiteRTStage


class PacedStage:
    """A LiteRT stage that lasts at least ``target_ms`` per run."""

    def __init__(self, inner: LiteRTStage, target_ms: float) -> None:
        self.inner = inner
        self.target_ms = float(target_ms)
        self.input_names = inner.input_names
        self.output_names = inner.output_names
        self.late = 0

    def input_spec(self, name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
        """Shape and dtype of input ``name``."""
        return self.inner.input_spec(name)

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Compute on the CPU, then sleep out the rest of the target time."""
        t0 = time.perf_counter()
        out = self.inner.run(feeds)
        left = self.target_ms / 1e3 - (time.perf_counter() - t0)
        if left > 0:
            time.sleep(left)
        else:
            self.late += 1
        return out


class PacedBackend(Backend):
    """Loads the segment on device ``i`` as a :class:`PacedStage` lasting ``stage_ms[i]``, or
    every segment lasting ``stage_ms`` when it is one number (one segment's backend, for all
    its replicas); CPU threads: ``num_threads``."""

    name = "paced"

    def __init__(self, stage_ms: float | Sequence[float], num_threads: int = 1) -> None:
        self.stage_ms: float | list[float] = (float(stage_ms) if isinstance(stage_ms, int | float)
                                              else [float(v) for v in stage_ms])
        self.num_threads = num_threads

    def load(self, model: bytes, device: int = 0) -> PacedStage:
        """The segment on device ``device``, paced at its predicted latency."""
        ms = self.stage_ms if isinstance(self.stage_ms, float) else self.stage_ms[device]
        return PacedStage(LiteRTStage(model, num_threads=self.num_threads), ms)
