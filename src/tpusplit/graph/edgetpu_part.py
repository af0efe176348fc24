"""The ops of a TFLite model Coral's Edge TPU compiler maps to the Edge TPU, as a model of its own.

Coral's compiler (``edgetpu_compiler``) replaces the ops it can run by one ``edgetpu-custom-op``
and leaves the rest to the CPU. It delegates one part only: an unsupported op, and everything
that depends on it, stays on the CPU; supported ops that do not depend on it are still mapped
(Coral's documentation, "Model requirements"). Unsupported ops that only prepare the model's
input (MoveNet's ``CAST`` and float ``QUANTIZE``) run on the CPU before the Edge TPU part and
do not stop it.

An op is mapped when (:func:`supported`):

- its type is in :data:`EDGETPU_OPS` (Coral's list of supported operations, compiler 16,
  plus ``TILE``, which the compiler mapped in Coral's DeepLab EdgeTPU-slim file);
- every tensor it reads or writes, constants aside, is 8-bit (the Edge TPU computes on uint8 or
  int8 only; a ``QUANTIZE`` from float and a ``DEQUANTIZE`` run on the host);
- a ``RESIZE_BILINEAR`` / ``RESIZE_NEAREST_NEIGHBOR`` enlarges neither axis more than
  :data:`MAX_RESIZE` times (the documentation: "depending on input/output size, this
  operation may not be mapped ... to avoid loss in precision"; Coral's files put an x2
  upsampling on the Edge TPU (MoveNet) and x15.5 and x33 ones on the CPU (DeepLab)).

:func:`edgetpu_ops` applies the rule; :func:`edgetpu_part` writes the mapped ops as a model, so
a compiled file's Edge TPU part can be loaded as a :class:`~tpusplit.graph.Graph` even when
the whole model has custom ops (PoseNet's decoder) or control the graph reader rejects.
"""

from __future__ import annotations

import copy

from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph.tflite import GraphError, opcode_name, parse, serialize

#: Builtin ops Coral's compiler can map to the Edge TPU (documentation, compiler 16) and TILE.
EDGETPU_OPS = frozenset({
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "EXPAND_DIMS",
    "FULLY_CONNECTED", "HARD_SWISH", "L2_NORMALIZATION", "LOGISTIC", "MAXIMUM", "MAX_POOL_2D",
    "MEAN", "MINIMUM", "MUL", "PACK", "PAD", "PRELU", "QUANTIZE", "REDUCE_MAX", "REDUCE_MIN",
    "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE", "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR",
    "RSQRT", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT", "SQUARED_DIFFERENCE", "SQUEEZE",
    "STRIDED_SLICE", "SUB", "SUM", "TANH", "TILE", "TRANSPOSE", "TRANSPOSE_CONV",
})
#: Largest per-axis enlargement of a resize the compiler maps (the data: x2 mapped, x15.5 not).
MAX_RESIZE = 2.0
_EIGHT_BIT = frozenset({schema.TensorType.INT8, schema.TensorType.UINT8})


def _constant(model: schema.ModelT, t: schema.TensorT) -> bool:
    buffers = model.buffers or []
    return 0 < t.buffer < len(buffers) and buffers[t.buffer].data is not None \
        and len(buffers[t.buffer].data) > 0


def supported(model: schema.ModelT, index: int) -> bool:
    """Whether op ``index`` of the model's first subgraph can run on the Edge TPU (see above)."""
    sg = model.subgraphs[0]
    op = sg.operators[index]
    code = model.operatorCodes[op.opcodeIndex]
    name = opcode_name(code)
    if name not in EDGETPU_OPS:
        return False
    tensors = [sg.tensors[int(t)] for t in [*(op.inputs if op.inputs is not None else []),
                                            *(op.outputs if op.outputs is not None else [])]
               if int(t) >= 0]
    if any(t.type not in _EIGHT_BIT for t in tensors if not _constant(model, t)):
        return False
    if name in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        src = sg.tensors[int(op.inputs[0])].shape
        dst = sg.tensors[int(op.outputs[0])].shape
        if src is None or dst is None or len(src) != 4 or len(dst) != 4:
            return False
        return all(int(b) <= MAX_RESIZE * int(a) for a, b in zip(src[1:3], dst[1:3],
                                                                  strict=True))
    return True


def edgetpu_ops(model: schema.ModelT) -> list[int]:
    """Indices (in execution order) of the ops the compiler maps to the Edge TPU.

    An op is mapped when it is :func:`supported` and does not depend on an unmapped op that
    itself depends on a mapped op; unmapped ops that depend on no mapped op are the host's
    input preparation and run before the Edge TPU part. O(ops + tensor references).
    """
    sg = model.subgraphs[0]
    ops = sg.operators or []
    producer: dict[int, int] = {}
    for k, op in enumerate(ops):
        for t in op.outputs if op.outputs is not None else []:
            producer[int(t)] = k
    mapped = [False] * len(ops)
    after_tpu = [False] * len(ops)  # an unmapped op downstream of the Edge TPU part
    for k, op in enumerate(ops):
        preds = [producer[int(t)] for t in (op.inputs if op.inputs is not None else [])
                 if int(t) in producer]
        blocked = any(after_tpu[p] for p in preds)
        if not blocked and supported(model, k):
            mapped[k] = True
        else:
            after_tpu[k] = blocked or any(mapped[p] for p in preds)
    return [k for k in range(len(ops)) if mapped[k]]


def edgetpu_part(data: bytes, source: str) -> tuple[bytes, int]:
    """The Edge TPU part of a TFLite model as a model of its own, and the number of CPU ops.

    The part keeps the mapped ops in execution order; its inputs are the tensors they read
    from outside (the model input, or what the host prepared), its outputs the tensors they
    write that an unmapped op or the model's output uses. Tensors, buffers and operator codes
    are kept as they are (unused ones included), so tensor indices match the original model.
    Raises :class:`GraphError` if the model has several subgraphs or nothing is mapped.
    """
    model = parse(data, source)
    if len(model.subgraphs or []) != 1:
        raise GraphError(f"{source}: has {len(model.subgraphs or [])} subgraphs; only "
                         "single-subgraph models are supported")
    keep = edgetpu_ops(model)
    if not keep:
        raise GraphError(f"{source}: no op of the model can run on the Edge TPU")
    total = len(model.subgraphs[0].operators or [])
    return _part(model, keep), total - len(keep)


def _part(model: schema.ModelT, keep: list[int]) -> bytes:
    sg = model.subgraphs[0]
    ops = list(sg.operators or [])
    kept = set(keep)
    produced = {int(t) for k in keep for t in ops[k].outputs}
    inputs: list[int] = []
    for k in keep:
        for t in ops[k].inputs if ops[k].inputs is not None else []:
            t = int(t)
            if t >= 0 and t not in produced and not _constant(model, sg.tensors[t]) \
                    and t not in inputs:
                inputs.append(t)
    outside = {int(t) for k, op in enumerate(ops) if k not in kept
               for t in (op.inputs if op.inputs is not None else [])}
    outside |= {int(t) for t in sg.outputs}
    part = copy.copy(model)
    part_sg = copy.copy(sg)
    part_sg.operators = [ops[k] for k in keep]
    part_sg.inputs = inputs
    part_sg.outputs = sorted(t for t in produced if t in outside)
    part.subgraphs = [part_sg]
    part.signatureDefs = None
    return serialize(part)
