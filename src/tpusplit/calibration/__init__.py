"""Fitting the Edge TPU model: measurement files, the fit, the compiler's recorded graphs."""
