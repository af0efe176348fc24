"""examples/pycoral_pipeline.py against tpusplit's own runner, with a stand-in pycoral.

:class:`CoralRunner` does what libcoral's ``PipelinedModelRunner`` does with interpreters:
it refuses a chain where a segment's output is not consumed by the next segment (or a
segment reads what its predecessor does not output), pushes ``{name: array}`` to the first
segment, gives each segment its predecessor's outputs by name, returns the last segment's
outputs, and ends on ``push({})``. The example's order and names must give tpusplit's
runner's results, bit for bit, on segments from ``tpusplit split --compile``.
"""

from __future__ import annotations

import importlib.util
import queue
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.graph import load
from tpusplit.models.random_net import random_net
from tpusplit.pipeline import LiteRTBackend, Pipeline, read_segments
from tpusplit.pipeline.assemble import io_names
from tpusplit.strategies import plan

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
Cli = Callable[..., tuple[int, str, str]]


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("pycoral_pipeline",
                                                  ROOT / "examples" / "pycoral_pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


example = load_example()


class CoralRunner:
    """libcoral's PipelinedModelRunner semantics on LiteRT interpreters (see module doc)."""

    def __init__(self, interpreters: list[Any]) -> None:
        self._its = interpreters
        for i in range(len(interpreters) - 1):
            outs = {d["name"] for d in interpreters[i].get_output_details()}
            ins = {d["name"] for d in interpreters[i + 1].get_input_details()}
            if outs != ins:
                raise RuntimeError(f"segment {i} outputs {sorted(outs - ins)} not consumed, "
                                   f"segment {i + 1} inputs {sorted(ins - outs)} not produced")
        self._out: queue.Queue[dict[str, np.ndarray]] = queue.Queue()

    def interpreters(self) -> list[Any]:
        return self._its

    def push(self, tensors: dict[str, np.ndarray]) -> bool:
        if not tensors:
            self._out.put({})
            return True
        for it in self._its:
            for d in it.get_input_details():
                it.set_tensor(d["index"], tensors[d["name"]])
            it.invoke()
            tensors = {d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()}
        self._out.put(tensors)
        return True

    def pop(self) -> dict[str, np.ndarray]:
        return self._out.get(timeout=30)


def make_interpreter(path: str, device: str | None = None) -> Interpreter:
    assert device in ("usb:0", "usb:1", "pci:0", ":0", ":1", ":2")
    return Interpreter(model_path=path)


@pytest.fixture
def compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    exe = tmp_path / "bin" / "edgetpu_compiler"
    exe.parent.mkdir()
    script = (FIXTURES / "edgetpu_compiler" / "fake_edgetpu_compiler.py").read_text()
    exe.write_text(f"#!{sys.executable}\n{script}")
    exe.chmod(0o755)
    monkeypatch.setenv("TPUSPLIT_EDGETPU_COMPILER", str(exe))
    return exe


def test_segment_order() -> None:
    names = [f"m_segment_{i}_of_4_edgetpu.tflite" for i in range(4)]
    shuffled = names[:]
    random.Random(1).shuffle(shuffled)
    assert [p.name for p in example.segment_order(shuffled)] == names
    assert [p.name for p in example.segment_order(["a_segment_10_of_11.tflite", *(
        f"a_segment_{i}_of_11.tflite" for i in range(10))])][-2:] == [
        "a_segment_9_of_11.tflite", "a_segment_10_of_11.tflite"]
    for bad, message in [(names[:3], r"segments missing: \[3\]"),
                         ([*names, names[0]], "given twice"),
                         (["model.tflite"], "not a segment file"),
                         ([names[0], "m_segment_1_of_3.tflite"], "segment of 3")]:
        with pytest.raises(ValueError, match=message):
            example.segment_order(bad)


@pytest.mark.parametrize("seed", [0, 3])
def test_example_matches_tpusplit_runner(cli: Cli, compiler: Path, tmp_path: Path,
                                         seed: int) -> None:
    model = tmp_path / "net.tflite"
    model.write_bytes(random_net(seed))
    graph = load(model)
    chosen = plan(graph, 3, EdgeTPUCost(graph, "edgetpu-usb3"), "optimal")
    chosen.save(tmp_path / "plan.json")
    code, _, err = cli("split", model, "--plan", tmp_path / "plan.json", "--compile", "-o",
                       tmp_path / "segs")
    assert code == 0, err
    files = [str(p) for p in (tmp_path / "segs").glob("*_edgetpu.tflite")]
    random.Random(seed).shuffle(files)
    ordered = example.segment_order(files)
    runner = example.make_runner(ordered, ["usb:0", "pci:0", "usb:1"], make_interpreter,
                                 CoralRunner)
    ins, outs = io_names(graph)
    assert example.input_names(runner) == ins  # push takes the model's input names
    inputs = example.random_inputs(runner, 5, seed=seed)
    got = example.run(runner, inputs)
    stages = read_segments(ordered, LiteRTBackend())
    with Pipeline(stages, outputs=outs) as pipe:
        assert list(pipe.input_names) == ins
        want = list(pipe.run(inputs))
    assert len(got) == len(want) == 5
    for g, w in zip(got, want, strict=True):
        assert sorted(g) == sorted(outs)  # every model output, the early one included
        for name in outs:
            assert np.array_equal(g[name], w[name]), name
    whole = Interpreter(model_path=str(model))
    whole.allocate_tensors()
    for feeds, result in zip(inputs, got, strict=True):
        for d in whole.get_input_details():
            whole.set_tensor(d["index"], feeds[d["name"]])
        whole.invoke()
        for d in whole.get_output_details():
            assert np.array_equal(whole.get_tensor(d["index"]), result[d["name"]])


def test_coral_runner_refuses_a_plain_split(cli: Cli, compiler: Path, tmp_path: Path) -> None:
    model = tmp_path / "net.tflite"
    model.write_bytes(random_net(0))
    side = load(model).output_ops[0]
    code, _, err = cli("split", model, "--cuts", f"{side - 2},{side + 3}", "--compile",
                       "--no-coral", "-o", tmp_path / "plain")
    assert code == 0, err
    files = example.segment_order((tmp_path / "plain").glob("*_edgetpu.tflite"))
    with pytest.raises(RuntimeError, match="not consumed"):
        example.make_runner(files, None, make_interpreter, CoralRunner)


def test_main_without_pycoral(monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "pycoral", None)
    assert example.main(["x_segment_0_of_1.tflite"]) == 2
    assert "pycoral is not installed" in capsys.readouterr().err


def test_main_with_a_stand_in_pycoral(cli: Cli, compiler: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    import types

    model = tmp_path / "net.tflite"
    model.write_bytes(random_net(2))
    code, _, err = cli("split", model, "--cuts", "6,20", "--compile", "-o", tmp_path / "s")
    assert code == 0, err
    modules = {name: types.ModuleType(name) for name in (
        "pycoral", "pycoral.pipeline", "pycoral.pipeline.pipelined_model_runner",
        "pycoral.utils", "pycoral.utils.edgetpu")}
    modules["pycoral.pipeline.pipelined_model_runner"].PipelinedModelRunner = CoralRunner  # type: ignore[attr-defined]
    modules["pycoral.utils.edgetpu"].make_interpreter = make_interpreter  # type: ignore[attr-defined]
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    files = [str(p) for p in (tmp_path / "s").glob("*_edgetpu.tflite")]
    assert example.main([*files, "--tpus", "usb:1,pci:0,usb:0", "--count", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("4 inferences through 3 segments")
