"""Segmentation strategies: one module each, a registry, and the Plan type."""
