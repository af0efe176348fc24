"""Predictor kinds by name (``gbt``, ``transformer``), imported lazily (torch is optional)."""

from __future__ import annotations

from importlib import import_module

from tpusplit.errors import TpusplitError
from tpusplit.predictor.base import Predictor

#: kind -> (module, class, pip extra that provides its dependencies)
KINDS: dict[str, tuple[str, str, str]] = {
    "gbt": ("tpusplit.predictor.gbt", "GBTPredictor", "predict-light"),
    "transformer": ("tpusplit.predictor.transformer", "TransformerPredictor", "predict"),
}


def predictor_class(kind: str) -> type[Predictor]:
    """The predictor class for ``kind``; a one-line error when unknown or not installed."""
    if kind not in KINDS:
        raise TpusplitError(f"unknown predictor kind {kind!r}: expected one of "
                            f"{', '.join(KINDS)}")
    module, name, extra = KINDS[kind]
    try:
        cls: type[Predictor] = getattr(import_module(module), name)
    except ImportError as exc:
        raise TpusplitError(f"predictor {kind!r} needs {exc.name!r}: pip install "
                            f"'tpusplit[{extra}]'") from None
    return cls
