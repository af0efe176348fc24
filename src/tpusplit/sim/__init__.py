"""Multi-device pipeline simulator (discrete events, PipelinedModelRunner semantics)."""

from tpusplit.sim.simulator import MAX_BATCH, PHASES, Event, SimResult, check_batch, simulate

__all__ = ["MAX_BATCH", "PHASES", "Event", "SimResult", "check_batch", "simulate"]
