"""Backends (LiteRT CPU, Edge TPU delegate) and the runners that execute segments on them."""

from tpusplit.pipeline.backend import Backend, Stage
from tpusplit.pipeline.litert import LiteRTBackend, LiteRTStage
from tpusplit.pipeline.sequential import random_inputs, run_sequential

__all__ = ["Backend", "LiteRTBackend", "LiteRTStage", "Stage", "random_inputs", "run_sequential"]
