"""TFLite flatbuffer I/O: parse bytes into the schema's object API with clear errors, and back."""

from __future__ import annotations

import struct
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tpusplit.errors import TpusplitError
from tpusplit.units import MiB

FILE_IDENTIFIER = b"TFL3"

#: numpy dtype for each ``schema.TensorType`` value we can size.
DTYPES: dict[int, np.dtype[Any]] = {
    schema.TensorType.FLOAT32: np.dtype(np.float32),
    schema.TensorType.FLOAT16: np.dtype(np.float16),
    schema.TensorType.FLOAT64: np.dtype(np.float64),
    schema.TensorType.INT32: np.dtype(np.int32),
    schema.TensorType.UINT8: np.dtype(np.uint8),
    schema.TensorType.INT64: np.dtype(np.int64),
    schema.TensorType.BOOL: np.dtype(np.bool_),
    schema.TensorType.INT16: np.dtype(np.int16),
    schema.TensorType.INT8: np.dtype(np.int8),
    schema.TensorType.UINT32: np.dtype(np.uint32),
    schema.TensorType.UINT16: np.dtype(np.uint16),
    schema.TensorType.UINT64: np.dtype(np.uint64),
}

_OPCODE_NAMES: dict[int, str] = {
    v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")
}
_TYPE_NAMES: dict[int, str] = {
    v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")
}


class GraphError(TpusplitError):
    """A model file tpusplit cannot read or split."""


def opcode_name(code: schema.OperatorCodeT) -> str:
    """Name of an operator code: the larger of ``builtinCode`` and ``deprecatedBuiltinCode``.

    Custom operators are named ``CUSTOM`` (their ``customCode`` is kept separately).
    """
    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    return _OPCODE_NAMES.get(builtin, f"BUILTIN_{builtin}")


def type_name(tensor_type: int) -> str:
    """Lower-case name of a ``schema.TensorType`` value (``int8``, ``float32``...)."""
    return _TYPE_NAMES.get(tensor_type, f"type{tensor_type}").lower()


def parse(data: bytes, source: str) -> schema.ModelT:
    """Parse TFLite bytes into a ``ModelT``, raising :class:`GraphError` naming ``source``.

    The checks are cheap and catch what users actually hand us: empty files, files that are
    not TFLite (no ``TFL3`` identifier), and truncated or corrupt flatbuffers (parse errors,
    indices out of range, constant buffers shorter than their tensor).
    """
    if len(data) == 0:
        raise GraphError(f"{source}: empty file, not a TFLite model")
    if len(data) < 8 or data[4:8] != FILE_IDENTIFIER:
        raise GraphError(f"{source}: not a TFLite model (no 'TFL3' file identifier)")
    try:
        root = schema.Model.GetRootAs(data, 0)
        model = schema.ModelT.InitFromObj(root)
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, MemoryError,
            UnicodeDecodeError) as exc:
        raise GraphError(f"{source}: corrupt or truncated TFLite flatbuffer ({exc})") from None
    validate(model, len(data), source)
    return model


#: LiteRT's own limit on a tensor's element count (``int`` sizes in its kernels).
MAX_ELEMENTS = 2**31 - 1


def _text(value: object, what: str, corrupt: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise GraphError(f"{corrupt} ({what} is not UTF-8 text)") from None
    return "" if value is None else str(value)


def _index(i: object, n: int, what: str, corrupt: str, optional: bool = False) -> int:
    k = int(i)  # type: ignore[call-overload]
    if not (-1 if optional else 0) <= k < n:
        raise GraphError(f"{corrupt} ({what} {k} out of range)")
    return k


def validate(model: schema.ModelT, size: int, source: str) -> None:
    """Structural checks the flatbuffer parser does not make, each a one-line
    :class:`GraphError` naming ``source``: indices in range (tensors, buffers, operator
    codes, metadata, intermediates), buffers inside the file, constant data as long as its
    shape, text that is UTF-8, shapes LiteRT can hold (no negative dimension, at most
    :data:`MAX_ELEMENTS` elements), every tensor an op reads written before by one op only
    (or a model input, a constant, a variable), no op writing a model input or a constant,
    every model output written, and the inputs and options tpusplit reads of each op
    (:func:`tpusplit.graph.opcost.work_problem`). O(ops + tensors + buffers)."""
    from tpusplit.graph.opcost import work_problem

    corrupt = f"{source}: corrupt or truncated TFLite flatbuffer"
    buffers = model.buffers or []
    codes = model.operatorCodes or []
    nb = max(len(buffers), 1)
    for b, buf in enumerate(buffers):
        if buf is not None and buf.offset and buf.offset + buf.size > size:
            raise GraphError(f"{corrupt} (buffer {b} lies past the end of the file)")
    for md in model.metadata or []:
        _index(md.buffer, nb, "metadata buffer index", corrupt)
    for b in model.metadataBuffer if model.metadataBuffer is not None else []:
        _index(b, nb, "metadata buffer index", corrupt)
    names = []
    for k, code in enumerate(codes):
        names.append(opcode_name(code))
        _text(code.customCode, f"custom code of operator code {k}", corrupt)
    for sg in model.subgraphs or []:
        tensors = sg.tensors or []
        nt = len(tensors)
        constant = [False] * nt
        for ti, t in enumerate(tensors):
            _index(t.buffer, nb, "tensor buffer index", corrupt)
            _text(t.name, f"the name of tensor {ti}", corrupt)
            shape = [int(d) for d in (t.shape if t.shape is not None else [])]
            if any(d < 0 for d in shape):
                raise GraphError(f"{corrupt} (tensor {ti} has a negative dimension: {shape})")
            elements = 1
            for d in shape:
                elements *= d
            if elements > MAX_ELEMENTS:
                raise GraphError(f"{corrupt} (tensor {ti} has {elements:,} elements; LiteRT "
                                 f"holds at most {MAX_ELEMENTS:,})")
            buf = buffers[t.buffer] if buffers else None
            held = 0 if buf is None else (len(buf.data) if buf.data is not None
                                          else int(buf.size) if buf.offset else 0)
            constant[ti] = held > 0 and not t.isVariable
            if buf is not None and buf.data is not None and len(buf.data) and t.type in DTYPES:
                need = elements * DTYPES[t.type].itemsize
                if t.sparsity is None and len(buf.data) < need:
                    raise GraphError(
                        f"{corrupt} (constant tensor {_name(t)!r} has {len(buf.data)} bytes, "
                        f"its shape needs {need})"
                    )
        inputs = {_index(i, nt, "model input index", corrupt)
                  for i in (sg.inputs if sg.inputs is not None else [])}
        outputs = [_index(i, nt, "model output index", corrupt)
                   for i in (sg.outputs if sg.outputs is not None else [])]
        written: dict[int, int] = {}
        for k, op in enumerate(sg.operators or []):
            oc = _index(op.opcodeIndex, len(codes), "operator code index", corrupt)
            ins = [_index(i, nt, "tensor index", corrupt, optional=True)
                   for i in (op.inputs if op.inputs is not None else [])]
            outs = [_index(i, nt, "tensor index", corrupt, optional=True)
                    for i in (op.outputs if op.outputs is not None else [])]
            for i in (op.intermediates if op.intermediates is not None else []):
                _index(i, nt, "intermediate tensor index", corrupt, optional=True)
            problem = work_problem(names[oc], op.builtinOptions, ins)
            if problem is not None:
                raise GraphError(f"{corrupt} (op {k}: {problem})")
            for i in ins:
                if i < 0 or i in inputs or constant[i] or tensors[i].isVariable:
                    continue
                if i not in written:
                    raise GraphError(f"{corrupt} (op {k} reads tensor {i}, which no earlier "
                                     "op writes and is not a model input or a constant)")
            for i in outs:
                if i < 0 or tensors[i].isVariable:
                    continue
                if i in written:
                    raise GraphError(f"{corrupt} (tensor {i} is written by ops {written[i]} "
                                     f"and {k})")
                if i in inputs or constant[i]:
                    raise GraphError(f"{corrupt} (op {k} writes tensor {i}, a model "
                                     f"{'input' if i in inputs else 'constant'})")
                written[i] = k
        for i in outputs if sg.operators else []:  # no ops at all: load() says so
            if i not in written and i not in inputs and not constant[i]:
                raise GraphError(f"{corrupt} (model output tensor {i} is written by no op)")


def _name(t: schema.TensorT) -> str:
    n = t.name
    return n.decode() if isinstance(n, bytes) else str(n)


def serialize(model: schema.ModelT) -> bytes:
    """Pack a ``ModelT`` into TFLite bytes with the ``TFL3`` file identifier."""
    data_bytes = sum(len(b.data) for b in model.buffers or [] if b.data is not None)
    builder = flatbuffers.Builder(data_bytes + MiB)  # headroom: no regrowth copies
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())
