"""The backend interface: a device that loads one segment and runs it on named tensors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np


class Stage(Protocol):
    """One loaded segment, ready to run (the runner needs ``input_names``, ``output_names``
    and ``run``; random inputs need ``input_spec``)."""

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run once on ``feeds`` (every input name) and return every output by name."""
        ...

    def input_spec(self, name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
        """Shape and dtype of input ``name``."""
        ...


class Backend(ABC):
    """A kind of device (CPU cores through LiteRT, Edge TPUs through libedgetpu, ...).

    Subclasses implement :meth:`load`; :meth:`prepare` and :attr:`num_threads` are optional
    capabilities with neutral defaults.
    """

    #: Device name, as ``--device`` takes it.
    name: str = "unknown"
    #: CPU threads each stage may use (part of a measurement's identity).
    num_threads: int = 1

    @abstractmethod
    def load(self, model: bytes, device: int = 0) -> Stage:
        """Load one segment's TFLite bytes onto device number ``device``."""

    def prepare(self, model: bytes) -> bytes:
        """The segment as this device runs it (the Edge TPU compiles it); by default as is."""
        return model
