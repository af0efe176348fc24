"""Write contiguous op ranges of a model as standalone TFLite segments, connected by tensor name."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph.graph import Graph
from tpusplit.graph.tflite import GraphError, serialize
from tpusplit.partition import spans


@dataclass(frozen=True, slots=True)
class Segment:
    """What segment ``index`` of a split contains and exchanges, as tensor ids of the graph.

    ``inputs`` come from the model input or earlier segments; ``outputs`` are the tensors later
    segments use plus the model outputs it produces. A tensor produced in segment i and first
    used in segment j > i + 1 is an output of i and an input of j only: the runner carries it.
    """

    index: int
    start: int
    end: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def check_cuts(graph: Graph, cuts: Sequence[int]) -> list[int]:
    """Validate ``cuts`` (op indices where segments 2..N begin) and return them as ints.

    Raises :class:`GraphError` unless they are strictly increasing and inside ``(0, n)``.
    """
    n = len(graph.ops)
    out: list[int] = []
    for c in cuts:
        try:
            whole = not isinstance(c, bool) and int(c) == c
        except (TypeError, ValueError, OverflowError):  # "a", nan, inf, None
            whole = False
        if not whole:
            raise GraphError(f"{graph.source}: cut {c!r} is not an op index")
        out.append(int(c))
    for c in out:
        if not 0 < c < n:
            raise GraphError(f"{graph.source}: cut {c} is outside 1..{n - 1} "
                             f"(the model has {n} ops)")
    for a, b in itertools.pairwise(out):
        if b <= a:
            what = "duplicated" if a == b else "not increasing"
            raise GraphError(f"{graph.source}: cuts must be strictly increasing; "
                             f"{a} then {b} is {what}")
    return out


def bounds(graph: Graph, cuts: Sequence[int]) -> list[tuple[int, int]]:
    """The ``[start, end)`` op range of every segment for ``cuts``."""
    return spans(len(graph.ops), check_cuts(graph, cuts))


def segments(graph: Graph, cuts: Sequence[int]) -> list[Segment]:
    """Describe the segments of ``graph`` cut at ``cuts`` (see :class:`Segment`)."""
    return [Segment(s, a, b, *graph.segment_io(a, b))
            for s, (a, b) in enumerate(bounds(graph, cuts))]


def extract(graph: Graph, start: int, end: int) -> bytes:
    """The standalone model of ops ``[start, end)`` alone: what ``split`` would write for it.

    Cheaper than :func:`split` when only one segment is needed (e.g. to profile it).
    """
    n = len(graph.ops)
    if not 0 <= start < end <= n:
        raise GraphError(f"{graph.source}: segment [{start}, {end}) is not inside [0, {n}]")
    return _segment_model(graph, Segment(0, start, end, *graph.segment_io(start, end)),
                          unique_names(graph))


def split(graph: Graph, cuts: Sequence[int]) -> list[bytes]:
    """Split ``graph`` before each op index in ``cuts``; return one TFLite model per segment.

    Each segment copies only the ops, tensors, buffers and operator codes it uses, keeps
    tensor names (so segments connect by name), quantization, a ``serving_default``
    signature over its inputs and outputs, and the model's metadata. Running the segments in
    order on the same interpreter gives byte-identical outputs to the whole model.

    Complexity: O(n + T + bytes copied) per segment.
    """
    names = unique_names(graph)
    return [_segment_model(graph, seg, names) for seg in segments(graph, cuts)]


def unique_names(graph: Graph) -> list[str]:
    """Tensor names, made unique where the model repeats or omits one (``name__t<index>``)."""
    counts: dict[str, int] = {}
    for t in graph.tensors:
        counts[t.name] = counts.get(t.name, 0) + 1
    return [t.name if t.name and counts[t.name] == 1 else f"{t.name}__t{t.index}"
            for t in graph.tensors]


def _segment_model(graph: Graph, seg: Segment, names: list[str]) -> bytes:
    src = graph.model
    sg = src.subgraphs[0]
    buffers: list[schema.BufferT] = [schema.BufferT()]
    buffer_map: dict[int, int] = {}
    tensor_map: dict[int, int] = {}
    tensors: list[schema.TensorT] = []

    def take_tensor(t: int) -> int:
        if t < 0:
            return t
        if t in tensor_map:
            return tensor_map[t]
        new = copy.copy(sg.tensors[t])
        new.name = names[t]
        if graph.tensors[t].constant:
            b = int(new.buffer)
            if b not in buffer_map:
                buffer_map[b] = len(buffers)
                buffers.append(src.buffers[b])
            new.buffer = buffer_map[b]
        else:
            new.buffer = 0
        tensor_map[t] = len(tensors)
        tensors.append(new)
        return tensor_map[t]

    code_map: dict[int, int] = {}
    codes: list[schema.OperatorCodeT] = []
    operators: list[schema.OperatorT] = []
    for t in seg.inputs:
        take_tensor(t)
    for k in range(seg.start, seg.end):
        op = copy.copy(sg.operators[k])
        if op.opcodeIndex not in code_map:
            code_map[op.opcodeIndex] = len(codes)
            codes.append(src.operatorCodes[op.opcodeIndex])
        op.opcodeIndex = code_map[op.opcodeIndex]
        op.inputs = [take_tensor(int(t)) for t in (op.inputs if op.inputs is not None else [])]
        op.outputs = [take_tensor(int(t)) for t in (op.outputs if op.outputs is not None
                                                     else [])]
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = [take_tensor(int(t)) for t in op.intermediates]
        if op.mutatingVariableInputs is not None and len(op.mutatingVariableInputs) == 0:
            op.mutatingVariableInputs = None
        operators.append(op)

    out_sg = schema.SubGraphT()
    out_sg.tensors = tensors
    out_sg.operators = operators
    out_sg.inputs = [tensor_map[t] for t in seg.inputs]
    out_sg.outputs = [tensor_map[t] for t in seg.outputs]
    out_sg.name = sg.name

    model = schema.ModelT()
    model.version = src.version
    model.description = src.description
    model.operatorCodes = codes
    model.subgraphs = [out_sg]

    signature = schema.SignatureDefT()
    signature.signatureKey = "serving_default"
    signature.subgraphIndex = 0
    signature.inputs = [_tensor_map(names[t], tensor_map[t]) for t in seg.inputs]
    signature.outputs = [_tensor_map(names[t], tensor_map[t]) for t in seg.outputs]
    model.signatureDefs = [signature]

    metadata = []
    for md in src.metadata or []:
        new_md = copy.copy(md)
        buffers.append(src.buffers[md.buffer])
        new_md.buffer = len(buffers) - 1
        metadata.append(new_md)
    model.metadata = metadata or None
    model.buffers = buffers
    if not seg.outputs:
        raise GraphError(f"{graph.source}: segment {seg.index} (ops [{seg.start}, {seg.end})) "
                         "produces nothing that is used later")
    return serialize(model)


def _tensor_map(name: str, index: int) -> schema.TensorMapT:
    tm = schema.TensorMapT()
    tm.name = name
    tm.tensorIndex = index
    return tm
