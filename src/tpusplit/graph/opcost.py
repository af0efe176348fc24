"""Arithmetic work of one operator: MACs for the matrix ops, element operations for the rest.

Conventions (per inference, batch included):

* ``CONV_2D``: ``out_elems * kh * kw * in_c_per_group``
* ``DEPTHWISE_CONV_2D``: ``out_elems * kh * kw``
* ``FULLY_CONNECTED``: ``out_elems * in_features``
* ``TRANSPOSE_CONV``: ``in_elems * kh * kw * out_c`` (each input scatters to a kh x kw x out_c
  patch)
* ``BATCH_MATMUL``: ``out_elems * k``
* pooling: ``out_elems * fh * fw`` window reads (its own unit, not MACs);
  ``MEAN``/``SUM``/reductions: one read per input element;
  element-wise and everything else that moves data: one per output element.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ai_edge_litert import schema_py_generated as schema

#: Ops whose work is counted in MACs.
MAC_OPS = frozenset(
    {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL",
     "CONV_3D"}
)
POOL_OPS = frozenset({"AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D"})
REDUCE_OPS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"})
#: Ops that only reinterpret or move a tensor: no arithmetic counted.
FREE_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
#: Inputs tpusplit reads of these ops (their shapes size the work, or the host's part of a
#: compiled model): a model whose op has fewer is refused when read.
NEEDED_INPUTS: dict[str, int] = {"CONV_2D": 2, "CONV_3D": 2, "DEPTHWISE_CONV_2D": 2,
                                 "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3, "BATCH_MATMUL": 2,
                                 "QUANTIZE": 1, "DEQUANTIZE": 1}


def work_problem(name: str, options: object, inputs: Sequence[int]) -> str | None:
    """Why :func:`op_work` cannot size an op of type ``name`` with these input tensor
    indices (-1: absent) and options, or None when it can."""
    need = NEEDED_INPUTS.get(name, 0)
    present = [i for i in inputs[:need] if i >= 0]
    if len(inputs) < need or len(present) < need:
        return f"{name} needs {need} input(s), has {len(present)}"
    if name in POOL_OPS and not isinstance(options, schema.Pool2DOptionsT):
        return f"{name} has no Pool2DOptions"
    return None


def _elems(shape: Sequence[int] | None) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape is not None and len(shape) else 1


def op_work(
    name: str,
    options: object,
    in_shapes: Sequence[Sequence[int] | None],
    out_shapes: Sequence[Sequence[int] | None],
) -> tuple[int, int]:
    """Return ``(macs, element_ops)`` of one operator from its name, options and shapes.

    ``in_shapes`` follows the operator's input order (``None`` for an absent optional input).
    Complexity O(1) per operator.
    """
    out = _elems(out_shapes[0]) if out_shapes else 0
    if name == "CONV_2D" or name == "CONV_3D":
        w = in_shapes[1] or []
        return out * _elems(w[1:]), 0
    if name == "DEPTHWISE_CONV_2D":
        w = in_shapes[1] or []
        return out * _elems(w[1:3]), 0
    if name == "FULLY_CONNECTED":
        w = in_shapes[1] or []
        return out * (int(w[-1]) if len(w) else 1), 0
    if name == "TRANSPOSE_CONV":
        w = in_shapes[1] or []
        return _elems(in_shapes[2]) * _elems(w[:3]), 0
    if name == "BATCH_MATMUL":
        a = in_shapes[0] or []
        adj_x = bool(getattr(options, "adjX", False)) and len(a) >= 2
        k = int(a[-2] if adj_x else a[-1]) if len(a) else 1
        return out * k, 0
    if name in POOL_OPS:
        if not isinstance(options, schema.Pool2DOptionsT):
            raise ValueError(f"{name} without Pool2DOptions")
        return 0, out * max(1, options.filterHeight) * max(1, options.filterWidth)
    if name in REDUCE_OPS:
        return 0, _elems(in_shapes[0]) if in_shapes else out
    if name in FREE_OPS:
        return 0, 0
    return 0, out
