"""What a new user runs into in the first hour (issue 13), through the real entry point."""

from __future__ import annotations

import json
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tpusplit.devices.profiles import DEVICES as PROFILES
from tpusplit.graph import load, split
from tpusplit.models.synthetic import conv

Cli = Callable[..., tuple[int, str, str]]


def _one_line_error(code: int, err: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "╭" not in err and "│" not in err, err


@pytest.mark.parametrize("args", [
    ["plan", "{m}", "--tpus", "2", "--batch", "0"],
    ["run", "{m}", "--cuts", "2", "--random", "2", "--seed", "-1"],
    ["run", "{m}", "--cuts", "2", "--random", "0"],
    ["predictor", "collect", "-o", "{d}/x.csv", "--seed", "-1"],
    ["demo", "--tpus", "0"], ["demo", "--tpus", "-1"], ["demo", "--tpus", "1000"],
    ["demo", "--filters", "0"], ["demo", "--filters", "-3"], ["demo", "--random", "0"],
    ["demo", "--device", "cpu"], ["demo", "--device", "tpu9"],
    ["plan", "{m}"], ["plan", "{m}", "--tpus", "2", "--bogus"], ["nope"],
    ["split", "{m}", "-o", "{d}/out"],
])
def test_every_user_error_is_one_line(cli: Cli, model: Path, tmp_path: Path,
                                      args: list[str]) -> None:
    argv = [a.format(m=model, d=tmp_path) for a in args]
    before = set(Path(tempfile.gettempdir()).glob("tpusplit-demo-*"))
    code, out, err = cli(*argv)
    _one_line_error(code, err)
    assert set(Path(tempfile.gettempdir()).glob("tpusplit-demo-*")) == before
    if args[0] == "demo":
        assert out == "", "validated before building or printing anything"


def test_range_errors_name_the_option(cli: Cli, model: Path) -> None:
    _code, _, err = cli("plan", model, "--tpus", "2", "--batch", "0")
    assert "--batch" in err and "(see `tpusplit plan -h`)" in err


def test_check_against_another_model_is_one_line(cli: Cli, model: Path, tmp_path: Path) -> None:
    segs = []
    for i, blob in enumerate(split(load(model), [1, 2])):
        segs.append(tmp_path / f"s{i}.tflite")
        segs[-1].write_bytes(blob)
    other = tmp_path / "other.tflite"
    from tpusplit.models.synthetic import fc

    other.write_bytes(fc(16))
    code, _, err = cli("run", *segs, "--reference", other, "--check", "--random", "2")
    _one_line_error(code, err)
    assert str(other) in err and "not the model these segments come from" in err


def test_demo_writes_nothing_without_output_and_says_batch(cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.chdir(tmp_path)
    before = set(Path(tempfile.gettempdir()).iterdir())
    code, out, err = cli("demo", "--filters", "16", "--tpus", "2", "--random", "3")
    assert code == 0, err
    assert list(tmp_path.iterdir()) == []
    assert not {p for p in set(Path(tempfile.gettempdir()).iterdir()) - before
                if p.name.startswith("tpusplit")}
    assert "a batch of 15 inputs in flight" in out and "slowest stage" in out
    assert "whole model, 1 thread" in out and "speed-up" in out


def test_plan_compare_on_cpu_shows_one_figure_per_segment(cli: Cli, model: Path) -> None:
    code, out, err = cli("plan", model, "--tpus", "2", "--device", "cpu", "--compare",
                         "--json")
    assert code == 0, err
    rows = json.loads(out)
    seen: dict[tuple[int, int], float] = {}
    for r in rows:
        for s in r["segments"]:
            key = (s["ops"][0], s["ops"][1])
            assert seen.setdefault(key, s["latency_ms"]) == s["latency_ms"], key
    best = {r["strategy"]: r["bottleneck_ms"] for r in rows}["optimal"]
    assert all(best <= r["bottleneck_ms"] for r in rows)


def test_auto_with_compare_compares_at_the_chosen_n(cli: Cli, model: Path) -> None:
    code, out, err = cli("plan", model, "--tpus", "auto", "--max-tpus", "3", "--compare",
                         "--replicas", "1", "--json")
    assert code == 0, err
    doc = json.loads(out)
    n = {len(r["cuts"]) + 1 for r in doc["plans"]}
    assert len(n) == 1 and len(doc["auto"]["tried"]) == 3
    assert {r["strategy"] for r in doc["plans"]} >= {"compiler", "optimal"}


def test_a_plan_for_another_model_with_as_many_ops_is_refused(cli: Cli, tmp_path: Path) -> None:
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(conv(8, size=16))
    b.write_bytes(conv(16, size=16))
    assert len(load(a).ops) == len(load(b).ops)
    plan = tmp_path / "plan.json"
    assert cli("plan", a, "--tpus", "2", "-o", plan)[0] == 0
    for command in (["split", b, "--plan", plan, "-o", tmp_path / "out"],
                    ["run", b, "--plan", plan, "--random", "1"]):
        code, _, err = cli(*command)
        _one_line_error(code, err)
        assert "another model" in err
    assert not (tmp_path / "out").exists()


def test_written_files_are_readable_by_others(cli: Cli, model: Path, tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        assert cli("plan", model, "--tpus", "2", "-o", tmp_path / "p.json")[0] == 0
        assert cli("split", model, "--cuts", "2", "-o", tmp_path / "segs")[0] == 0
    finally:
        os.umask(old)
    for path in [tmp_path / "p.json", *(tmp_path / "segs").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_predictor_train_checks_the_output_before_training(cli: Cli, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("not, a, dataset\n")
    code, _, err = cli("predictor", "train", data, "-o", tmp_path / "missing" / "x.pkl")
    _one_line_error(code, err)
    assert "missing" in err and "does not exist" in err


def test_run_reports_the_one_thread_baseline_with_plan_field_names(cli: Cli, model: Path
                                                                  ) -> None:
    code, out, err = cli("run", model, "--cuts", "2", "--random", "4", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["whole_model_1_thread_ms"] > 0
    assert d["speedup"] == pytest.approx(d["whole_model_1_thread_ms"]
                                         / d["time_per_inference_ms"])
    assert {"time_per_inference_ms", "throughput_ips"} <= set(d)


def test_text_ranges_are_half_open_like_the_json(cli: Cli, model: Path) -> None:
    code, out, _ = cli("plan", model, "--tpus", "2", "--strategy", "compiler")
    assert code == 0
    cuts = json.loads(cli("plan", model, "--tpus", "2", "--strategy", "compiler",
                          "--json")[1])["cuts"]
    n = len(load(model).ops)
    assert f"[0, {cuts[0]})" in out and f"[{cuts[0]}, {n})" in out


def test_help_is_plain_and_devices_are_one_list(cli: Cli) -> None:
    helps = {}
    for command in ("plan", "run", "demo", "split", "inspect", "bench", "calibrate",
                    "simulate"):
        code, out, _ = cli(command, "-h")
        assert code == 0 and "<bool>" not in out and "╭" not in out, command
        helps[command] = " ".join(out.split())
    for command in ("plan", "run"):
        wrapped = helps[command].replace("- ", "-")  # help text wraps at hyphens
        assert all(f"{d}," in wrapped for d in PROFILES), command
    assert "--random" in helps["demo"] and "--inputs" not in helps["demo"]
    code, out, _ = cli("--version")
    assert code == 0 and out.startswith("tpusplit ")


def test_null_device_runs_the_wiring(cli: Cli, model: Path) -> None:
    code, out, err = cli("run", model, "--cuts", "1,3", "--device", "null", "--random", "3",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["count"] == 3 and json.loads(out)["whole_model_1_thread_ms"] is None


def test_inputs_from_files_keep_working(cli: Cli, model: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 16, 16, 3), np.float32))
    code, out, err = cli("run", model, "--cuts", "2", "--inputs", tmp_path / "x.npy",
                         "--check", "--json")
    assert code == 0, err
    assert json.loads(out)["count"] == 2 and json.loads(out)["check"]["bit_exact"]


def test_compare_says_in_one_line_which_strategies_it_skipped(cli: Cli, model: Path,
                                                              monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TPUSPLIT_PREDICTOR", str(model.parent / "no-such-predictor.pkl"))
    code, _, err = cli("plan", model, "--tpus", "2", "--compare")
    assert code == 0
    lines = [line for line in err.splitlines() if "skipped" in line]
    assert len(lines) == 1 and "predicted, hybrid skipped" in lines[0], err


@pytest.mark.parametrize(("args", "message"), [
    (["plan", "MODEL", "--devices", "usb3:2", "--strategy", "balanced"],
     "--strategy plans --tpus N on one kind of device"),
    (["plan", "MODEL", "--devices", "usb3:2", "--replicas", "2"],
     "--replicas plans --tpus N on one kind of device"),
    (["demo", "--devices", "usb3:2", "--tpus", "3"], "give --tpus (with --device) or --devices"),
])
def test_conflicting_options_are_refused(cli: Cli, model: Path, args: list[str],
                                         message: str) -> None:
    code, _out, err = cli(*[str(model) if a == "MODEL" else a for a in args])
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_ctrl_c_while_the_command_starts_is_one_line(tmp_path: Path) -> None:
    """An interrupt while the command imports its modules: "interrupted", exit 130 (an
    interrupt in Python's own start-up, before any of tpusplit runs, is Python's)."""
    import signal
    import subprocess
    import sys
    import time

    for delay in (0.05, 0.1, 0.2, 0.3, 0.5):
        proc = subprocess.Popen([sys.executable, "-m", "tpusplit_launch", "inspect",
                                 str(tmp_path / "x.tflite")], stderr=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGINT:  # before Python set its handler (no output),
            # or at exit, after the command said what it had to: a shell sees 130 either way
            assert len(err.strip().splitlines()) <= 1 and "Traceback" not in err, err
        elif proc.returncode == 130:
            assert err.strip() == "interrupted", err
        else:  # finished before the signal: the one-line error about the missing file
            assert proc.returncode == 2 and len(err.strip().splitlines()) == 1, err


def test_more_cpu_stages_than_cores_say_so(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import os

    from tpusplit.api import cores_note

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert cores_note(2) is None
    note = cores_note(4)
    assert note is not None and "4 CPU stages on 2 core(s)" in note and "2x" in note
