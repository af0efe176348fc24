"""Multi-device pipeline simulator (discrete events, PipelinedModelRunner semantics)."""
