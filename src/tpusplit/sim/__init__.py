"""Multi-device pipeline simulator (discrete events, PipelinedModelRunner semantics)."""

from tpusplit.sim.simulator import PHASES, Event, SimResult, simulate

__all__ = ["PHASES", "Event", "SimResult", "simulate"]
