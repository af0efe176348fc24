"""Measured cost sources: profilers on real backends, their disk cache, a device's cost source."""
