"""``plan --cost profile`` on stand-in Edge TPUs: compile, measure, cache, failures.

The TPUs and the compiler are stand-ins (see conftest.py); what is checked is tpusplit's
side: which segments get compiled and measured where, what is cached and reused, and what a
user reads when the compiler rejects a segment or a TPU goes away.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tpusplit.graph import load
from tpusplit.models.synthetic import conv
from tpusplit.pipeline.edgetpu import EdgeTPUBackend
from tpusplit.profiling.edgetpu import EdgeTPUProfiler, default_cache_path, make_profiler
from tpusplit.report.tpu_progress import status_line
from tpusplit.strategies.profiled import profiled

Cli = Callable[..., tuple[int, str, str]]
FAST = ("--profile-cache",)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv(8, layers=4, size=16))
    return path


def entries(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())["entries"]


def plan_json(cli: Cli, model: Path, *args: str | Path) -> tuple[dict[str, Any], str]:
    code, out, err = cli("plan", model, "--cost", "profile", "--json", *args)
    assert code == 0, err
    return json.loads(out), err


def test_plan_profiles_on_tpus_and_reuses_the_cache(cli: Cli, model: Path, tpus: Any,
                                                    compiler: Any) -> None:
    tpus("usb:/sys/a,usb:/sys/b")
    doc, _ = plan_json(cli, model, "--tpus", "2", "--device", "edgetpu")
    assert doc["strategy"] == "profiled" and doc["device"] == "edgetpu:usb"
    assert any(n.startswith("coral: carry") for n in doc["notes"])
    cache = default_cache_path()
    assert cache.is_file()
    first = entries(cache)
    calls = compiler.calls()
    assert calls and len(calls) == len(first) == len(set(calls))
    assert all(k.split(":")[3:5] == ["usb", "16.0.384591198"] for k in first)
    assert all(e["tpu"] in ("usb:0", "usb:1") and e["median_ms"] > 0 for e in first.values())
    # the same plan again: nothing compiled, nothing measured
    again, _ = plan_json(cli, model, "--tpus", "2", "--device", "edgetpu")
    assert compiler.calls() == calls and again["cuts"] == doc["cuts"]
    # another strategy: only the segments not measured yet
    plan_json(cli, model, "--tpus", "2", "--device", "edgetpu", "--strategy", "optimal")
    new = compiler.calls()[len(calls):]
    assert new and not set(new) & set(calls)
    assert len(entries(cache)) == len(first) + len(new)
    # another compiler version: measured afresh
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FAKE_EDGETPU_COMPILER_VERSION", "17.0.1")
        plan_json(cli, model, "--tpus", "2", "--device", "edgetpu")
    assert len(compiler.calls()) == len(calls) + len(new) + len(calls)


def test_a_rejected_segment_is_named_and_skipped(cli: Cli, model: Path, tpus: Any,
                                                 compiler: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tpus("usb:/sys/a")
    best, _ = plan_json(cli, model, "--tpus", "2", "--strategy", "optimal", "--device",
                        "edgetpu", "--profile-cache", tmp_path / "a.json")
    (cut,) = best["cuts"]
    monkeypatch.setenv("FAKE_EDGETPU_COMPILER_REJECT", f"conv_ops_0_{cut}")
    doc, err = plan_json(cli, model, "--tpus", "2", "--strategy", "optimal", "--device",
                         "edgetpu", "--profile-cache", tmp_path / "b.json")
    assert doc["cuts"] != [cut]
    warning = (f"warning: {model}: segment ops [0, {cut}) (cut {cut}): edgetpu_compiler "
               "rejected it (Internal compiler error. Aborting!); plans skip it")
    assert warning in err.splitlines()
    assert entries(tmp_path / "b.json")[next(k for k in entries(tmp_path / "b.json")
                                             if f":0:{cut}:" in k)] == {
        "rejected": "Internal compiler error. Aborting!"}
    # from the cache the next time: still said, not recompiled
    before = len(compiler.calls())
    _, err = plan_json(cli, model, "--tpus", "2", "--strategy", "optimal", "--device",
                       "edgetpu", "--profile-cache", tmp_path / "b.json")
    assert warning in err.splitlines() and len(compiler.calls()) == before
    # every segment rejected: no plan, one line
    monkeypatch.setenv("FAKE_EDGETPU_COMPILER_REJECT", ",".join(
        f"conv_ops_{a}_{b}" for a in range(5) for b in range(a + 1, 6)))
    code, out, err = cli("plan", model, "--cost", "profile", "--tpus", "2", "--device",
                         "edgetpu", "--profile-cache", tmp_path / "c.json")
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and "without a segment edgetpu_compiler rejects" in last


def test_a_tpu_lost_mid_profiling(cli: Cli, model: Path, tpus: Any, compiler: Any,
                                  unplug: Any, tmp_path: Path) -> None:
    tpus("usb:/sys/a,usb:/sys/b")
    cache = tmp_path / "p.json"
    unplug("usb:1", after=1)  # dies during its second segment: the other TPU carries on
    doc, err = plan_json(cli, model, "--tpus", "3", "--strategy", "optimal", "--device",
                         "edgetpu", "--profile-cache", cache)
    assert "warning: Edge TPU usb:1 failed (" in err and "measuring on the 1 other" in err
    assert doc["num_segments"] == 3
    used = [e["tpu"] for e in entries(cache).values()]
    assert used.count("usb:1") == 1 and used.count("usb:0") == len(used) - 1
    # both go: a one-line error, and what was measured stays in the cache
    unplug.replug()
    fresh = tmp_path / "q.json"
    unplug("usb:0", after=2)
    unplug("usb:1", after=2)
    code, out, err = cli("plan", model, "--cost", "profile", "--tpus", "3", "--strategy",
                         "optimal", "--device", "edgetpu", "--profile-cache", fresh)
    assert code == 2 and out == ""
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: Edge TPU usb:") and "failed while measuring segment ops" in last
    assert f"measurement(s) so far are kept in {fresh}" in last
    kept = entries(fresh)
    assert kept and all("median_ms" in e for e in kept.values())
    # plugged back: the run goes on from the cache
    unplug.replug()
    calls = len(compiler.calls())
    plan_json(cli, model, "--tpus", "3", "--strategy", "optimal", "--device", "edgetpu",
              "--profile-cache", fresh)
    assert set(kept) < set(entries(fresh))  # nothing measured before is measured again
    assert len(compiler.calls()) - calls == len(entries(fresh)) - len(kept)


def test_several_tpus_measure_in_parallel(model: Path, tpus: Any, compiler: Any,
                                          tmp_path: Path) -> None:
    tpus("usb:/sys/a,usb:/sys/b,usb:/sys/c")
    graph = load(model)
    prof = make_profiler(graph, "edgetpu", tmp_path / "c.json", warmup=1, repeats=3,
                         min_seconds=0.05)
    assert prof.parallel == 3 and prof.device == "edgetpu:usb"
    spans = [(a, b) for a in range(5) for b in range(a + 1, 6)]
    prof.prefetch(spans)
    used = {e["tpu"] for e in entries(tmp_path / "c.json").values()}
    assert used == {"usb:0", "usb:1", "usb:2"}
    assert prof.measured_count == 15 and prof.compiled == 15 and prof.evaluations == 0
    assert all(prof.latency(a, b) > 0 for a, b in spans) and prof.disk_hits == 15
    # the profiled strategy asks as many candidates ahead as there are TPUs
    ahead = make_profiler(graph, "edgetpu", tmp_path / "d.json", warmup=0, repeats=2,
                          min_seconds=0)
    p = profiled(graph, 3, ahead, diff_threshold_ms=1e-6)
    assert p.num_segments == 3
    assert ahead.measured_count >= p.cost_evaluations


def test_mixed_types_and_missing_pieces_are_one_line(cli: Cli, model: Path, tpus: Any,
                                                     compiler: Any, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def one_line_error(*args: str | Path) -> str:
        code, out, err = cli("plan", model, "--cost", "profile", "--tpus", "2", *args)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
        return err

    assert "no Edge TPU attached" in one_line_error("--device", "edgetpu")
    tpus("usb:/sys/a,pci:/dev/apex_0")
    assert "both USB and PCIe" in one_line_error("--device", "edgetpu")
    doc, _ = plan_json(cli, model, "--tpus", "2", "--device", "edgetpu:pci",
                       "--profile-cache", tmp_path / "pci.json")
    assert doc["device"] == "edgetpu:pci"
    assert all(":pci:" in k for k in entries(tmp_path / "pci.json"))
    assert {e["tpu"] for e in entries(tmp_path / "pci.json").values()} == {"pci:0"}
    tpus("usb:/sys/a")
    assert "no pci Edge TPU attached (found usb:0)" in one_line_error("--device",
                                                                      "edgetpu:pci")
    monkeypatch.setenv("TPUSPLIT_EDGETPU_COMPILER", str(tmp_path / "nope"))
    assert "edgetpu_compiler: not found" in one_line_error("--device", "edgetpu")
    monkeypatch.setenv("TPUSPLIT_EDGETPU_COMPILER", str(compiler.exe))
    monkeypatch.setenv("TPUSPLIT_LIBEDGETPU", "libnot-edgetpu.so.1")
    assert "libedgetpu is not installed" in one_line_error("--device", "edgetpu")
    assert "must be model or profile" in one_line_error("--cost", "guess")
    assert "--coral must be one of carry" in one_line_error("--coral", "maybe")


def test_progress_line_says_what_is_done_and_left(model: Path, tpus: Any, compiler: Any,
                                                  tmp_path: Path) -> None:
    tpus("usb:/sys/a,usb:/sys/b")
    prof = EdgeTPUProfiler(load(model), EdgeTPUBackend(devices=["usb:0", "usb:1"]), "usb",
                           cache_path=tmp_path / "e.json", warmup=0, repeats=2, min_seconds=0)
    assert status_line(prof) == "0 compiled, 0 measured on 2 TPUs"
    prof.expected = 10
    prof.prefetch([(0, 2), (2, 5)])
    line = status_line(prof)
    assert line.startswith("2 compiled, 2 measured on 2 TPUs, ~") and line.endswith(" left")
    assert prof.seconds_left() is not None and prof.seconds_left() > 0
