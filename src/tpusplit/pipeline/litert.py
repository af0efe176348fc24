"""LiteRT on CPU: the backend that runs everywhere (one interpreter per segment)."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from tpusplit.errors import TpusplitError, first_line
from tpusplit.pipeline.backend import Backend

#: Lines LiteRT prints to the process's stderr on its own that say nothing to a user (kept
#: with ``TPUSPLIT_VERBOSE=1``).
_CHATTER = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)
_STDERR_LOCK = threading.Lock()


def interpreter(**kwargs: Any) -> Interpreter:
    """A LiteRT ``Interpreter(**kwargs)``, tensors allocated, without LiteRT's own chatter on
    stderr.

    LiteRT's C++ logs straight to file descriptor 2 (``INFO: Created TensorFlow Lite XNNPACK
    delegate for CPU.``, once per process); it would sit between a command's table and its
    one-line errors. The descriptor is captured while the interpreter is made and everything
    but :data:`_CHATTER` is written back; ``TPUSPLIT_VERBOSE=1`` keeps it all.
    """
    if os.environ.get("TPUSPLIT_VERBOSE") == "1":
        return _allocated(Interpreter(**kwargs))
    with _STDERR_LOCK, tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            return _allocated(Interpreter(**kwargs))
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            kept = [line for line in tmp.read().decode(errors="replace").splitlines(True)
                    if line.strip() not in _CHATTER]
            if kept:
                sys.stderr.write("".join(kept))


def _allocated(it: Interpreter) -> Interpreter:
    it.allocate_tensors()
    return it


class LiteRTStage:
    """A segment loaded into a LiteRT interpreter; tensors are addressed by name.

    ``invoke()`` releases the GIL, so stages in different threads run in parallel.
    """

    def __init__(self, model: bytes, num_threads: int = 1,
                 delegates: list[Any] | None = None, source: str = "<segment>") -> None:
        try:
            self.interpreter = interpreter(model_content=model, num_threads=num_threads,
                                           experimental_delegates=delegates)
        except (ValueError, RuntimeError) as exc:
            raise TpusplitError(f"{source}: LiteRT cannot load the model "
                                f"({first_line(exc)})") from None
        self.source = source
        self._inputs = {d["name"]: d for d in self.interpreter.get_input_details()}
        self._outputs = {d["name"]: d for d in self.interpreter.get_output_details()}
        self.input_names: tuple[str, ...] = tuple(self._inputs)
        self.output_names: tuple[str, ...] = tuple(self._outputs)

    def input_spec(self, name: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
        """Shape and dtype of input ``name``."""
        d = self._inputs[name]
        return tuple(int(x) for x in d["shape"]), np.dtype(d["dtype"])

    def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Set every input by name, invoke, and return copies of every output by name."""
        it = self.interpreter
        for name, d in self._inputs.items():
            try:
                it.set_tensor(d["index"], feeds[name])
            except KeyError:
                raise TpusplitError(f"no value for input tensor {name!r}") from None
            except ValueError as exc:  # wrong shape or dtype
                raise TpusplitError(f"{self.source}: input {name!r}: {first_line(exc)}") \
                    from None
        it.invoke()
        return {name: it.get_tensor(d["index"]) for name, d in self._outputs.items()}


def all_tensors(model: bytes, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run the whole model once and return EVERY tensor it computed, by name.

    The bit-exactness oracle: a split is right when every tensor crossing a cut and every
    output equal the whole model's (final outputs alone can be degenerate, e.g. a saturated
    softmax of a model with random weights). Uses LiteRT's ``preserve_all_tensors`` mode.
    Tensors whose name the model repeats are left out.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = interpreter(model_content=model, experimental_preserve_all_tensors=True)
    for d in it.get_input_details():
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    details = it.get_tensor_details()
    counts: dict[str, int] = {}
    for d in details:
        counts[d["name"]] = counts.get(d["name"], 0) + 1
    out = {}
    for d in details:
        if counts[d["name"]] == 1:
            try:
                out[d["name"]] = it.get_tensor(d["index"])
            except ValueError:  # tensors with no data (e.g. unused optional)
                continue
    return out


class LiteRTBackend(Backend):
    """CPU backend: ``num_threads`` LiteRT threads per segment."""

    name = "cpu"

    def __init__(self, num_threads: int = 1) -> None:
        self.num_threads = num_threads

    def load(self, model: bytes, device: int = 0) -> LiteRTStage:
        """Load a segment (``device`` is ignored: every CPU stage shares the cores)."""
        return LiteRTStage(model, num_threads=self.num_threads)
