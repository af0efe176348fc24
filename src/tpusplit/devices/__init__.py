"""The device catalogue: names, kinds and mixes, targets, clusters, Edge TPU profiles, power."""
