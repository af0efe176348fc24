"""How the latency predictors see a segment: one token per op and a fixed-length vector.

A token describes one op of segment ``[start, end)`` of a graph: its type (one-hot), its work
(MACs, element ops), its bytes (parameters, activations in and out), output shape, kernel area
and stride, its position in the segment and in the model, and how many bytes cross the
segment's boundary into or out of it (the stage's host I/O). All sizes enter as ``log1p`` so
tokens stay in a small numeric range. :meth:`SegmentEncoder.vector` aggregates the same
information into a fixed-length vector (per-type op counts and MACs, totals, boundary bytes)
for models that take one (gradient-boosted trees). (Not to be confused with the Edge TPU
model's ``Features``, the terms its latency is linear in.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tpusplit.graph import Graph

#: Op types with their own one-hot slot; anything else is ``OTHER``.
OP_TYPES: tuple[str, ...] = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "CONCATENATION", "MAX_POOL_2D",
    "AVERAGE_POOL_2D", "MEAN", "RESHAPE", "SOFTMAX", "TANH", "QUANTIZE", "DEQUANTIZE", "MUL",
    "PAD", "OTHER",
)
_TYPE_INDEX = {name: i for i, name in enumerate(OP_TYPES)}

#: Names of the numeric token fields after the one-hot op type.
TOKEN_FIELDS: tuple[str, ...] = (
    "log_macs", "log_element_ops", "log_param_bytes", "log_in_bytes", "log_out_bytes",
    "log_out_h", "log_out_w", "log_out_c", "log_in_c", "log_kernel_area", "log_stride",
    "log_boundary_in_bytes", "log_boundary_out_bytes", "pos_in_segment", "is_first",
    "is_last", "pos_in_model", "log_segment_len",
)
TOKEN_NAMES: tuple[str, ...] = tuple(f"type_{t}" for t in OP_TYPES) + TOKEN_FIELDS
TOKEN_DIM = len(TOKEN_NAMES)

#: Names of the entries of :func:`segment_vector`.
SEGMENT_NAMES: tuple[str, ...] = (
    tuple(f"count_{t}" for t in OP_TYPES)
    + tuple(f"log_macs_{t}" for t in OP_TYPES)
    + ("log_macs", "log_element_ops", "log_param_bytes", "log_act_bytes", "log_in_bytes",
       "log_out_bytes", "n_inputs", "n_outputs", "n_ops", "start_frac", "end_frac",
       "log_max_out_bytes", "log_max_param_bytes")
)
SEGMENT_DIM = len(SEGMENT_NAMES)


def _hwc(shape: Sequence[int]) -> tuple[int, int, int]:
    """Height, width and channels of an NHWC shape (1, 1, last dim for other ranks)."""
    if len(shape) == 4:
        return int(shape[1]), int(shape[2]), int(shape[3])
    return 1, 1, int(shape[-1]) if shape else 1


class SegmentEncoder:
    """Encodes segments of one graph for the predictors, with per-graph precomputation.

    Static per-op token fields and prefix sums of per-op totals. Building it is O(n + T); a
    segment's vector then costs O(tensors crossing its ends + segment length), its tokens
    O(segment length).
    """

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        n = self.n = len(graph.ops)
        tensors = graph.tensors
        k = len(OP_TYPES)
        self.type_index = np.array([_TYPE_INDEX.get(op.name, _TYPE_INDEX["OTHER"])
                                    for op in graph.ops], dtype=np.int64)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), self.type_index] = 1.0
        macs = np.array([op.macs for op in graph.ops], dtype=np.float64)
        self.macs_by_type = np.vstack([np.zeros(k), np.cumsum(onehot * macs[:, None], axis=0)])
        self.count_by_type = np.vstack([np.zeros(k), np.cumsum(onehot, axis=0)])
        self.element = np.concatenate([[0.0], np.cumsum([op.element_ops for op in graph.ops])])
        self.params = np.array([op.param_bytes for op in graph.ops], dtype=np.float64)
        self.out_bytes = np.array([op.output_bytes for op in graph.ops], dtype=np.float64)
        self.cum_params = np.concatenate([[0.0], np.cumsum(self.params)])
        self.cum_out = np.concatenate([[0.0], np.cumsum(self.out_bytes)])
        # static token fields
        static = np.zeros((n, k + 11), dtype=np.float32)
        static[:, :k] = onehot
        for op in graph.ops:
            ins = [t for t in op.inputs if not tensors[t].constant]
            consts = [t for t in op.inputs if tensors[t].constant]
            oh, ow, oc = _hwc(tensors[op.outputs[0]].shape) if op.outputs else (1, 1, 1)
            ih, _, ic = _hwc(tensors[ins[0]].shape) if ins else (oh, ow, oc)
            kernel_area = 1
            if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D") and consts:
                w = tensors[consts[0]].shape
                kernel_area = int(w[1] * w[2]) if len(w) == 4 else 1
            static[op.index, k:] = np.log1p([
                op.macs, op.element_ops, op.param_bytes,
                sum(tensors[t].nbytes for t in ins), op.output_bytes, oh, ow, oc, ic,
                kernel_area, max(1, ih // max(oh, 1))])
        self.static = static

    def vector(self, a: int, b: int) -> np.ndarray:
        """Fixed-length vector ``(SEGMENT_DIM,)`` of segment ``[a, b)``."""
        ins, outs = self.graph.segment_io(a, b)
        tensors = self.graph.tensors
        macs = self.macs_by_type[b] - self.macs_by_type[a]
        return np.concatenate([
            self.count_by_type[b] - self.count_by_type[a], np.log1p(macs),
            np.log1p([macs.sum(), self.element[b] - self.element[a],
                      self.cum_params[b] - self.cum_params[a], self.cum_out[b] - self.cum_out[a],
                      sum(tensors[t].nbytes for t in ins), sum(tensors[t].nbytes for t in outs)]),
            [len(ins), len(outs), b - a, a / self.n, b / self.n],
            np.log1p([self.out_bytes[a:b].max(), self.params[a:b].max()]),
        ])

    def tokens(self, a: int, b: int) -> np.ndarray:
        """Token matrix ``(b - a, TOKEN_DIM)`` (float32) of segment ``[a, b)``."""
        ins_ids, outs_ids = self.graph.segment_io(a, b)
        ins, outs = set(ins_ids), set(outs_ids)
        length = b - a
        tok = np.zeros((length, TOKEN_DIM), dtype=np.float32)
        s = self.static.shape[1]
        tok[:, :s] = self.static[a:b]
        g = self.graph
        b_in = np.zeros(length)
        b_out = np.zeros(length)
        for i, op in enumerate(g.ops[a:b]):
            b_in[i] = sum(g.tensors[t].nbytes for t in op.inputs if t in ins)
            b_out[i] = sum(g.tensors[t].nbytes for t in op.outputs if t in outs)
        pos = np.arange(length)
        tok[:, s] = np.log1p(b_in)
        tok[:, s + 1] = np.log1p(b_out)
        tok[:, s + 2] = pos / length
        tok[:, s + 3] = pos == 0
        tok[:, s + 4] = pos == length - 1
        tok[:, s + 5] = (a + pos) / self.n
        tok[:, s + 6] = np.log1p(length)
        return tok


def op_tokens(graph: Graph, start: int, end: int) -> np.ndarray:
    """Token matrix ``(end - start, TOKEN_DIM)`` (float32) of segment ``[start, end)``."""
    return SegmentEncoder(graph).tokens(start, end)


def segment_vector(graph: Graph, start: int, end: int) -> np.ndarray:
    """Fixed-length feature vector ``(SEGMENT_DIM,)`` of segment ``[start, end)``."""
    return SegmentEncoder(graph).vector(start, end)
