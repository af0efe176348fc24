"""``tpusplit plan`` and ``tpusplit split --plan`` through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tpusplit.models.synthetic import conv, fc

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name, data in (("conv", conv(64, size=16)), ("fc", fc(64))):
        p = tmp_path / f"{name}.tflite"
        p.write_bytes(data)
        out[name] = p
    return out


def test_plan_json_has_the_documented_fields(cli: Cli, models: dict[str, Path]) -> None:
    code, out, err = cli("plan", models["fc"], "--tpus", "3", "--strategy", "optimal",
                         "--replicas", "1", "--json")
    assert code == 0, err
    d = json.loads(out)
    for key in ("strategy", "device", "num_segments", "cuts", "segments", "bottleneck_ms",
                "time_per_inference_ms", "throughput_ips", "cost_evaluations",
                "solve_seconds"):
        assert key in d
    assert d["num_segments"] == 3 and len(d["cuts"]) == 2 and d["device"] == "edgetpu-usb3"
    seg = d["segments"][0]
    assert set(seg) >= {"ops", "on_chip_bytes", "off_chip_bytes", "latency_ms"}


def test_compare_lists_every_strategy(cli: Cli, models: dict[str, Path]) -> None:
    code, out, _ = cli("plan", models["fc"], "--tpus", "4", "--compare", "--json",
                       "--device", "edgetpu-pcie", "--batch", "5")
    assert code == 0
    rows = json.loads(out)
    by = {r["strategy"]: r for r in rows}
    assert {"compiler", "profiled", "balanced", "optimal"} <= set(by)
    assert all(r["batch"] == 5 and r["device"] == "edgetpu-pcie" for r in rows)
    assert all(by["optimal"]["bottleneck_ms"] <= r["bottleneck_ms"] + 1e-12 for r in rows)
    assert by["compiler"]["speedup_vs_compiler"] == pytest.approx(1.0)
    code, out, _ = cli("plan", models["fc"], "--tpus", "4", "--compare")
    assert code == 0 and "x compiler" in out and "balanced" in out
    # the figures come with the runner they charge and how far to trust them, as for one plan
    assert "runner python" in out and "expect +-" in out


def test_plan_file_feeds_split(cli: Cli, models: dict[str, Path], tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    code, out, _ = cli("plan", models["conv"], "--tpus", "2", "-s", "balanced", "-o",
                       plan_file)
    assert code == 0 and "bottleneck" in out
    cuts = json.loads(plan_file.read_text())["cuts"]
    code, out, err = cli("split", models["conv"], "--plan", plan_file, "-o", tmp_path / "seg",
                         "--json")
    assert code == 0, err
    assert json.loads(out)["cuts"] == cuts
    assert len(list((tmp_path / "seg").glob("*.tflite"))) == 2
    code, _, err = cli("split", models["fc"], "--plan", plan_file, "-o", tmp_path / "x")
    assert code == 2 and "plan is for a model with 6 ops" in err
    assert not (tmp_path / "x").exists()


def test_auto(cli: Cli, models: dict[str, Path]) -> None:
    code, out, err = cli("plan", models["fc"], "--tpus", "auto", "--max-tpus", "4", "--json")
    assert code == 0, err
    d = json.loads(out)
    assert 1 <= d["num_segments"] <= 4 and len(d["auto"]["tried"]) == 4
    best = max(t["throughput_ips"] for t in d["auto"]["tried"])
    assert d["throughput_ips"] >= 0.95 * best
    code, out, err = cli("plan", models["fc"], "--tpus", "auto", "--max-tpus", "2",
                         "--target-ips", "1e12")
    assert code == 0 and "warning" in err


@pytest.mark.parametrize("args, message", [
    (("--tpus", "0"), "positive integer"),
    (("--tpus", "11", "--replicas", "1"), "cannot cut 10 ops into 11"),
    (("--tpus", "two"), "--tpus must be"),
    (("--tpus", "2", "--strategy", "nope"), "unknown strategy"),
    (("--tpus", "2", "--device", "tpu9"), "unknown device"),
])
def test_bad_arguments_are_one_line_errors(cli: Cli, models: dict[str, Path],
                                           args: tuple[str, ...], message: str) -> None:
    code, _out, err = cli("plan", models["fc"], *args)
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_plan_file(cli: Cli, models: dict[str, Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    code, _, err = cli("split", models["fc"], "--plan", bad, "-o", tmp_path / "o")
    assert code == 2 and "bad.json: not JSON" in err
    code, _, err = cli("split", models["fc"], "--plan", bad, "--cuts", "3", "-o", tmp_path)
    assert code == 2 and "not both" in err
