"""Features of a contiguous segment: one token per op (for sequence models) and a fixed vector.

A token describes one op of segment ``[start, end)`` of a graph: its type (one-hot), its work
(MACs, element ops), its bytes (parameters, activations in and out), output shape, kernel area
and stride, its position in the segment and in the model, and how many bytes cross the
segment's boundary into or out of it (the stage's host I/O). All sizes enter as ``log1p`` so
tokens stay in a small numeric range. :func:`segment_vector` aggregates the same information
into a fixed-length vector (per-type op counts and MACs, totals, boundary bytes) for models
that take one (gradient-boosted trees).
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


class GraphFeatures:
    """Per-graph precomputation so features of many segments of one graph are cheap.

    Static per-op token fields, prefix sums of per-op totals, and each activation tensor's
    producer and consumers. Building it is O(n + T); a segment's vector or tokens then cost
    O(segment length + T).
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
        # activation tensors: producer op (-1 for model inputs), consumers, bytes
        producer: dict[int, int] = {t: -1 for t in graph.inputs}
        consumers: dict[int, list[int]] = {}
        for op in graph.ops:
            for t in op.outputs:
                producer[t] = op.index
            for t in op.inputs:
                if not tensors[t].constant:
                    consumers.setdefault(t, []).append(op.index)
        outputs = set(graph.outputs)
        acts = sorted(set(producer) | set(consumers))
        self._act_ids = acts
        self._producer = np.array([producer.get(t, -1) for t in acts], dtype=np.int64)
        self._first_use = np.array([min(consumers.get(t, [n + 1])) for t in acts])
        self._last_use = np.array([n + 1 if t in outputs else max(consumers.get(t, [-1]))
                                   for t in acts])
        self._uses = [np.array(sorted(consumers.get(t, [])), dtype=np.int64) for t in acts]
        self._nbytes = np.array([tensors[t].nbytes for t in acts], dtype=np.float64)
        self._row = {t: i for i, t in enumerate(acts)}
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

    def _inputs_outputs(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Boolean masks over activation tensors: entering / leaving segment ``[a, b)``."""
        p = self._producer
        maybe_in = (p < a) & (self._last_use >= a) & (self._first_use < b)
        ins = np.zeros(len(p), dtype=bool)
        for i in np.flatnonzero(maybe_in):
            u = self._uses[i]
            j = np.searchsorted(u, a)
            ins[i] = j < len(u) and u[j] < b
        outs = (p >= a) & (p < b) & (self._last_use >= b)
        return ins, outs

    def vector(self, a: int, b: int) -> np.ndarray:
        """Fixed-length vector ``(SEGMENT_DIM,)`` of segment ``[a, b)``."""
        ins, outs = self._inputs_outputs(a, b)
        macs = self.macs_by_type[b] - self.macs_by_type[a]
        return np.concatenate([
            self.count_by_type[b] - self.count_by_type[a], np.log1p(macs),
            np.log1p([macs.sum(), self.element[b] - self.element[a],
                      self.cum_params[b] - self.cum_params[a], self.cum_out[b] - self.cum_out[a],
                      self._nbytes[ins].sum(), self._nbytes[outs].sum()]),
            [int(ins.sum()), int(outs.sum()), b - a, a / self.n, b / self.n],
            np.log1p([self.out_bytes[a:b].max(), self.params[a:b].max()]),
        ])

    def tokens(self, a: int, b: int) -> np.ndarray:
        """Token matrix ``(b - a, TOKEN_DIM)`` (float32) of segment ``[a, b)``."""
        ins, outs = self._inputs_outputs(a, b)
        length = b - a
        tok = np.zeros((length, TOKEN_DIM), dtype=np.float32)
        s = self.static.shape[1]
        tok[:, :s] = self.static[a:b]
        g = self.graph
        b_in = np.zeros(length)
        b_out = np.zeros(length)
        for i, op in enumerate(g.ops[a:b]):
            for t in op.inputs:
                r = self._row.get(t)
                if r is not None and ins[r]:
                    b_in[i] += self._nbytes[r]
            for t in op.outputs:
                r = self._row.get(t)
                if r is not None and outs[r]:
                    b_out[i] += self._nbytes[r]
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
    return GraphFeatures(graph).tokens(start, end)


def segment_vector(graph: Graph, start: int, end: int) -> np.ndarray:
    """Fixed-length feature vector ``(SEGMENT_DIM,)`` of segment ``[start, end)``."""
    return GraphFeatures(graph).vector(start, end)
