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



def _mutated(change: Callable[[schema.ModelT], None], model: bytes | None = None) -> bytes:
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAs(model or conv(8, size=8), 0))
    change(m)
    return serialize(m)


def _ops(m: schema.ModelT) -> list[schema.OperatorT]:
    return m.subgraphs[0].operators  # type: ignore[no-any-return]


def _set(obj: object, **fields: object) -> None:
    for k, v in fields.items():
        setattr(obj, k, v)


def _pool_model() -> bytes:
    from tpusplit.files import data_dir

    return (data_dir() / "coral-reference" / "models" /
            "mobilenet_v1_0.25_128_quant.tflite").read_bytes()


def _pool_without_options(m: schema.ModelT) -> None:
    codes = [int(c.builtinCode) for c in m.operatorCodes]
    for op in _ops(m):
        if codes[op.opcodeIndex] == schema.BuiltinOperator.AVERAGE_POOL_2D:
            _set(op, builtinOptions=None, builtinOptionsType=0)


#: One exact repro per class of traceback the fuzzer found in tpusplit 0.2 (issue 19): each
#: raised IndexError, UnicodeDecodeError, KeyError, AssertionError or OverflowError.
FUZZ_REPROS: dict[str, tuple[Callable[[], bytes], str]] = {
    "tensor_name_not_utf8": (lambda: _mutated(
        lambda m: _set(m.subgraphs[0].tensors[1], name=b"\xff\xfe")), "is not UTF-8"),
    "custom_code_not_utf8": (lambda: _mutated(
        lambda m: _set(m.operatorCodes[0], customCode=b"\xc3\x28")), "is not UTF-8"),
    "conv_without_filter": (lambda: _mutated(
        lambda m: _set(_ops(m)[1], inputs=list(_ops(m)[1].inputs)[:1])),
        "CONV_2D needs 2 input(s), has 1"),
    "quantize_without_input": (lambda: _mutated(lambda m: _set(_ops(m)[0], inputs=[])),
                               "QUANTIZE needs 1 input(s), has 0"),
    "pool_without_options": (lambda: _mutated(_pool_without_options, _pool_model()),
                             "has no Pool2DOptions"),
    "absent_output": (lambda: _mutated(lambda m: _set(_ops(m)[-1], outputs=[-1])),
                      "is written by no op"),
    "metadata_buffer_out_of_range": (lambda: _mutated(lambda m: _set(
        m, metadata=[_set_md(schema.MetadataT())])), "metadata buffer index"),
    "intermediate_out_of_range": (lambda: _mutated(
        lambda m: _set(_ops(m)[1], intermediates=[10**6])), "intermediate tensor index"),
    "huge_shape": (lambda: _mutated(
        lambda m: _set(m.subgraphs[0].tensors[1], shape=[2**31 - 1, 2**31 - 1])),
        "elements; LiteRT holds at most"),
    "negative_dimension": (lambda: _mutated(
        lambda m: _set(m.subgraphs[0].tensors[1], shape=[1, -3, 8, 8])), "negative dimension"),
    "written_twice": (lambda: _mutated(
        lambda m: _set(_ops(m)[2], outputs=list(_ops(m)[1].outputs))), "is written by ops"),
    "writes_a_model_input": (lambda: _mutated(
        lambda m: _set(_ops(m)[1], outputs=[m.subgraphs[0].inputs[0]])), "a model input"),
    "reads_a_tensor_nothing_writes": (lambda: _mutated(
        lambda m: _ops(m).reverse()), "which no earlier op writes"),
}


def _set_md(md: schema.MetadataT) -> schema.MetadataT:
    md.name, md.buffer = b"x", 10**6
    return md


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


@pytest.mark.parametrize("kind", sorted(FUZZ_REPROS))
def test_fuzz_repro_is_one_line(kind: str, tmp_path: Path,
                                cli: Callable[..., tuple[int, str, str]]) -> None:
    make, message = FUZZ_REPROS[kind]
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(make())
    with pytest.raises(GraphError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)
    for args in (["inspect", path], ["simulate", path], ["split", path, "--cuts", "1", "-o",
                                                          tmp_path / "out"]):
        code, _out, errs = cli(*args)
        lines = errs.strip().splitlines()
        assert code != 0 and len(lines) == 1 and str(path) in lines[0], errs
        assert "Traceback" not in errs and not (tmp_path / "out").exists()



@pytest.mark.parametrize("cuts", [["a"], [float("nan")], [float("inf")], [None], [1.5]])
def test_cuts_that_are_not_op_indices_are_one_line_errors(cuts: list[object]) -> None:
    from tpusplit.graph import check_cuts

    graph = load(conv(8, size=8), name="m.tflite")
    with pytest.raises(GraphError, match=r"m.tflite: cut .* is not an op index"):
        check_cuts(graph, cuts)  # type: ignore[arg-type]
