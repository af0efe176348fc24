"""Real compiled Edge TPU files (data/edgetpu-community): the compiler's figures, their graphs.

``compiled_graphs.csv`` holds what Coral's ``edgetpu_compiler`` decided for 47 real
``*_edgetpu.tflite`` files: the parameter bytes it cached on chip and streamed (MiB), its
estimate of cycles (where that compiler recorded it), and how many ops stayed on the CPU.
:func:`read_compiled` reads the rows; :func:`match` says which graph each row was compiled from:

- ``original``: the uncompiled file itself (``data/edgetpu-community/models``, or
  ``data/coral-reference/models`` for the MobileNet classifiers), from google-coral/test_data;
  the files of google-coral/edgetpu's ``test_data/`` are taken to be compiled from the same
  graphs;
- ``same name``: a file of the same name from Coral (a copy in another repository);
- ``stand-in``: another file of the same network (e.g. PoseNet at another input size: the
  original graph with its input resized, shapes propagated by LiteRT);
- ``rebuild``: the architecture rebuilt layer for layer (:mod:`tpusplit.models.slim`) with
  random weights, for files whose uncompiled graph is not public.

Rows that cannot be matched say why (:func:`exclusion`): co-compiled files (they share the
cache with models the row does not name) and networks with no graph or rebuild here.

:func:`edgetpu_graph` is the row's Edge TPU part (:mod:`tpusplit.graph.edgetpu_part`) as a
:class:`~tpusplit.graph.Graph`: what the compiler's figures are about.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tpusplit.errors import TpusplitError, read_text
from tpusplit.files import data_dir
from tpusplit.graph import Graph, load
from tpusplit.graph.edgetpu_part import edgetpu_part
from tpusplit.graph.tflite import parse, serialize
from tpusplit.models import slim

_COLUMNS = ("compiled_file", "edgetpu_input_yxz", "on_chip_mib", "off_chip_mib",
            "compiler_estimated_cycles", "tflite_ops", "cpu_ops", "source")


def community_dir() -> Path:
    """``data/edgetpu-community`` of the data directory."""
    return data_dir() / "edgetpu-community"


@dataclass(frozen=True, slots=True)
class CompiledRow:
    """One compiled file: the compiler's figures for it.

    Attributes:
        compiled_file: path of the ``*_edgetpu.tflite`` file in its repository.
        input_hwc: the Edge TPU part's input (height, width, channels).
        on_chip_mib, off_chip_mib: parameters cached on chip / streamed at every inference.
        cycles: the compiler's estimate of cycles per inference (None where not recorded).
        tflite_ops: ops of the compiled file (the Edge TPU op and the CPU ops).
        cpu_ops: ops left on the CPU.
        source: where the figures come from (repository, commit, file).
    """

    compiled_file: str
    input_hwc: tuple[int, int, int]
    on_chip_mib: float
    off_chip_mib: float
    cycles: int | None
    tflite_ops: int
    cpu_ops: int
    source: str

    @property
    def stem(self) -> str:
        """The file name without directory and ``_edgetpu.tflite``."""
        return Path(self.compiled_file).name.removesuffix("_edgetpu.tflite")

    @property
    def compiler(self) -> str:
        """The repository and commit the file was taken from (stands for the compiler version)."""
        m = re.search(r"github (\S+) @(\w+)", self.source)
        return f"{m.group(1)}@{m.group(2)}" if m else self.source

    @property
    def cocompiled(self) -> bool:
        """Compiled together with other models (they share the on-chip memory)."""
        return "_cocompiled_with_" in self.stem

    @property
    def total_mib(self) -> float:
        """All parameter bytes the compiler placed, on chip or off."""
        return self.on_chip_mib + self.off_chip_mib


def read_compiled(path: str | Path | None = None) -> list[CompiledRow]:
    """Rows of ``compiled_graphs.csv`` (default: the repository's), in file order.

    Raises :class:`TpusplitError` naming the file and line for a missing file, wrong columns
    or a value that is not a number.
    """
    p = Path(path) if path is not None else community_dir() / "compiled_graphs.csv"
    text = read_text(p, "compiled-graphs CSV")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(rows[0]) != _COLUMNS:
        raise TpusplitError(f"{p}: expected the columns {','.join(_COLUMNS)}")
    out = []
    for line, rec in enumerate(rows[1:], start=2):
        if not rec:
            continue
        if len(rec) != len(_COLUMNS):
            raise TpusplitError(f"{p}: line {line}: expected {len(_COLUMNS)} fields, "
                                f"got {len(rec)}")
        try:
            hwc = tuple(int(v) for v in rec[1].split("x"))
            if len(hwc) != 3:
                raise ValueError
            out.append(CompiledRow(rec[0], (hwc[0], hwc[1], hwc[2]), float(rec[2]),
                                   float(rec[3]), int(rec[4]) if rec[4] else None,
                                   int(rec[5]), int(rec[6]), rec[7]))
        except ValueError:
            raise TpusplitError(f"{p}: line {line}: a figure is not a number") from None
    return out


@dataclass(frozen=True)
class GraphMatch:
    """The graph a compiled row is compared with.

    ``kind`` is ``original``, ``same name``, ``stand-in`` or ``rebuild`` (module docstring);
    ``what`` says which file or rebuild; ``build`` returns the uncompiled model's bytes;
    ``resize`` is the input (h, w, c) its Edge TPU part is resized to, if any.
    """

    kind: str
    what: str
    build: Callable[[], bytes]
    resize: tuple[int, int, int] | None = None


def _file(folder: str, name: str) -> Callable[[], bytes]:
    def read() -> bytes:
        return (data_dir() / folder / "models" / f"{name}.tflite").read_bytes()
    return read


_COMMUNITY = "edgetpu-community"
_CORAL = "coral-reference"
_ORIGINALS = {
    "mobilenet_v1_0.25_128_quant": _CORAL, "mobilenet_v1_0.5_160_quant": _CORAL,
    "mobilenet_v1_0.75_192_quant": _CORAL, "mobilenet_v2_1.0_224_quant": _CORAL,
    "mobilenet_v1_1.0_224_quant_embedding_extractor": _COMMUNITY,
    "mobilenet_v2_1.0_224_inat_bird_quant": _COMMUNITY,
    "deeplabv3_mnv2_dm05_pascal_quant": _COMMUNITY, "deeplabv3_mnv2_pascal_quant": _COMMUNITY,
    "deeplab_mobilenet_edgetpu_slim_cityscapes_quant": _COMMUNITY,
    "movenet_single_pose_lightning_ptq": _COMMUNITY,
    "bodypix_mobilenet_v1_075_512_512_16_quant_decoder": _COMMUNITY,
    "posenet_mobilenet_v1_075_353_481_16_quant_decoder": _COMMUNITY,
}
_POSENET = "posenet_mobilenet_v1_075_353_481_16_quant_decoder"
#: Classes of the rebuild of Coral's iNaturalist insect classifier (not checked against its label
#: file: any count from 961 to 1024 pads to the same 1024 channels, on chip and in fc tiles).
INAT_INSECT_CLASSES = 1022


def match(row: CompiledRow) -> GraphMatch | None:
    """The graph row ``row`` is compared with, or None (see :func:`exclusion`)."""
    stem = row.stem
    if row.cocompiled:
        return None
    if stem in _ORIGINALS:
        folder = _ORIGINALS[stem]
        if not row.compiler.startswith("google-coral/"):
            return GraphMatch("same name", f"Coral's {stem}.tflite (data/{folder}/models)",
                              _file(folder, stem))
        return GraphMatch("original", f"data/{folder}/models/{stem}.tflite", _file(folder, stem))
    h, w, _ = row.input_hwc
    if stem.startswith("posenet_mobilenet_v1_075_"):
        return GraphMatch("stand-in", f"{_POSENET}.tflite, Edge TPU part resized to {h}x{w}",
                          _file(_COMMUNITY, _POSENET), row.input_hwc)
    if stem == "mobilenet_quant_v1_224_feature_layers":
        return GraphMatch("stand-in", "mobilenet_v1_1.0_224_quant_embedding_extractor.tflite "
                          "(MobileNet v1 1.0 224 without its classifier)",
                          _file(_COMMUNITY, "mobilenet_v1_1.0_224_quant_embedding_extractor"))
    if stem == "mobilenet_v2_1.0_224_inat_insect_quant":
        return GraphMatch("rebuild", f"slim.mobilenet_v2_dense(224, classes="
                          f"{INAT_INSECT_CLASSES}) (the bird model's layers, the insect "
                          "label count)",
                          lambda: slim.mobilenet_v2_dense(224, classes=INAT_INSECT_CLASSES))
    m = re.fullmatch(r"model_mobilenet_v2_(w|wo)_fc_(\d+)x(\d+)x3", stem)
    if m:
        classes = 1000 if m.group(1) == "w" else None
        return GraphMatch("rebuild", f"slim.mobilenet_v2_dense({h}, {w}, classes={classes}) "
                          "(Keras MobileNetV2, " + ("with" if classes else "without")
                          + " its classifier)",
                          lambda: slim.mobilenet_v2_dense(h, w, classes=classes))
    return None


def exclusion(row: CompiledRow) -> str:
    """Why row ``row`` is not compared (empty if it is)."""
    if match(row) is not None:
        return ""
    if row.cocompiled:
        return ("co-compiled: shares the on-chip memory with other models (not all of them "
                "named or available), which the caching rule does not model")
    return "no uncompiled graph or rebuild of this network in the repository"


def resize_input(data: bytes, hwc: tuple[int, int, int]) -> bytes:
    """The model with its (single) input resized to ``1 x h x w x c``: every tensor's shape
    is propagated by LiteRT's builtin kernels (fully convolutional models only)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType
                     .BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    inputs = it.get_input_details()
    if len(inputs) != 1:
        raise TpusplitError("resize_input: the model must have one input")
    it.resize_tensor_input(inputs[0]["index"], [1, *hwc], strict=False)
    it.allocate_tensors()
    shapes = {d["index"]: d["shape"] for d in it.get_tensor_details()}
    model = parse(data, "resize_input")
    for k, t in enumerate(model.subgraphs[0].tensors):
        if k in shapes and t.shape is not None and len(t.shape) == len(shapes[k]):
            t.shape = np.asarray(shapes[k], dtype=np.int32)
    return serialize(model)


_GRAPHS: dict[str, tuple[Graph, int]] = {}


def edgetpu_graph(row: CompiledRow) -> tuple[Graph, int]:
    """The Edge TPU part of the row's matched graph and the number of ops left on the CPU.

    Graphs are kept per match for the process. Raises :class:`TpusplitError` for a row with
    no match.
    """
    m = match(row)
    if m is None:
        raise TpusplitError(f"{row.compiled_file}: {exclusion(row)}")
    if m.what not in _GRAPHS:
        part, cpu = edgetpu_part(m.build(), m.what)
        if m.resize is not None:
            part = resize_input(part, m.resize)
        _GRAPHS[m.what] = (load(part, name=row.stem), cpu)
    return _GRAPHS[m.what]
