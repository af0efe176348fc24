"""Backends (LiteRT CPU, Edge TPU delegate) and the runners that execute segments on them."""

from tpusplit.pipeline.assemble import (
    CheckResult,
    build_pipeline,
    check_outputs,
    load_replicas,
    load_stages,
    run_and_check,
)
from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.inputs import random_feeds, read_inputs, read_segments
from tpusplit.pipeline.litert import LiteRTBackend, LiteRTStage
from tpusplit.pipeline.measure import PipelineMeasurement, measure_pipeline
from tpusplit.pipeline.registry import BACKENDS, make_backend
from tpusplit.pipeline.runner import Pipeline, PipelineError, StageError, StageStats
from tpusplit.pipeline.sequential import random_inputs, run_sequential

__all__ = [
    "BACKENDS",
    "Backend",
    "CheckResult",
    "LiteRTBackend",
    "LiteRTStage",
    "Pipeline",
    "PipelineError",
    "PipelineMeasurement",
    "Stage",
    "StageError",
    "StageStats",
    "build_pipeline",
    "check_outputs",
    "load_replicas",
    "load_stages",
    "make_backend",
    "measure_pipeline",
    "random_feeds",
    "random_inputs",
    "read_inputs",
    "read_segments",
    "run_and_check",
    "run_sequential",
]
