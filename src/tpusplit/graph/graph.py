"""A single-subgraph TFLite model as a DAG of ops in execution order, with per-op costs and cuts."""

from __future__ import annotations

import bisect
import hashlib
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tpusplit.errors import read_bytes
from tpusplit.graph.opcost import op_work
from tpusplit.graph.tflite import DTYPES, GraphError, opcode_name, parse, type_name

#: Ops that convert between float and int8 at a model's edges; a float tensor there is fine.
_EDGE_OPS = frozenset({"QUANTIZE", "DEQUANTIZE"})


class FloatModelWarning(UserWarning):
    """The model is not fully int8: Edge TPUs need full integer quantization."""


#: Custom ops tpusplit reads: LiteRT's own kernels run them, on the host CPU (the Edge TPU
#: compiler leaves them there). SSD detectors end in ``TFLite_Detection_PostProcess``.
POSTPROCESS_OP = "TFLite_Detection_PostProcess"
HOST_CUSTOM_OPS: frozenset[str] = frozenset({POSTPROCESS_OP})


@dataclass(frozen=True, slots=True)
class Tensor:
    """One tensor of the model."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    constant: bool
    buffer: int
    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    quantized_dimension: int

    @property
    def quantized(self) -> bool:
        """Whether the tensor carries quantization parameters."""
        return len(self.scale) > 0


@dataclass(frozen=True, slots=True)
class Op:
    """One operator, in execution order.

    ``inputs`` omits absent optional inputs (-1). ``param_bytes`` counts the constant buffers
    this op reads that no earlier op read (a shared buffer is counted once, at its first user).
    ``depth`` is the length of the longest op path from the model inputs (0 for an op fed only
    by model inputs and constants). ``preds``/``succs`` are the ops it depends on / feeds.
    """

    index: int
    name: str
    custom_code: str | None
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    macs: int
    element_ops: int
    param_bytes: int
    output_bytes: int
    depth: int
    preds: tuple[int, ...]
    succs: tuple[int, ...]


class Graph:
    """A TFLite model's single subgraph as ops in execution order.

    Cut position ``k`` (``0 <= k <= n``) splits ops ``[0, k)`` from ``[k, n)``; ``crossing(k)``
    is the tensors produced before ``k`` (or model inputs) that an op at or after ``k`` uses.

    Build one with :func:`load`.
    """

    def __init__(self, model: schema.ModelT, source: str, size_bytes: int) -> None:
        self.model = model
        self.source = source
        self.size_bytes = size_bytes
        sg = model.subgraphs[0]
        buffers = model.buffers or []

        def buf_bytes(b: int) -> int:
            buf = buffers[b] if 0 <= b < len(buffers) else None
            if buf is None:
                return 0
            if buf.data is not None:
                return len(buf.data)
            return int(buf.size) if buf.offset else 0

        tensors: list[Tensor] = []
        for i, t in enumerate(sg.tensors or []):
            shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
            dt = DTYPES.get(t.type)
            nbytes = int(np.prod(shape, dtype=np.int64)) * (dt.itemsize if dt else 1)
            q = t.quantization
            scale = tuple(float(s) for s in (q.scale if q is not None and q.scale is not None
                                             else []))
            zp = tuple(int(z) for z in (q.zeroPoint if q is not None and q.zeroPoint is not None
                                        else []))
            name = t.name.decode() if isinstance(t.name, bytes) else str(t.name or "")
            tensors.append(Tensor(
                index=i, name=name, shape=shape, dtype=type_name(t.type), nbytes=nbytes,
                constant=buf_bytes(t.buffer) > 0 and not t.isVariable, buffer=int(t.buffer),
                scale=scale, zero_point=zp,
                quantized_dimension=int(q.quantizedDimension) if q is not None else 0,
            ))
        self.tensors: tuple[Tensor, ...] = tuple(tensors)
        self.inputs: tuple[int, ...] = tuple(int(i) for i in (sg.inputs if sg.inputs is not None
                                                              else []))
        self.outputs: tuple[int, ...] = tuple(int(i) for i in (sg.outputs
                                                               if sg.outputs is not None else []))

        codes = model.operatorCodes or []
        producer = [-1] * len(tensors)
        consumers: list[list[int]] = [[] for _ in tensors]
        raw = sg.operators or []
        for k, op in enumerate(raw):
            for t in op.outputs if op.outputs is not None else []:
                if t >= 0:  # -1: an absent output, not the last tensor
                    producer[t] = k
        seen_buffers: set[int] = set()
        depth: list[int] = []
        preds_of: list[tuple[int, ...]] = []
        Work = tuple[str, str | None, tuple[int, ...], tuple[int, ...], int, int, int, int]
        work: list[Work] = []
        for k, op in enumerate(raw):
            code = codes[op.opcodeIndex]
            name = opcode_name(code)
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else (
                code.customCode)
            ins = tuple(int(t) for t in (op.inputs if op.inputs is not None else []) if t >= 0)
            outs = tuple(int(t) for t in (op.outputs if op.outputs is not None else []) if t >= 0)
            preds: set[int] = set()
            params = 0
            for t in ins:
                tensor = tensors[t]
                if tensor.constant:
                    if tensor.buffer not in seen_buffers:
                        seen_buffers.add(tensor.buffer)
                        params += buf_bytes(tensor.buffer)
                    continue
                consumers[t].append(k)
                p = producer[t]
                if p >= k:
                    raise GraphError(f"{source}: corrupt model: op {k} reads tensor {t} before "
                                     f"op {p} produces it (ops not in execution order)")
                if p >= 0:
                    preds.add(p)
            macs, elem = op_work(
                name, op.builtinOptions,
                [tensors[t].shape if t >= 0 else None
                 for t in (op.inputs if op.inputs is not None else [])],
                [tensors[t].shape for t in outs],
            )
            depth.append(1 + max(depth[p] for p in preds) if preds else 0)
            preds_of.append(tuple(sorted(preds)))
            work.append((name, custom, ins, outs, macs, elem, params,
                         sum(tensors[t].nbytes for t in outs)))
        succs: list[list[int]] = [[] for _ in raw]
        for k, ps in enumerate(preds_of):
            for p in ps:
                succs[p].append(k)
        self.ops: tuple[Op, ...] = tuple(
            Op(index=k, name=w[0], custom_code=w[1], inputs=w[2], outputs=w[3], macs=w[4],
               element_ops=w[5], param_bytes=w[6], output_bytes=w[7], depth=depth[k],
               preds=preds_of[k], succs=tuple(succs[k]))
            for k, w in enumerate(work)
        )
        self.producer: tuple[int, ...] = tuple(producer)
        self.consumers: tuple[tuple[int, ...], ...] = tuple(tuple(c) for c in consumers)

    # ----------------------------------------------------------------------------- figures
    def __len__(self) -> int:
        return len(self.ops)

    @property
    def name(self) -> str:
        """The model's file stem (or the name given to :func:`load`)."""
        return Path(self.source).stem

    @cached_property
    def param_bytes(self) -> int:
        """Total constant parameter bytes read by the ops."""
        return sum(op.param_bytes for op in self.ops)

    @cached_property
    def macs(self) -> int:
        """Total MACs."""
        return sum(op.macs for op in self.ops)

    @cached_property
    def cumulative_param_bytes(self) -> np.ndarray:
        """``c[k]`` = parameter bytes of ops ``[0, k)``; length ``n + 1``."""
        return np.concatenate([[0], np.cumsum([op.param_bytes for op in self.ops])]).astype(
            np.int64)

    def segment_param_bytes(self, start: int, end: int) -> int:
        """Parameter bytes of ops ``[start, end)`` (a shared buffer counts at its first user)."""
        c = self.cumulative_param_bytes
        return int(c[end] - c[start])

    @cached_property
    def _crossing(self) -> tuple[tuple[int, ...], ...]:
        n = len(self.ops)
        cut: list[list[int]] = [[] for _ in range(n + 1)]
        for t, users in enumerate(self.consumers):
            if not users:
                continue
            first = self.producer[t] + 1  # model inputs (producer -1) cross from cut 0
            for k in range(first, max(users) + 1):
                cut[k].append(t)
        return tuple(tuple(c) for c in cut)

    def crossing(self, k: int) -> tuple[int, ...]:
        """Tensors that cross cut ``k``: produced before ``k`` (or model inputs), used at/after."""
        if not 0 <= k <= len(self.ops):
            raise IndexError(f"cut {k} outside [0, {len(self.ops)}]")
        return self._crossing[k]

    @cached_property
    def crossing_bytes(self) -> np.ndarray:
        """``b[k]`` = total bytes of the tensors crossing cut ``k``; length ``n + 1``."""
        return np.array([sum(self.tensors[t].nbytes for t in c) for c in self._crossing],
                        dtype=np.int64)

    def _first_use(self, t: int, start: int) -> int:
        """The first op at or after ``start`` that reads tensor ``t`` (``n`` if none)."""
        users = self.consumers[t]
        k = bisect.bisect_left(users, start)
        return users[k] if k < len(users) else len(self.ops)

    def segment_io(self, start: int, end: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The activation tensors entering and leaving ops ``[start, end)`` run on their own.

        Inputs: tensors produced before ``start`` (or model inputs) that an op of the range
        reads; the model's inputs first, in model order, then in order of first use.
        Outputs: the model outputs the range produces, in model order, then the tensors it
        produces that a later op reads, in production order. This is how a segment file is
        wired (:func:`tpusplit.graph.slicing.segments`) and what crosses its host link.

        Complexity: O(tensors crossing ``start`` and ``end``, times log uses).
        """
        n = len(self.ops)
        if not 0 <= start < end <= n:
            raise IndexError(f"segment [{start}, {end}) outside [0, {n}]")
        model_in = {t: k for k, t in enumerate(self.inputs)}
        ins: list[tuple[tuple[int, int, int], int]] = []
        for t in self._crossing[start]:
            first = self._first_use(t, start)
            if first < end:
                slot = self.ops[first].inputs.index(t)
                key = (0, model_in[t], 0) if t in model_in else (1, first, slot)
                ins.append((key, t))
        model_out = {t: k for k, t in enumerate(self.outputs)}
        outs: dict[int, tuple[int, int, int]] = {}
        for t in self._crossing[end]:
            p = self.producer[t]
            if p >= start:
                outs[t] = (1, p, self.ops[p].outputs.index(t))
        for t, k in model_out.items():
            if start <= self.producer[t] < end:
                outs[t] = (0, k, 0)
        return (tuple(t for _, t in sorted(ins)),
                tuple(sorted(outs, key=lambda t: outs[t])))

    def io_sums(self, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Summed ``weight[t]`` of the tensors entering / leaving every segment, as matrices.

        ``ins[a, b]`` and ``outs[a, b]`` (``0 <= a < b <= n``; 0 elsewhere) add ``weight`` over
        :meth:`segment_io`'s inputs and outputs of ``[a, b)``: the vectorised form, for cost
        models and bounds that need every segment at once.

        Complexity: O(n^2 + sum of crossing sizes) time; O(n^2) memory: the two results and
        nothing else of that size (cumulative sums in place; ``outs`` is a transposed view).
        """
        n = len(self.ops)
        w = np.asarray(weight, dtype=np.float64)
        ins = np.zeros((n + 1, n + 2))
        for a, tensors in enumerate(self._crossing):
            for t in tensors:
                ins[a, self._first_use(t, a) + 1] += w[t]
        np.cumsum(ins, axis=1, out=ins)
        ins = ins[:, : n + 1]
        made = np.zeros((n + 1, n + 1))  # made[b, p]: weight crossing b produced by op p
        for b, tensors in enumerate(self._crossing):
            for t in tensors:
                if self.producer[t] >= 0:
                    made[b, self.producer[t]] += w[t]
        rev = made[:, ::-1]
        np.cumsum(rev, axis=1, out=rev)  # made[b, p]: produced at or after p
        outs = made.T
        for t in self.outputs:
            p = self.producer[t]
            if p < 0:
                continue
            users = self.consumers[t]
            after = max(p, users[-1] if users else p) + 1  # no longer crossing from here
            outs[: p + 1, after:] += w[t]
        for a in range(n + 1):
            ins[a, : a + 1] = 0.0
            outs[a, : a + 1] = 0.0
        return ins, outs

    @cached_property
    def output_ops(self) -> tuple[int, ...]:
        """Ops that produce a model output, in execution order."""
        outs = set(self.outputs)
        return tuple(op.index for op in self.ops if outs.intersection(op.outputs))

    @cached_property
    def is_full_int8(self) -> bool:
        """True when every op but QUANTIZE/DEQUANTIZE and the host-side custom ops
        (:data:`HOST_CUSTOM_OPS`) computes on integer tensors."""
        for op in self.ops:
            if op.name in _EDGE_OPS or op.custom_code in HOST_CUSTOM_OPS:
                continue
            for t in (*op.inputs, *op.outputs):
                if self.tensors[t].dtype.startswith("float"):
                    return False
        return True

    @cached_property
    def fingerprint(self) -> str:
        """16 hex digits of SHA-256 over the model's structure: ops (type, inputs, outputs),
        tensor shapes and types, model inputs and outputs. Two files of one architecture
        share it whatever their weights; a plan records it to refuse another model."""
        h = hashlib.sha256()
        for op in self.ops:
            h.update(f"{op.name}{op.inputs}{op.outputs};".encode())
        for t in self.tensors:
            h.update(f"{t.shape}{t.dtype};".encode())
        h.update(f"{self.inputs}{self.outputs}".encode())
        return h.hexdigest()[:16]

    def narrowest_cuts(self, count: int = 5) -> list[int]:
        """Inner cut positions with the fewest crossing bytes (ties: earlier first)."""
        b = self.crossing_bytes
        inner = range(1, len(self.ops))
        return sorted(inner, key=lambda k: (int(b[k]), k))[:count]

    def __repr__(self) -> str:
        return (f"Graph({self.source!r}, ops={len(self.ops)}, params={self.param_bytes}, "
                f"macs={self.macs})")


def load(model: str | Path | bytes, name: str | None = None) -> Graph:
    """Read a single-subgraph TFLite model from a path or bytes into a :class:`Graph`.

    Raises :class:`GraphError` (one line, naming the file) for files that are missing, empty,
    not TFLite, truncated or corrupt, with several subgraphs, no ops, or custom ops other than
    :data:`HOST_CUSTOM_OPS` (which LiteRT runs on the host CPU). A model
    that is not fully int8 loads with a :class:`FloatModelWarning`.
    """
    if isinstance(model, (bytes, bytearray, memoryview)):
        data = bytes(model)
        source = name or "<bytes>"
    else:
        path = Path(model)
        source = name or str(path)
        data = read_bytes(path, "TFLite model", GraphError)
    m = parse(data, source)
    subgraphs = m.subgraphs or []
    if len(subgraphs) != 1:
        raise GraphError(f"{source}: has {len(subgraphs)} subgraphs; tpusplit splits "
                         "single-subgraph models only (no control flow)")
    sg = subgraphs[0]
    if not sg.operators:
        raise GraphError(f"{source}: the model has no operators")
    codes = m.operatorCodes or []
    for op in sg.operators:
        code = codes[op.opcodeIndex]
        if opcode_name(code) == "CUSTOM" or code.customCode:
            cc = code.customCode.decode() if isinstance(code.customCode, bytes) else str(
                code.customCode)
            if "edgetpu" in cc.lower():
                raise GraphError(f"{source}: contains custom op {cc!r}: the model is already "
                                 "compiled for the Edge TPU; split the model before compiling it")
            if cc in HOST_CUSTOM_OPS:
                continue
            raise GraphError(f"{source}: contains custom op {cc!r}, which tpusplit cannot "
                             "cost or split")
    graph = Graph(m, source, len(data))
    if not graph.is_full_int8:
        warnings.warn(f"{source}: not a full-int8 model; Edge TPUs need full integer "
                      "quantization (it still splits and runs on CPU)",
                      FloatModelWarning, stacklevel=2)
    return graph
