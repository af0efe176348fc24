"""The backend interface: a device that loads one segment and runs it on named tensors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np


class Stage(Protocol):
    """One loaded segment, ready to run."""

    input_names: tuple[str, ...]
    output_names: tuple[str, ...]

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run once on ``feeds`` (every input name) and return every output by name."""
        ...


class Backend(Protocol):
    """A kind of device (CPU cores through LiteRT, Edge TPUs through libedgetpu, ...)."""

    name: str

    def load(self, model: bytes, device: int = 0) -> Stage:
        """Load one segment's TFLite bytes onto device number ``device``."""
        ...
