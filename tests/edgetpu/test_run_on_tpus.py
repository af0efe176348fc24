"""``run --device edgetpu`` on stand-in TPUs: --tpu-map, on-the-fly compilation, a TPU lost
mid-run, and the three documented commands from a .tflite file to a running pipeline."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models.random_net import random_net
from tpusplit.pipeline.edgetpu_run import parse_tpu_map

Cli = Callable[..., tuple[int, str, str]]
ATTACHED = ["usb:0", "pci:0", "usb:1"]


@pytest.fixture
def net(tmp_path: Path) -> Path:
    path = tmp_path / "net.tflite"
    path.write_bytes(random_net(3))  # branches, long skips and a side output
    return path


def test_tpu_map_parsing() -> None:
    assert parse_tpu_map("0:usb:0,1:pci:0", ATTACHED) == ["usb:0", "pci:0"]
    assert parse_tpu_map("1:usb:0,0:usb:1,2:pci:0", ATTACHED) == ["usb:1", "usb:0", "pci:0"]
    assert parse_tpu_map("pci:0,usb:1", ATTACHED) == ["pci:0", "usb:1"]
    assert parse_tpu_map("0::2,1::0", ATTACHED) == ["usb:1", "usb:0"]
    for text, message in [
        ("", "is empty"),
        ("0:usb", "the TPU must be usb:N or pci:N"),
        ("x:usb:0", "segment 'x' is not a number"),
        ("0:usb:5", "usb:5 is not attached (found usb:0, pci:0, usb:1"),
        ("0:usb:0,0:pci:0", "segment 0 is given twice"),
        ("0:usb:0,1:usb:0", "usb:0 is given to segments 0 and 1"),
        ("0:usb:0,2:pci:0", "segment 1 has no TPU"),
        ("0::7", "only 3 Edge TPU(s) attached"),
        ("0:gpu:0", "the TPU must be usb:N or pci:N"),
    ]:
        with pytest.raises(TpusplitError, match=re.escape(message)):
            parse_tpu_map(text, ATTACHED)


def test_run_with_a_tpu_map_compiles_on_the_fly(cli: Cli, net: Path, tpus: Any,
                                                compiler: Any) -> None:
    tpus("usb:/sys/a,pci:/dev/apex_0,usb:/sys/b")
    graph = load(net)
    side = graph.output_ops[0]
    cuts = f"{side - 2},{side + 3}"  # the side output lands in the middle segment
    code, out, err = cli("run", net, "--cuts", cuts, "--device", "edgetpu", "--tpu-map",
                         "0:usb:1,1:pci:0,2:usb:0", "--random", "6", "--check", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["tpus"] == ["usb:1", "pci:0", "usb:0"] and doc["check"]["bit_exact"]
    assert len(compiler.calls()) == 3  # each segment compiled on the fly, once
    # wrong map sizes and a map without Edge TPUs are one line each
    for args, message in [
        (("--tpu-map", "0:usb:0,1:pci:0"), "--tpu-map gives 2 TPU(s) but the pipeline has "
                                           "more segments"),
        (("--tpu-map", "0:usb:0,1:pci:0,2:usb:1,3::0"), "--tpu-map: usb:0 is given to"),
        (("--tpu-map", "0:usb:9"), "usb:9 is not attached"),
    ]:
        code, out, err = cli("run", net, "--cuts", cuts, "--device", "edgetpu", "--random",
                             "2", *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    code, _, err = cli("run", net, "--cuts", cuts, "--tpu-map", "0:usb:0", "--random", "2")
    assert code == 2 and "--tpu-map is for Edge TPUs (--device edgetpu), not cpu" in err
    code, _, err = cli("run", net, "--cuts", "1,2,3,4", "--device", "edgetpu", "--random", "2")
    assert code == 2 and "Edge TPU 3 requested but only 3 found" in err


def test_a_rejected_segment_file_is_named(cli: Cli, net: Path, tpus: Any, compiler: Any,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    tpus("usb:/sys/a,usb:/sys/b")
    code, _, err = cli("split", net, "--cuts", "9", "-o", tmp_path / "segs")
    assert code == 0, err
    files = sorted((tmp_path / "segs").glob("*.tflite"))
    monkeypatch.setenv("FAKE_EDGETPU_COMPILER_REJECT", files[1].stem)
    code, out, err = cli("run", *files, "--device", "edgetpu", "--random", "2")
    assert code == 2 and out == ""
    assert err == (f"error: {files[1]}: edgetpu_compiler failed (Internal compiler error. "
                   "Aborting!)\n")


def test_a_tpu_lost_mid_run_is_one_line(cli: Cli, net: Path, tpus: Any, compiler: Any,
                                        unplug: Any) -> None:
    tpus("usb:/sys/a,usb:/sys/b")
    unplug("usb:1", after=0)  # fails on its first invoke after loading
    code, out, err = cli("run", net, "--cuts", "12", "--device", "edgetpu", "--random", "20")
    assert code == 2 and out == ""
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: Edge TPU usb:1 (segment 1) failed on input 0: RuntimeError: "
                           "Failed to invoke the Edge TPU delegate: usb:1")
    assert "check it with `tpusplit devices`" in line
    code, _, err = cli("run", net, "--cuts", "12", "--device", "edgetpu", "--random", "2")
    assert code == 2 and "segment 1 (ops [12, " in err and "cannot open Edge TPU usb:1" in err


def test_plain_segment_files_get_a_coral_warning(cli: Cli, net: Path, tpus: Any,
                                                 compiler: Any, tmp_path: Path) -> None:
    tpus("usb:/sys/a,usb:/sys/b,usb:/sys/c")
    graph = load(net)
    side = graph.output_ops[0]
    cuts = f"{side - 2},{side + 3}"
    for flag, warned in (("--no-coral", True), ("--coral", False)):
        out_dir = tmp_path / flag.strip("-")
        code, _, err = cli("split", net, "--cuts", cuts, "-o", out_dir, flag)
        assert code == 0, err
        files = sorted(out_dir.glob("*.tflite"))
        code, out, err = cli("run", *files, "--device", "edgetpu", "--random", "3",
                             "--check", "--reference", net, "--json")
        assert code == 0, err
        assert json.loads(out)["check"]["bit_exact"]  # tpusplit's runner carries anyway
        assert ("warning: libcoral's PipelinedModelRunner would refuse these segments"
                in err) is warned


def test_three_commands_from_a_model_to_a_pipeline(cli: Cli, net: Path, tpus: Any,
                                                   compiler: Any, tmp_path: Path) -> None:
    """The README's Edge TPU workflow, command for command."""
    tpus("usb:/sys/a,usb:/sys/b,pci:/dev/apex_0")
    plan = tmp_path / "plan.json"
    code, _, err = cli("plan", net, "--tpus", "3", "--cost", "profile", "--device",
                       "edgetpu:usb", "-o", plan)
    assert code == 0, err
    code, _, err = cli("split", net, "--plan", plan, "--compile", "-o", tmp_path / "segs")
    assert code == 0, err
    compiled = sorted((tmp_path / "segs").glob("*_edgetpu.tflite"))
    assert len(compiled) == 3
    code, out, err = cli("run", *compiled, "--device", "edgetpu", "--tpu-map",
                         "0:usb:0,1:pci:0,2:usb:1", "--random", "8", "--check",
                         "--reference", net, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["check"]["bit_exact"] and doc["tpus"] == ["usb:0", "pci:0", "usb:1"]
    assert "warning" not in err  # Coral-compatible segments: every output feeds the next
