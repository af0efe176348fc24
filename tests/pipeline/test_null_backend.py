"""The null backend: real wiring, no computation."""

from __future__ import annotations

import numpy as np
import pytest

from tpusplit.graph import load
from tpusplit.pipeline import PipelineError, build_pipeline, make_backend, random_feeds


def test_a_null_pipeline_is_wired_like_the_real_one(random_nets: list[bytes]) -> None:
    graph = load(random_nets[2])
    n = len(graph.ops)
    backend = make_backend("null")
    feeds = random_feeds(graph, 3)
    with build_pipeline(graph, [n // 3, 2 * n // 3], backend) as pipe:
        results = list(pipe.run(feeds))
        assert [s.runs for s in pipe.stages] == [3, 3, 3]  # type: ignore[attr-defined]
    real = build_pipeline(graph, [n // 3, 2 * n // 3])
    with real:
        want = next(iter(real.run(feeds[:1])))
    assert len(results) == 3
    for name, value in want.items():
        assert results[0][name].shape == value.shape and results[0][name].dtype == value.dtype
        assert not np.any(results[0][name])


def test_a_null_stage_checks_its_inputs(random_nets: list[bytes]) -> None:
    stage = make_backend("null").load(random_nets[0])
    (name,) = stage.input_names
    with pytest.raises(PipelineError, match="no value"):
        stage.run({})
    with pytest.raises(PipelineError, match="shape"):
        stage.run({name: np.zeros((1, 1))})

