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
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, MemoryError) as exc:
        raise GraphError(f"{source}: corrupt or truncated TFLite flatbuffer ({exc})") from None
    _validate(model, len(data), source)
    return model


def _validate(model: schema.ModelT, size: int, source: str) -> None:
    """Structural checks the flatbuffer parser does not make."""
    corrupt = f"{source}: corrupt or truncated TFLite flatbuffer"
    buffers = model.buffers or []
    codes = model.operatorCodes or []
    for sg in model.subgraphs or []:
        tensors = sg.tensors or []
        for t in tensors:
            if not 0 <= t.buffer < max(len(buffers), 1):
                raise GraphError(f"{corrupt} (tensor buffer index {t.buffer} out of range)")
            buf = buffers[t.buffer] if buffers else None
            if buf is not None and buf.offset and buf.offset + buf.size > size:
                raise GraphError(f"{corrupt} (buffer {t.buffer} lies past the end of the file)")
            if buf is not None and buf.data is not None and len(buf.data) and t.type in DTYPES:
                need = int(np.prod(t.shape if t.shape is not None else [], dtype=np.int64))
                need *= DTYPES[t.type].itemsize
                if t.sparsity is None and len(buf.data) < need:
                    raise GraphError(
                        f"{corrupt} (constant tensor {_name(t)!r} has {len(buf.data)} bytes, "
                        f"its shape needs {need})"
                    )
        for op in sg.operators or []:
            if not 0 <= op.opcodeIndex < len(codes):
                raise GraphError(f"{corrupt} (operator code index {op.opcodeIndex} out of range)")
            for i in [*(op.inputs if op.inputs is not None else []),
                      *(op.outputs if op.outputs is not None else [])]:
                if not -1 <= i < len(tensors):
                    raise GraphError(f"{corrupt} (tensor index {i} out of range)")
        for i in [*(sg.inputs if sg.inputs is not None else []),
                  *(sg.outputs if sg.outputs is not None else [])]:
            if not 0 <= i < len(tensors):
                raise GraphError(f"{corrupt} (model input/output index {i} out of range)")


def _name(t: schema.TensorT) -> str:
    n = t.name
    return n.decode() if isinstance(n, bytes) else str(n)


def serialize(model: schema.ModelT) -> bytes:
    """Pack a ``ModelT`` into TFLite bytes with the ``TFL3`` file identifier."""
    data_bytes = sum(len(b.data) for b in model.buffers or [] if b.data is not None)
    builder = flatbuffers.Builder(data_bytes + MiB)  # headroom: no regrowth copies
    builder.Finish(model.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())
