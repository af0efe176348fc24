"""Checks on written plots that a blank or broken file fails (not just "it has bytes")."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def assert_png(path: Path, width: int | None = None, height: int | None = None,
               min_colours: int = 8) -> np.ndarray:
    """``path`` decodes as a PNG (of ``width`` x ``height`` pixels when given) with at least
    ``min_colours`` distinct colours, i.e. something was drawn; returns the pixels."""
    import matplotlib.image

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pixels = matplotlib.image.imread(path)
    if width is not None and height is not None:
        assert pixels.shape[:2] == (height, width), pixels.shape
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) >= min_colours, f"{path}: {len(colours)} colours, nearly blank"
    return pixels
