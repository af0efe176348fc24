"""``tpusplit run``: a model with cuts or a plan, segment files, inputs from files, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tpusplit.graph import load, split
from tpusplit.models.synthetic import conv

Cli = Callable[..., tuple[int, str, str]]


def test_run_with_cuts_check_and_json(cli: Cli, model: Path) -> None:
    code, out, err = cli("run", model, "--cuts", "2,4", "--random", "12", "--check", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["segments"] == 3 and data["cuts"] == [2, 4] and data["count"] == 12
    assert data["check"]["bit_exact"] is True and data["check"]["compared"] == 12
    assert len(data["stages"]) == 3 and all(s["items"] == 12 for s in data["stages"])
    assert data["latency_ms"]["p50"] > 0 and data["throughput_ips"] > 0


def test_run_human_output(cli: Cli, model: Path) -> None:
    code, out, _ = cli("run", model, "--cuts", "3", "--random", "5", "--check", "--pin")
    assert code == 0
    assert "inferences/s" in out and "utilisation" in out
    assert "bit-exact with the whole model on 5 input(s): yes" in out


def test_run_with_a_plan_from_the_profiler(cli: Cli, model: Path, tmp_path: Path) -> None:
    from tpusplit.profiling.cpu import ProfilerCost
    from tpusplit.strategies import plan

    graph = load(model)
    p = plan(graph, 2, ProfilerCost(graph, warmup=1, repeats=3, min_seconds=0), "optimal")
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(p.to_json())
    code, out, err = cli("run", model, "--plan", plan_path, "--random", "4", "--check",
                         "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["cuts"] == list(p.cuts) and data["check"]["bit_exact"]


def test_run_segment_files_and_input_files(cli: Cli, model: Path, tmp_path: Path) -> None:
    graph = load(model)
    segs = []
    for i, blob in enumerate(split(graph, [2])):
        segs.append(tmp_path / f"seg{i}.tflite")
        segs[-1].write_bytes(blob)
    name = graph.tensors[graph.inputs[0]].name
    batch = np.random.default_rng(0).uniform(-1, 1, (7, 16, 16, 3))  # float64: cast
    np.save(tmp_path / "batch.npy", batch)
    code, out, err = cli("run", *segs, "--inputs", tmp_path / "batch.npy", "--check",
                         "--reference", model, "--json")
    assert code == 0, err
    assert json.loads(out)["count"] == 7 and json.loads(out)["check"]["bit_exact"]
    d = tmp_path / "inputs"
    d.mkdir()
    np.savez(d / "a.npz", **{name: batch[:2].astype(np.float32)})
    np.save(d / "b.npy", batch[0][None].astype(np.float32))
    code, out, err = cli("run", model, "--cuts", "2", "--inputs", d, "--json")
    assert code == 0, err
    assert json.loads(out)["count"] == 3


def test_check_failure_exits_1(cli: Cli, model: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.tflite"
    other.write_bytes(conv(8, layers=3, size=16))
    graph = load(model)
    seg = tmp_path / "s.tflite"
    seg.write_bytes(split(graph, [])[0])
    # another model as the reference is refused before anything runs (issue 19)
    code, _out, err = cli("run", seg, "--random", "2", "--check", "--reference", other)
    assert code == 2 and "not the model these segments were split from" in err


def test_a_failed_check_exits_1(cli: Cli, model: Path, monkeypatch: pytest.MonkeyPatch
                                ) -> None:
    from tpusplit.api import running
    from tpusplit.pipeline.assemble import CheckResult

    def mismatch(checker, feeds, results):  # type: ignore[no-untyped-def]
        return CheckResult(len(feeds), [(0, "out", 3.0)])

    monkeypatch.setattr(running, "check_outputs", mismatch)
    code, out, _ = cli("run", model, "--cuts", "2", "--random", "2", "--check")
    assert code == 1 and "bit-exact with the whole model: NO" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--random", "3", "--inputs", "x.npy"], "give --inputs or --random, not both"),
    (["--cuts", "2", "--plan", "p.json"], "give --plan or --cuts, not both"),
    (["--cuts", "2", "--device", "gpu"], "unknown device 'gpu'"),
    (["--cuts", "99"], "cut 99 is outside"),
    (["--plan", "missing.json"], "missing.json: no such file"),
])
def test_bad_arguments_are_one_line_errors(cli: Cli, model: Path, args: list[str],
                                           message: str) -> None:
    code, out, err = cli("run", model, *args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def test_bad_files_are_one_line_errors(cli: Cli, model: Path, tmp_path: Path) -> None:
    graph = load(model)
    a, b = split(graph, [2])
    pa, pb = tmp_path / "a.tflite", tmp_path / "b.tflite"
    pa.write_bytes(a)
    pb.write_bytes(b)
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        ((pb, pa), "give the segments in pipeline order"),
        ((pa, pb, "--check"), "--check with segment files needs --reference"),
        ((tmp_path / "nope.tflite",), "nope.tflite: no such file"),
        ((model, "--cuts", "2", "--inputs", empty), "no .npy or .npz files"),
    ]
    np.save(tmp_path / "wrong.npy", np.zeros((2, 5, 5, 3), np.float32))
    cases.append(((model, "--cuts", "2", "--inputs", tmp_path / "wrong.npy"),
                  "has shape (2, 5, 5, 3)"))
    np.savez(tmp_path / "w.npz", other=np.zeros((1, 16, 16, 3), np.float32))
    cases.append(((model, "--cuts", "2", "--inputs", tmp_path / "w.npz"), "no array named"))
    (tmp_path / "junk.npy").write_bytes(b"junk")
    cases.append(((model, "--cuts", "2", "--inputs", tmp_path / "junk.npy"),
                  "junk.npy: cannot read inputs"))
    for args, message in cases:
        code, _, err = cli("run", *args)
        assert code == 2, (args, err)
        assert message in err and len(err.strip().splitlines()) == 1, (args, err)


def test_edgetpu_without_runtime_says_so(cli: Cli, model: Path) -> None:
    import ctypes.util

    if ctypes.util.find_library("edgetpu"):
        pytest.skip("libedgetpu is installed here")
    code, _, err = cli("run", model, "--cuts", "2", "--device", "edgetpu")
    assert code == 2 and "libedgetpu is not installed" in err


def test_ctrl_c_stops_every_worker(cli: Cli, tmp_path: Path) -> None:
    """Ctrl-C (KeyboardInterrupt in the main thread) mid-run: exit 130, no worker left."""
    import _thread
    import threading
    import time

    from tpusplit.models.synthetic import fc

    model = tmp_path / "fc.tflite"
    model.write_bytes(fc(32))
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    code, _, err = cli("run", model, "--cuts", "3,6", "--random", "60000")
    timer.cancel()
    assert code == 130 and "Traceback" not in err, (code, err)  # typer turns it into 130
    assert time.perf_counter() - t0 < 20
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("tpusplit-")]
