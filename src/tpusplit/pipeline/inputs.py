"""Inputs of a pipeline: the names and shapes it takes, random inputs, inputs from files.

Every pipeline input is described by a *spec*, ``name -> (shape, dtype)``: from the model
(:func:`model_specs`) or from the loaded stages (:func:`stage_specs`). :func:`random_feeds`
draws inputs for any spec; :func:`read_inputs` reads .npy/.npz files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.errors import TpusplitError, first_line
from tpusplit.graph import Graph, unique_names
from tpusplit.pipeline.backend import Backend, Stage

Feeds = dict[str, np.ndarray]
#: Input name -> (shape, dtype).
Specs = Mapping[str, tuple[tuple[int, ...], np.dtype[Any]]]


def model_specs(graph: Graph) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """The model's inputs, named as its segments name them."""
    names = unique_names(graph)
    return {names[t]: (graph.tensors[t].shape, np.dtype(graph.tensors[t].dtype))
            for t in graph.inputs}


def stage_specs(stages: Sequence[Stage], names: Sequence[str]
                ) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """The spec of each of ``names`` from the first stage that reads it."""
    out = {}
    for name in names:
        stage = next((st for st in stages if name in st.input_names), None)
        if stage is None:
            raise TpusplitError(f"no stage reads {name!r}")
        out[name] = stage.input_spec(name)
    return out


def random_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype[Any]
                 ) -> np.ndarray:
    """A random tensor: uniform in [-1, 1) for floats, the full range for integers."""
    if np.issubdtype(dtype, np.floating):
        return rng.uniform(-1, 1, size=shape).astype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype)


def random_feeds(source: Graph | Specs, count: int, seed: int = 0) -> list[Feeds]:
    """``count`` random inputs for a spec or a model's inputs (see :func:`random_array`),
    from one generator seeded with ``seed`` (>= 0)."""
    if seed < 0:
        raise TpusplitError(f"the seed must be >= 0, got {seed}")
    specs = model_specs(source) if isinstance(source, Graph) else source
    rng = np.random.default_rng(seed)
    return [{name: random_array(rng, *spec) for name, spec in specs.items()}
            for _ in range(count)]


def read_segments(paths: Sequence[Path], backend: Backend) -> list[Stage]:
    """Load segment files, in pipeline order, as stages of ``backend`` (segment i on device
    i); a one-line error for an unreadable file or a segment that uses nothing before it."""
    stages = []
    for i, p in enumerate(paths):
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise TpusplitError(f"{p}: cannot read ({exc.strerror or 'no such file'})") from None
        stages.append(backend.load(data, i))
    produced: set[str] = set()
    for i, st in enumerate(stages):
        if i and not produced & set(st.input_names):
            raise TpusplitError(f"{paths[i]}: uses nothing the segments before it produce; "
                                "give the segments in pipeline order")
        produced.update(st.output_names)
    return stages


def _coerce(arr: np.ndarray, shape: tuple[int, ...], dtype: np.dtype[Any], source: str,
            name: str) -> list[np.ndarray]:
    """A file's array as a list of inputs of ``shape``: one input, or a batch of them."""
    if arr.shape == shape:
        items = [arr]
    elif arr.shape[1:] == shape:
        items = list(arr)
    elif len(shape) and shape[0] == 1 and arr.shape[1:] == shape[1:]:
        items = [a[None] for a in arr]
    else:
        raise TpusplitError(f"{source}: {name!r} has shape {arr.shape}; expected {shape} or a "
                            f"batch of them")
    if arr.dtype != dtype:
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            if arr.size and (arr.min() < info.min or arr.max() > info.max
                             or not np.issubdtype(arr.dtype, np.integer)):
                raise TpusplitError(f"{source}: {name!r} is {arr.dtype}; expected {dtype} values")
        items = [a.astype(dtype) for a in items]
    return items


def read_inputs(path: Path, specs: Specs) -> list[Feeds]:
    """Inputs named like ``specs`` from an .npy (single-input models), an .npz (keys = input
    names) or a directory of them (sorted by name); each file holds one input or a batch,
    cast to the input's dtype when the values fit. One-line errors name the file."""
    names = tuple(specs)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".npy", ".npz"))
        if not files:
            raise TpusplitError(f"{path}: no .npy or .npz files in the directory")
        return [f for p in files for f in read_inputs(p, specs)]
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
        if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):
            raise ValueError("not an .npy or .npz file")
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or first_line(exc)
        raise TpusplitError(f"{path}: cannot read inputs ({why})") from None
    if isinstance(loaded, np.ndarray):
        if len(names) != 1:
            raise TpusplitError(f"{path}: the model has {len(names)} inputs; give an .npz with "
                                f"keys {', '.join(names)}")
        arrays = {names[0]: loaded}
    else:
        with loaded:
            missing = [n for n in names if n not in loaded.files]
            if missing:
                raise TpusplitError(f"{path}: no array named {missing[0]!r} (the model's inputs: "
                                    f"{', '.join(names)})")
            arrays = {n: loaded[n] for n in names}
    columns = {n: _coerce(a, *specs[n], str(path), n) for n, a in arrays.items()}
    counts = {len(v) for v in columns.values()}
    if len(counts) != 1:
        raise TpusplitError(f"{path}: the inputs have different batch sizes {sorted(counts)}")
    return [{n: columns[n][k] for n in names} for k in range(counts.pop())]
