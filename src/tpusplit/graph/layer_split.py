"""Cut inside a layer: split a convolution or fully-connected op by output channels into slices.

An Edge TPU caches parameters a whole layer at a time, and every partitioner cuts between
layers, so one layer larger than the cache always streams. Output channels are independent:
output channel ``c`` of ``CONV_2D`` and ``FULLY_CONNECTED`` reads every input channel and only
filter ``c``; of ``DEPTHWISE_CONV_2D`` it reads input channel ``c // depth_multiplier`` and
filter column ``c``. :func:`split_layers` replaces an op, in place in execution order, by
``k`` ops that each compute a contiguous range of output channels (weights, bias and
per-channel quantization sliced; the original output's scale and zero point, fused activation,
stride, padding and dilation kept), then one ``CONCATENATION`` along the last axis that writes
the original output tensor, by name and quantization. Each slice computes its channels with
the same integer arithmetic (int32 accumulation, the channel's own requantization multiplier)
and the concatenation of tensors already at the output's scale and zero point is a plain copy,
so the rewritten model is bit-exact with the original. A depthwise slice reads only its input
channels, cut out by one ``SLICE`` per slice, all placed before the depthwise slices (a cut
between two slices then carries the remaining input slices, not the whole input).

Edge TPU compiler (Coral, "TensorFlow models on the Edge TPU", supported operations; quoted
from the documentation, not checked against a compiler here):

* ``CONCATENATION`` is supported with no fused activation and no constant inputs (the only
  constant input allowed is an all-zero pad); ours has neither. Its inputs carry the output's
  scale and zero point, so it requantizes nothing.
* ``SLICE`` is supported with no listed limitation; ``SPLIT`` only in equal parts and not in
  the batch dimension; ``STRIDED_SLICE`` with unit strides and no ellipsis or new-axis masks;
  ``SPLIT_V`` is not in the list (it would run on the CPU and cut the Edge TPU subgraph in
  two). Hence ``SLICE``: supported, any slice width, one op per slice.
* ``CONV_2D`` needs equal dilation in x and y, ``DEPTHWISE_CONV_2D`` likewise (compiler 13+);
  the slices keep the original's. ``FULLY_CONNECTED``: default weight format only, and a
  one-dimensional output: one with more than one row does not map, split or not.
* Tensors: only the three innermost dimensions may exceed 1.
* Channel multiples: the Edge TPU's systolic array is reported as 64 wide, so
  :func:`propose` cuts at multiples of 64 output channels by default (any positive
  granularity is accepted); Coral documents no such multiple.

Not verifiable without the real compiler (the stand-in in ``tests/fixtures`` checks no ops):
that every slice and the concatenation map to the Edge TPU in one subgraph, that the compiler
caches each slice as its own layer (the point of the rewrite), that it does not fuse the
slices back, what the concatenation costs on the device, and any channel-alignment penalty.

Reference: TFLite's integer kernels (``tensorflow/lite/kernels/internal/reference/integer_ops``)
for the per-channel arithmetic; Coral's compiler documentation for the op limits.

Size: over 400 lines because one rewrite (slice weights, biases and quantisation, wire the
concatenation) whose TFLite bookkeeping is shared by every op type it handles.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph.graph import Graph, load
from tpusplit.graph.slicing import unique_names
from tpusplit.graph.tflite import DTYPES, GraphError, serialize

#: The ops :func:`split_layers` splits, with the axis of their weights that holds output
#: channels (weights ``[out, kh, kw, in]``, ``[1, kh, kw, out]``, ``[out, in]``).
SPLITTABLE: dict[str, int] = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}
#: Default slice granularity of :func:`propose`: the Edge TPU array width, in channels.
EDGETPU_CHANNELS = 64

_OP = schema.BuiltinOperator
_QUANTIZED = frozenset({schema.TensorType.INT8, schema.TensorType.UINT8})
#: Operator versions the TFLite converter writes for 8-bit kernels (``op_version.cc``).
_VERSIONS = {(_OP.CONCATENATION, schema.TensorType.INT8): 2,
             (_OP.CONCATENATION, schema.TensorType.UINT8): 1,
             (_OP.SLICE, schema.TensorType.INT8): 2,
             (_OP.SLICE, schema.TensorType.UINT8): 1}


@dataclass(frozen=True, slots=True)
class LayerSplit:
    """Split op ``op`` (an index of the original graph) at output channels ``boundaries``.

    ``boundaries`` are the inner cuts: ``(256, 512)`` of a 768-channel layer makes the slices
    ``[0, 256)``, ``[256, 512)`` and ``[512, 768)``. JSON form: ``{"op": 12, "boundaries":
    [256, 512]}`` (:meth:`to_json`, :meth:`from_json`).
    """

    op: int
    boundaries: tuple[int, ...]

    @property
    def count(self) -> int:
        """Number of slices."""
        return len(self.boundaries) + 1

    def slices(self, channels: int) -> list[tuple[int, int]]:
        """The ``[start, end)`` channel range of every slice of a ``channels``-channel layer."""
        edges = [0, *self.boundaries, channels]
        return list(itertools.pairwise(edges))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``{"op": int, "boundaries": [int, ...]}``."""
        return {"op": self.op, "boundaries": list(self.boundaries)}

    @classmethod
    def from_json(cls, data: object, source: str = "<plan>") -> LayerSplit:
        """Read :meth:`to_json`'s form; a one-line :class:`GraphError` naming ``source`` if
        it is not that form (the boundaries are checked against a model by
        :func:`split_layers`)."""
        if not isinstance(data, Mapping) or set(data) != {"op", "boundaries"}:
            raise GraphError(f"{source}: a layer split is {{\"op\": int, \"boundaries\": "
                             f"[int, ...]}}, not {data!r}")
        op, bounds = data["op"], data["boundaries"]
        if not _is_int(op) or not isinstance(bounds, list) or not all(map(_is_int, bounds)):
            raise GraphError(f"{source}: a layer split needs an integer op and a list of "
                             f"integer boundaries, not {dict(data)!r}")
        return cls(int(op), tuple(int(b) for b in bounds))


def _is_int(x: object) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def as_splits(splits: Mapping[int, Sequence[int]] | Iterable[LayerSplit],
              source: str = "<model>") -> list[LayerSplit]:
    """``{op: boundaries}`` or :class:`LayerSplit` records as records sorted by op; a
    one-line :class:`GraphError` naming ``source`` for anything else."""
    items = splits.items() if isinstance(splits, Mapping) else (
        (s.op, s.boundaries) if isinstance(s, LayerSplit) else (s, None) for s in splits)
    out = []
    for op, bounds in items:
        if not _is_int(op) or not isinstance(bounds, Sequence) or isinstance(bounds, str):
            raise GraphError(f"{source}: a layer split is an op index and a list of channel "
                             f"boundaries, not {op!r}: {bounds!r}")
        out.append(LayerSplit(int(op), tuple(bounds)))
    return sorted(out, key=lambda s: s.op)


def balanced_boundaries(channels: int, k: int, step: int) -> tuple[int, ...]:
    """Inner boundaries, multiples of ``step``, that cut ``channels`` into ``k`` slices whose
    largest is as small as possible.

    The ``n = ceil(channels / step)`` units of ``step`` channels (the last one partial) are
    dealt as evenly as possible, the larger shares going to the last slices, which hold the
    partial unit. Raises ``ValueError`` when fewer than ``k`` units exist. O(k).
    """
    if k < 2 or step < 1 or channels < 1:
        raise ValueError(f"need k >= 2, step >= 1 and channels >= 1, not k={k}, step={step}, "
                         f"channels={channels}")
    units = -(-channels // step)
    if units < k:
        raise ValueError(f"{channels} channels hold only {units} slices of {step}, not {k}")
    base, extra = divmod(units, k)
    shares = [base] * (k - extra) + [base + 1] * extra
    return tuple(step * int(u) for u in np.cumsum(shares[:-1]))


def propose(graph: Graph, op: int, k: int, granularity: int = EDGETPU_CHANNELS) -> LayerSplit:
    """A ``k``-way split of op ``op`` at multiples of ``granularity`` output channels (of
    ``lcm(granularity, depth_multiplier)`` for a depthwise op), as even as possible
    (:func:`balanced_boundaries`). One-line :class:`GraphError` if the op cannot split so."""
    info = _layer(graph, op)
    if not _is_int(granularity) or granularity < 1:
        raise GraphError(f"{graph.source}: op {op}: granularity {granularity!r} is not a "
                         "positive number of channels")
    step = math.lcm(granularity, info.multiplier)
    try:
        return LayerSplit(op, balanced_boundaries(info.channels, k, step))
    except ValueError as exc:
        raise GraphError(f"{graph.source}: op {op} ({info.name}, {info.channels} output "
                         f"channels) cannot be split {k} ways at multiples of {step} channels "
                         f"({exc})") from None


def layer_channels(graph: Graph, op: int) -> tuple[int, int]:
    """``(output channels, depth multiplier)`` of a splittable op (multiplier 1 but for a
    depthwise convolution); a one-line :class:`GraphError` if op ``op`` cannot split."""
    info = _layer(graph, op)
    return info.channels, info.multiplier


def new_op_count(graph: Graph, split: LayerSplit) -> int:
    """How many ops replace ``split.op``: ``k`` slices and a concatenation, plus ``k`` SLICE
    ops for a depthwise convolution."""
    k = split.count
    return 2 * k + 1 if graph.ops[split.op].name == "DEPTHWISE_CONV_2D" else k + 1


def op_ranges(graph: Graph, splits: Mapping[int, Sequence[int]] | Iterable[LayerSplit]
              ) -> tuple[range, ...]:
    """``r[i]``: the ops of the rewritten model that replace op ``i`` of ``graph`` (one op for
    an op not split; the slices then the concatenation for a split op, after the SLICE ops for
    a depthwise one). The ranges tile ``[0, new op count)`` in order; a cut strictly inside
    ``r[i]`` falls between slices of op ``i``. Checks ``splits`` as :func:`split_layers`
    does. O(n)."""
    by_op = {s.op: s for s, _ in _plan(graph, splits).values()}
    out: list[range] = []
    start = 0
    for i in range(len(graph.ops)):
        size = new_op_count(graph, by_op[i]) if i in by_op else 1
        out.append(range(start, start + size))
        start += size
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Layer:
    """What the rewrite needs of one splittable op (tensor ids of the graph)."""

    name: str
    x: int
    weights: int
    bias: int  # -1: none
    out: int
    channels: int
    multiplier: int  # depthwise: output channels per input channel; 1 otherwise


def _layer(graph: Graph, op: int) -> _Layer:
    """Check that op ``op`` can split by output channels; one-line GraphError otherwise."""
    n = len(graph.ops)
    if not _is_int(op) or not 0 <= op < n:
        raise GraphError(f"{graph.source}: layer split of op {op!r}: not an op index "
                         f"(the model has {n} ops)")
    where = f"{graph.source}: op {op} ({graph.ops[op].name})"
    name = graph.ops[op].name
    if name not in SPLITTABLE:
        raise GraphError(f"{where}: only {', '.join(SPLITTABLE)} split by output channels")
    raw = graph.model.subgraphs[0].operators[op]
    ins = [int(t) for t in raw.inputs]
    if len(ins) < 2 or len(raw.outputs) != 1 or ins[0] < 0 or ins[1] < 0:
        raise GraphError(f"{where}: expected an input, weights, an optional bias and one "
                         "output")
    x, w, out = ins[0], ins[1], int(raw.outputs[0])
    b = ins[2] if len(ins) > 2 else -1
    tx, tw, to = graph.tensors[x], graph.tensors[w], graph.tensors[out]
    st = graph.model.subgraphs[0].tensors
    kinds = {st[x].type, st[w].type, st[out].type}
    if len(kinds) != 1 or not kinds <= _QUANTIZED or not (tx.quantized and tw.quantized
                                                               and to.quantized):
        raise GraphError(f"{where}: input {tx.dtype}, weights {tw.dtype}, output {to.dtype}: "
                         "only fully int8 or uint8 quantized ops split (not float or hybrid)")
    for t in (w, b):
        if t < 0:
            continue
        raw_t = st[t]
        if (not graph.tensors[t].constant or raw_t.sparsity is not None
                or raw_t.externalBuffer
                or graph.model.buffers[raw_t.buffer].data is None):
            raise GraphError(f"{where}: tensor {graph.tensors[t].name!r} is not a dense "
                             "constant stored in the model's flatbuffer")
    axis = SPLITTABLE[name]
    if len(tw.shape) != (2 if name == "FULLY_CONNECTED" else 4):
        raise GraphError(f"{where}: weights of shape {list(tw.shape)}")
    channels = tw.shape[axis]
    if not to.shape or to.shape[-1] != channels:
        raise GraphError(f"{where}: output shape {list(to.shape)} does not end in the "
                         f"{channels} output channels of the weights")
    if b >= 0 and graph.tensors[b].shape != (channels,):
        raise GraphError(f"{where}: bias of shape {list(graph.tensors[b].shape)}, expected "
                         f"[{channels}]")
    for t, dim in ((w, axis), (b, 0)):
        if t < 0:
            continue
        scales = len(graph.tensors[t].scale)
        if scales > 1 and (scales != channels or graph.tensors[t].quantized_dimension != dim):
            raise GraphError(f"{where}: tensor {graph.tensors[t].name!r} is quantized along "
                             "another axis than the output channels")
    multiplier = 1
    if name == "CONV_2D" and tx.shape[-1:] != tw.shape[3:]:
        raise GraphError(f"{where}: grouped convolution ({tx.shape[-1]} input channels, "
                         f"filters of {tw.shape[3]}) does not split")
    if name == "DEPTHWISE_CONV_2D":
        cin = tx.shape[-1] if tx.shape else 0
        if cin < 1 or channels % cin:
            raise GraphError(f"{where}: {channels} output channels are not a multiple of the "
                             f"{cin} input channels")
        multiplier = channels // cin
    if name == "FULLY_CONNECTED":
        opts = raw.builtinOptions
        if opts is not None and (opts.weightsFormat != schema.FullyConnectedOptionsWeightsFormat
                                 .DEFAULT or opts.quantSpec is not None):
            raise GraphError(f"{where}: only the default weight format splits")
    return _Layer(name, x, w, b, out, channels, multiplier)


def _check_boundaries(graph: Graph, split: LayerSplit, info: _Layer) -> None:
    where = f"{graph.source}: op {split.op} ({info.name}, {info.channels} output channels)"
    bounds = split.boundaries
    if not bounds:
        raise GraphError(f"{where}: a layer split needs at least one channel boundary")
    if not all(map(_is_int, bounds)):
        raise GraphError(f"{where}: boundaries {list(bounds)} are not integers")
    edges = [0, *bounds, info.channels]
    if any(b <= a for a, b in itertools.pairwise(edges)):
        raise GraphError(f"{where}: boundaries {list(bounds)} are not strictly increasing "
                         f"inside (0, {info.channels})")
    if any(b % info.multiplier for b in bounds):
        raise GraphError(f"{where}: boundaries {list(bounds)} must be multiples of the depth "
                         f"multiplier {info.multiplier}")


def split_layers(model: bytes | Graph,
                 splits: Mapping[int, Sequence[int]] | Iterable[LayerSplit],
                 name: str | None = None) -> bytes:
    """The model with every op of ``splits`` split by output channels (module docstring).

    Args:
        model: TFLite bytes (``name`` names them in errors) or a loaded :class:`Graph` (not
            modified).
        splits: ``{op index: channel boundaries}`` or :class:`LayerSplit` records; op
            indices are those of ``model``. :func:`op_ranges` maps them to the new ops.

    Returns the rewritten model's bytes. The sliced weights and biases get new buffers; the
    original ones are dropped when nothing else reads them, so the file grows only by the new
    tensors' descriptions (names, shapes, quantization) and the SLICE ops' begin and size.
    New tensors are named ``<name>/ch<a>-<b>`` (unique in the model); the concatenation
    writes the original output tensor. Raises a one-line :class:`GraphError` for an op that
    does not split or bad boundaries.

    Complexity: O(n + T + bytes of the sliced weights).
    """
    graph = model if isinstance(model, Graph) else load(model, name)
    return serialize(_Rewriter(graph).run(_plan(graph, splits)))


def split_graph(graph: Graph, splits: Mapping[int, Sequence[int]] | Iterable[LayerSplit]
                ) -> Graph:
    """:func:`split_layers` as a :class:`Graph`, without writing and re-reading the file (the
    planners only read the rewritten model; what is written or run comes from
    :func:`split_layers`). Its ``size_bytes`` counts the constant buffers only."""
    model = _Rewriter(graph).run(_plan(graph, splits))
    size = sum(len(b.data) for b in model.buffers or [] if b.data is not None)
    return Graph(model, graph.source, size)


def _plan(graph: Graph, splits: Mapping[int, Sequence[int]] | Iterable[LayerSplit]
          ) -> dict[int, tuple[LayerSplit, _Layer]]:
    """The checked splits by op index; one-line GraphError for the first bad one."""
    plan: dict[int, tuple[LayerSplit, _Layer]] = {}
    for s in as_splits(splits, graph.source):
        if s.op in plan:
            raise GraphError(f"{graph.source}: op {s.op} is split twice")
        info = _layer(graph, s.op)
        _check_boundaries(graph, s, info)
        plan[s.op] = (s, info)
    return plan


class _Rewriter:
    """Builds the rewritten model from shallow copies; the source graph is never modified."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        src = graph.model
        sg = src.subgraphs[0]
        self.tensors: list[schema.TensorT] = list(sg.tensors)
        self.buffers: list[schema.BufferT] = list(src.buffers)
        self.codes: list[schema.OperatorCodeT] = list(src.operatorCodes)
        self.base_names = unique_names(graph)
        self.names = {*self.base_names, *(t.name for t in graph.tensors)}

    # ------------------------------------------------------------------ building blocks
    def _fresh(self, name: str) -> str:
        new, k = name, 1
        while new in self.names:
            k += 1
            new = f"{name}__{k}"
        self.names.add(new)
        return new

    def _code(self, builtin: int, tensor_type: int) -> int:
        version = _VERSIONS[(builtin, tensor_type)]
        for i, code in enumerate(self.codes):
            if (max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) == builtin
                    and not code.customCode and code.version >= version):
                return i
        code = schema.OperatorCodeT()
        code.builtinCode = builtin
        code.deprecatedBuiltinCode = min(builtin, 127)
        code.version = version
        self.codes.append(code)
        return len(self.codes) - 1

    def _constant(self, like: int | None, data: np.ndarray, name: str,
                  quant: schema.QuantizationParametersT | None,
                  tensor_type: int = schema.TensorType.INT32) -> int:
        """A new constant tensor with its own buffer (a copy of tensor ``like``'s fields)."""
        t = copy.copy(self.tensors[like]) if like is not None else schema.TensorT()
        if like is None:
            t.type = tensor_type
        t.shape = [int(d) for d in data.shape]
        t.shapeSignature = None
        t.name = self._fresh(name)
        t.quantization = quant
        buf = schema.BufferT()
        buf.data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        self.buffers.append(buf)
        t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def _activation(self, like: int, channels: int, name: str) -> int:
        """A new activation tensor like ``like`` (type, quantization) with ``channels`` in its
        last dimension."""
        t = copy.copy(self.tensors[like])
        t.shape = [*list(t.shape[:-1]), channels]
        if t.shapeSignature is not None and len(t.shapeSignature):
            t.shapeSignature = [*list(t.shapeSignature[:-1]), channels]
        t.name = self._fresh(name)
        t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def _weights(self, t: int) -> np.ndarray:
        tensor = self.graph.tensors[t]
        raw = self.graph.model.buffers[tensor.buffer].data
        dtype = DTYPES[self.graph.model.subgraphs[0].tensors[t].type]
        need = int(np.prod(tensor.shape, dtype=np.int64)) * dtype.itemsize
        return np.frombuffer(np.asarray(raw, dtype=np.uint8)[:need].tobytes(),
                             dtype=dtype).reshape(tensor.shape)

    def _sliced_quant(self, t: int, a: int, b: int) -> schema.QuantizationParametersT:
        q = copy.copy(self.tensors[t].quantization)
        if len(self.graph.tensors[t].scale) > 1:
            for field in ("scale", "zeroPoint", "min", "max"):
                values = getattr(q, field)
                if values is not None and len(values) > 1:
                    setattr(q, field, list(values[a:b]))
        return q

    # ------------------------------------------------------------------ one layer
    def _split(self, split: LayerSplit, info: _Layer) -> list[schema.OperatorT]:
        sg = self.graph.model.subgraphs[0]
        op = sg.operators[split.op]
        axis = SPLITTABLE[info.name]
        kind = self.tensors[info.out].type
        weights = self._weights(info.weights)
        bias = self._weights(info.bias) if info.bias >= 0 else None
        names = self.base_names
        prologue: list[schema.OperatorT] = []
        slices: list[schema.OperatorT] = []
        parts: list[int] = []
        for a, b in split.slices(info.channels):
            tag = f"/ch{a}-{b}"
            x = info.x
            if info.name == "DEPTHWISE_CONV_2D":
                m = info.multiplier
                x = self._activation(info.x, (b - a) // m, f"{names[info.x]}/ch{a // m}-{b // m}")
                prologue.append(self._slice_op(info.x, x, a // m, kind))
            index = [slice(None)] * weights.ndim
            index[axis] = slice(a, b)
            w = self._constant(info.weights, weights[tuple(index)], names[info.weights] + tag,
                               self._sliced_quant(info.weights, a, b))
            inputs = [x, w]
            if bias is not None:
                inputs.append(self._constant(info.bias, bias[a:b], names[info.bias] + tag,
                                             self._sliced_quant(info.bias, a, b)))
            elif len(op.inputs) > 2:
                inputs.append(-1)
            y = self._activation(info.out, b - a, names[info.out] + tag)
            new = copy.copy(op)
            new.inputs, new.outputs = inputs, [y]
            if info.name == "DEPTHWISE_CONV_2D":
                new.builtinOptions = copy.copy(op.builtinOptions)
                new.builtinOptions.depthMultiplier = info.multiplier
            slices.append(new)
            parts.append(y)
        concat = schema.OperatorT()
        concat.opcodeIndex = self._code(_OP.CONCATENATION, kind)
        concat.inputs, concat.outputs = parts, [info.out]
        concat.builtinOptionsType = schema.BuiltinOptions.ConcatenationOptions
        concat.builtinOptions = schema.ConcatenationOptionsT()
        concat.builtinOptions.axis = len(self.graph.tensors[info.out].shape) - 1
        concat.builtinOptions.fusedActivationFunction = schema.ActivationFunctionType.NONE
        return [*prologue, *slices, concat]

    def _slice_op(self, x: int, y: int, start: int, kind: int) -> schema.OperatorT:
        """SLICE of input ``x`` from channel ``start`` into ``y`` (constant begin and size)."""
        shape = self.graph.tensors[x].shape
        size = self.tensors[y].shape
        begin = np.zeros(len(shape), dtype=np.int32)
        begin[-1] = start
        name = str(self.tensors[y].name)
        tb = self._constant(None, begin, f"{name}/begin", None)
        ts = self._constant(None, np.asarray(size, dtype=np.int32), f"{name}/size", None)
        op = schema.OperatorT()
        op.opcodeIndex = self._code(_OP.SLICE, kind)
        op.inputs, op.outputs = [x, tb, ts], [y]
        op.builtinOptionsType = schema.BuiltinOptions.SliceOptions
        op.builtinOptions = schema.SliceOptionsT()
        return op

    # ------------------------------------------------------------------ the model
    def run(self, plan: Mapping[int, tuple[LayerSplit, _Layer]]) -> schema.ModelT:
        src = self.graph.model
        sg = src.subgraphs[0]
        ops: list[schema.OperatorT] = []
        for i, op in enumerate(sg.operators):
            ops.extend(self._split(*plan[i]) if i in plan else [op])
        # Drop the unsliced weights and biases nothing reads any more, and their buffers.
        used: set[int] = {int(t) for t in [*sg.inputs, *sg.outputs]}
        for op in ops:
            for field in (op.inputs, op.outputs, op.intermediates):
                used.update(int(t) for t in (field if field is not None else []) if t >= 0)
        dropped = {t for _, info in plan.values() for t in (info.weights, info.bias)
                   if t >= 0 and t not in used and not self.tensors[t].isVariable}
        keep = [t for t in range(len(self.tensors)) if t not in dropped]
        tmap = {t: k for k, t in enumerate(keep)}
        kept_buffers = {int(self.tensors[t].buffer) for t in keep}
        kept_buffers.update(int(md.buffer) for md in src.metadata or [])
        kept_buffers.update(int(b) for b in (src.metadataBuffer if src.metadataBuffer is not None
                                             else []))
        gone = {int(self.tensors[t].buffer) for t in dropped} - kept_buffers - {0}
        bkeep = [b for b in range(len(self.buffers)) if b not in gone]
        bmap = {b: k for k, b in enumerate(bkeep)}

        def remap(ids: Any) -> list[int] | None:
            if ids is None:
                return None
            return [tmap[int(t)] if t >= 0 else -1 for t in ids]

        tensors = []
        for t in keep:
            new_t = copy.copy(self.tensors[t])
            new_t.buffer = bmap[int(new_t.buffer)]
            tensors.append(new_t)
        new_ops = []
        for op in ops:
            new_op = copy.copy(op)
            new_op.inputs, new_op.outputs = remap(op.inputs), remap(op.outputs)
            if op.intermediates is not None and len(op.intermediates):
                new_op.intermediates = remap(op.intermediates)
            new_ops.append(new_op)
        out_sg = copy.copy(sg)
        out_sg.tensors, out_sg.operators = tensors, new_ops
        out_sg.inputs, out_sg.outputs = remap(sg.inputs), remap(sg.outputs)

        out = copy.copy(src)
        out.subgraphs = [out_sg]
        out.operatorCodes = self.codes
        out.buffers = [self.buffers[b] for b in bkeep]
        if src.metadata:
            out.metadata = []
            for md in src.metadata:
                new_md = copy.copy(md)
                new_md.buffer = bmap[int(md.buffer)]
                out.metadata.append(new_md)
        if src.metadataBuffer is not None and len(src.metadataBuffer):
            out.metadataBuffer = [bmap[int(b)] for b in src.metadataBuffer]
        if src.signatureDefs:
            out.signatureDefs = []
            for sig in src.signatureDefs:
                new_sig = copy.copy(sig)
                for field in ("inputs", "outputs"):
                    maps = []
                    for tm in getattr(sig, field) or []:
                        new_tm = copy.copy(tm)
                        new_tm.tensorIndex = tmap[int(tm.tensorIndex)]
                        maps.append(new_tm)
                    setattr(new_sig, field, maps)
                out.signatureDefs.append(new_sig)
        return out
