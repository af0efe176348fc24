"""Bad model files give one clear line naming the file: from the library and from the CLI."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph import GraphError, load
from tpusplit.graph.tflite import parse, serialize
from tpusplit.models.synthetic import conv


def _two_subgraphs() -> bytes:
    model = parse(conv(4, layers=2, size=8), "m")
    model.subgraphs.append(copy.copy(model.subgraphs[0]))
    return serialize(model)


def _custom_op(code: str) -> bytes:
    model = parse(conv(4, layers=2, size=8), "m")
    oc = schema.OperatorCodeT()
    oc.builtinCode = oc.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    oc.customCode = code
    model.operatorCodes.append(oc)
    model.subgraphs[0].operators[1].opcodeIndex = len(model.operatorCodes) - 1
    return serialize(model)


def _no_ops() -> bytes:
    model = parse(conv(4, layers=2, size=8), "m")
    model.subgraphs[0].operators = []
    return serialize(model)


def _truncated() -> bytes:
    data = conv(16, layers=3, size=8)
    return data[: len(data) * 2 // 3]


BAD: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "empty file"),
    "random": (lambda: np.random.default_rng(0).bytes(4096), "not a TFLite model"),
    "json": (lambda: b'{"model": "resnet50", "layers": [1, 2, 3]}\n', "not a TFLite model"),
    "truncated": (_truncated, "corrupt or truncated"),
    "two_subgraphs": (_two_subgraphs, "has 2 subgraphs"),
    "edgetpu": (lambda: _custom_op("edgetpu-custom-op"), "split the model before compiling"),
    "custom": (lambda: _custom_op("MyOp"), "custom op 'MyOp'"),
    "no_ops": (_no_ops, "no operators"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_library_error(kind: str, tmp_path: Path) -> None:
    make, message = BAD[kind]
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(make())
    with pytest.raises(GraphError, match=message) as err:
        load(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ") and "\n" not in text


@pytest.mark.parametrize("kind", sorted(BAD))
def test_cli_error_is_one_line_without_traceback(
        kind: str, tmp_path: Path, cli: Callable[..., tuple[int, str, str]]) -> None:
    make, message = BAD[kind]
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(make())
    out_dir = tmp_path / "out"
    for args in (["inspect", path], ["split", path, "--cuts", "1", "-o", out_dir]):
        code, _out, err = cli(*args)
        assert code != 0
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(path) in lines[0]
        assert message in lines[0]
        assert "Traceback" not in err
        assert not out_dir.exists()


def test_every_truncation_is_caught() -> None:
    """No prefix of a model loads (the flatbuffer's offsets and the buffers' sizes reach the
    end of the file), and each failure is the one-line error naming the file."""
    data = conv(4, layers=2, size=8)
    for cut in range(0, len(data), max(1, len(data) // 97)):
        with pytest.raises(GraphError) as err:
            load(data[:cut], name="t.tflite")
        assert str(err.value).startswith("t.tflite: ") and "\n" not in str(err.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="no such file"):
        load(tmp_path / "nope.tflite")
    with pytest.raises(GraphError, match="is a directory"):
        load(tmp_path)
