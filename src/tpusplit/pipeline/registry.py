"""The backend registry: device name -> backend class; a new accelerator is one new module."""

from __future__ import annotations

from collections.abc import Mapping
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


#: A backend, or one given by device name and options: built where it runs (a Ray actor
#: builds its own, so an Edge TPU backend finds the TPUs of the actor's host).
BackendSpec = Backend | tuple[str, Mapping[str, Any]]


def build_backend(spec: BackendSpec) -> Backend:
    """The backend of ``spec`` (:func:`make_backend` for a ``(device, options)`` pair)."""
    if isinstance(spec, tuple):
        return make_backend(spec[0], **dict(spec[1]))
    return spec
