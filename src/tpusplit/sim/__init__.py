"""Multi-device pipeline simulator (discrete events, PipelinedModelRunner semantics)."""

from tpusplit.sim.pipeline import PHASES, Event, SimResult, simulate

__all__ = ["PHASES", "Event", "SimResult", "simulate"]
