"""Segment sets stay whole: a killed write leaves no stale temporaries behind the next one,
``split`` removes an earlier split's set, and ``run`` refuses an incomplete or mixed set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tpusplit.files import write_files
from tpusplit.models.synthetic import conv

Cli = Callable[..., tuple[int, str, str]]


def _model(tmp_path: Path) -> Path:
    m = tmp_path / "m.tflite"
    m.write_bytes(conv(16, layers=5, size=16))
    return m


def test_run_refuses_an_incomplete_set(cli: Cli, tmp_path: Path) -> None:
    model = _model(tmp_path)
    assert cli("split", model, "--cuts", "2,4", "-o", tmp_path / "s")[0] == 0
    segs = sorted((tmp_path / "s").glob("*.tflite"))
    assert len(segs) == 3
    code, _, err = cli("run", *segs[:2], "--random", "1")
    assert code == 2 and "incomplete or shuffled set of 3 segments" in err
    assert "missing segment(s) 2" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("run", segs[1], segs[0], segs[2], "--random", "1")
    assert code == 2 and "not in pipeline order" in err
    assert cli("run", *segs, "--random", "2")[0] == 0


def test_split_removes_an_earlier_sets_files(cli: Cli, tmp_path: Path) -> None:
    model = _model(tmp_path)
    out = tmp_path / "s"
    assert cli("split", model, "--cuts", "1,2,3,4", "-o", out)[0] == 0
    assert len(list(out.glob("m_segment_*_of_5.tflite"))) == 5
    code, _, err = cli("split", model, "--cuts", "2", "-o", out)
    assert code == 0 and "removed m_segment_0_of_5.tflite" in err
    assert sorted(p.name for p in out.glob("*.tflite")) == ["m_segment_0_of_2.tflite",
                                                            "m_segment_1_of_2.tflite"]
    code, _, err = cli("run", out / "m_segment_0_of_2.tflite", tmp_path / "nope_segment_1_of_5"
                       ".tflite", "--random", "1")
    assert code == 2 and "different splits" in err


def test_a_killed_writes_temporaries_are_cleaned_by_the_next(tmp_path: Path) -> None:
    target = tmp_path / "m_segment_0_of_2.tflite"
    stale = tmp_path / ".m_segment_0_of_2.tflite.abc123.tmp"  # what a SIGKILL leaves
    stale.write_bytes(b"half")
    write_files({target: b"whole"}, "segment")
    assert target.read_bytes() == b"whole" and not stale.exists()
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_reference_that_is_another_model_is_refused_up_front(cli: Cli,
                                                               tmp_path: Path) -> None:
    """Same input and output names, other weights: its baseline would be another model's
    (a '94x speed-up'), so run refuses it before measuring."""
    model = _model(tmp_path)
    other = tmp_path / "other.tflite"
    other.write_bytes(conv(16, layers=5, size=16, seed=1))
    assert cli("split", model, "--cuts", "2", "-o", tmp_path / "s")[0] == 0
    segs = sorted((tmp_path / "s").glob("*.tflite"))
    code, out, err = cli("run", *segs, "--reference", other, "--random", "2")
    assert code == 2 and out == "" and "not the model these segments were split from" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli("run", *segs, "--reference", model, "--random", "2", "--check")
    assert code == 0, err


def test_split_warns_when_libcoral_would_refuse_the_segments(cli: Cli, tmp_path: Path) -> None:
    from tpusplit.models.random_net import random_net

    model = tmp_path / "rn.tflite"
    model.write_bytes(random_net(3))
    code, _, err = cli("split", model, "--cuts", "6,12", "-o", tmp_path / "a")
    assert code == 0 and "PipelinedModelRunner would refuse" in err and "--coral" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli("split", model, "--cuts", "6,12", "--coral", "-o", tmp_path / "b")
    assert code == 0 and "refuse" not in err


def test_a_mixed_plan_without_libedgetpu_suggests_simulate_tpu(cli: Cli, tmp_path: Path,
                                                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TPUSPLIT_LIBEDGETPU", "libnot-edgetpu.so.1")
    model = tmp_path / "mx.tflite"
    model.write_bytes(conv(64, layers=4, size=32))  # planned as usb3 then cpu
    assert cli("plan", model, "--devices", "usb3:1,cpu:1", "-o", tmp_path / "p.json")[0] == 0
    code, _, err = cli("run", model, "--plan", tmp_path / "p.json", "--random", "1")
    assert code == 2 and "--simulate-tpu" in err and "--device cpu" not in err
    code, _, err = cli("run", model, "--plan", tmp_path / "p.json", "--random", "1",
                       "--simulate-tpu")
    assert code == 0, err
