"""Run segments one after another, carrying tensors by name: the reference for every pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tpusplit.pipeline.backend import Stage


def run_sequential(stages: Sequence[Stage], feeds: Mapping[str, np.ndarray]
                   ) -> dict[str, np.ndarray]:
    """Run ``stages`` in order on one input; return every tensor produced, by name.

    A tensor produced by stage i stays available to every later stage (skip connections).
    """
    env: dict[str, np.ndarray] = dict(feeds)
    for stage in stages:
        env.update(stage.run({name: env[name] for name in stage.input_names}))
    return env


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype[Any]
                 ) -> np.ndarray:
    """A random tensor: uniform in [-1, 1) for floats, the full range for integers."""
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)


def random_inputs(stage: Stage, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for a stage (see :func:`random_array`)."""
    rng = np.random.default_rng(seed)
    return {name: random_array(rng, *stage.input_spec(name)) for name in stage.input_names}
