"""The backend registry: device name -> backend class; a new accelerator is one new module."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from tpusplit.errors import TpusplitError
from tpusplit.pipeline.backend import Backend

#: Device name -> ``module:Class`` implementing :class:`~tpusplit.pipeline.backend.Backend`.
BACKENDS: dict[str, str] = {
    "cpu": "tpusplit.pipeline.litert:LiteRTBackend",
    "edgetpu": "tpusplit.pipeline.edgetpu:EdgeTPUBackend",
    "null": "tpusplit.pipeline.null:NullBackend",
}


def make_backend(device: str, **options: Any) -> Backend:
    """Instantiate the backend for ``device`` (``cpu``, ``edgetpu``, ``null``) with
    ``options``."""
    if device not in BACKENDS:
        raise TpusplitError(f"unknown device {device!r}: choose from {', '.join(BACKENDS)}")
    module, _, cls = BACKENDS[device].partition(":")
    backend: Backend = getattr(import_module(module), cls)(**options)
    return backend
