"""Run segments one after another, carrying tensors by name: the reference for every pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tpusplit.pipeline.backend import Stage
from tpusplit.pipeline.inputs import random_feeds, stage_specs


def run_sequential(stages: Sequence[Stage], feeds: Mapping[str, np.ndarray]
                   ) -> dict[str, np.ndarray]:
    """Run ``stages`` in order on one input; return every tensor produced, by name.

    A tensor produced by stage i stays available to every later stage (skip connections).
    """
    env: dict[str, np.ndarray] = dict(feeds)
    for stage in stages:
        env.update(stage.run({name: env[name] for name in stage.input_names}))
    return env


def random_inputs(stage: Stage, seed: int = 0) -> dict[str, np.ndarray]:
    """Random inputs for a stage (:func:`tpusplit.pipeline.inputs.random_feeds`)."""
    specs = stage_specs([stage], stage.input_names)
    return random_feeds(specs, 1, seed)[0]
