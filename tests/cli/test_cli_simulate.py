"""tpusplit simulate / calibrate through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from images import assert_png

from tpusplit.models.slim import ssd_mobilenet_v1
from tpusplit.models.synthetic import conv


def test_simulate_json_and_plot(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    m = tmp_path / "c.tflite"
    m.write_bytes(conv(32, size=16))
    code, out, err = cli("simulate", m, "--cuts", "2,4", "--json", "--plot", tmp_path / "g.png")
    assert code == 0, err
    d = json.loads(out)
    assert d["device"] == "edgetpu-usb3" and d["cuts"] == [2, 4]
    assert [s["ops"] for s in d["segments"]] == [[0, 2], [2, 4], [4, 6]]
    for k in ("param_bytes", "on_chip_bytes", "off_chip_bytes", "latency_ms"):
        assert k in d["segments"][0]
    assert d["time_per_inference_ms"] > 0 and d["throughput_ips"] > 0
    assert d["plot"] == str(tmp_path / "g.png")
    assert_png(tmp_path / "g.png")
    code, out, _ = cli("simulate", m, "--cuts", "2,4", "--buses", "0,1,1", "--plot",
                       tmp_path / "h.png")
    assert code == 0 and f"Gantt chart written to {tmp_path / 'h.png'}" in out.replace("\n", "")
    code, out, _ = cli("simulate", m, "--json", "--device", "edgetpu-pcie")
    assert code == 0 and len(json.loads(out)["segments"]) == 1
    code, out, _ = cli("simulate", m)
    assert code == 0 and "time per inference" in out
    code, out, _ = cli("simulate", m, "--cuts", "3", "--queue-size", "1", "--shared-bus")
    assert code == 0 and "time per inference" in out


def test_simulate_errors(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    m = tmp_path / "c.tflite"
    m.write_bytes(conv(32, size=16))
    bad = tmp_path / "p.json"
    bad.write_text("{")
    for args, words in (((m, "--cuts", "9"), "outside"), ((m, "--device", "nope"), "unknown"),
                        ((m, "--device", bad), "not JSON"), ((m, "--batch", "0"), "--batch"),
                        ((m, "--plot", tmp_path / "out.txt"), "not supported"),
                        ((m, "--plot", tmp_path), "is a directory"),
                        ((m, "--cuts", "2", "--buses", "0"), "1 links for 2 devices"),
                        ((m, "--buses", "a,b"), "not a list of integers")):
        code, _, err = cli("simulate", *args)
        assert code == 2 and words in err and "Traceback" not in err, (args, err)
        assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.png")) and not (tmp_path / "out.txt").exists()


def test_calibrate_writes_a_loadable_profile(cli: Callable[..., tuple[int, str, str]],
                                             tmp_path: Path) -> None:
    from tpusplit.devices.profiles import load_profile

    csv = tmp_path / "mine.csv"
    csv.write_text("Hidden neurons,# MACs,On chip mem used,Off chip mem used,Inference time\n"
                   "100,1,0.05,0.0,0.12\n300,1,0.31,0.0,0.13\n700,1,1.5,0.0,0.15\n"
                   "1700,1,5.81,2.8,8.1\n")
    out = tmp_path / "p" / "mine.json"
    code, stdout, err = cli("calibrate", csv, "-o", out, "--name", "mine", "--json")
    assert code == 0, err
    assert json.loads(stdout)["mape"] < 10
    p = load_profile(out)
    assert p.name == "mine" and p.link_ms_per_mib > 0
    assert p.conv_ms_per_mcycle == load_profile("edgetpu-usb3").conv_ms_per_mcycle
    m = tmp_path / "c.tflite"
    m.write_bytes(conv(32, size=16))
    code, stdout, _ = cli("simulate", m, "--device", out, "--json")
    assert code == 0 and json.loads(stdout)["device"] == "mine"


def test_calibrate_user_csv_format(cli: Callable[..., tuple[int, str, str]],
                                   tmp_path: Path) -> None:
    """The documented format: model paths relative to the CSV, cuts, host, ms, batch."""
    (tmp_path / "c64.tflite").write_bytes(conv(64, size=32))
    (tmp_path / "c200.tflite").write_bytes(conv(200, size=32))
    csv = tmp_path / "mine.csv"
    csv.write_text("model,cuts,host,ms,batch\nc64.tflite,,pc,1.9,1\nc200.tflite,,pc,6.4,1\n"
                   "c200.tflite,3,pc,4.1,50\n")
    out = tmp_path / "pc.json"
    code, stdout, err = cli("calibrate", csv, "-o", out, "--json")
    assert code == 0, err
    assert json.loads(stdout)["rows"] == 3
    code, _, err = cli("calibrate", csv, tmp_path / "missing.csv", "-o", tmp_path / "y.json")
    assert code == 2 and "missing.csv" in err and not (tmp_path / "y.json").exists()


def test_calibrate_bad_csv(cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("Hidden neurons,# MACs,On chip mem used,Off chip mem used,Inference time\n"
                   "100,1,[0.05,0.0,0.12\n")
    code, _, err = cli("calibrate", csv, "-o", tmp_path / "x.json")
    assert code == 2 and "bad.csv" in err and not (tmp_path / "x.json").exists()


def test_simulate_a_replicated_plan_counts_its_devices(
        cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    """A plan of one segment on 3 copies: 3 TPUs in the title, a replicas column, and each
    copy's busy share (not their sum); ``--buses`` takes a link per device."""
    m = tmp_path / "c.tflite"
    m.write_bytes(conv(32, size=64))  # 2.6 ms per input, 1.3 of them on the link
    plan = tmp_path / "plan.json"
    code, _, err = cli("plan", m, "--tpus", "3", "-o", plan)
    assert code == 0, err
    assert [s["replicas"] for s in json.loads(plan.read_text())["segments"]] == [3]
    code, out, err = cli("simulate", m, "--plan", plan)
    assert code == 0, err
    assert "3 x edgetpu-usb3" in out and "replicas" in out
    row = next(line for line in out.splitlines() if "[0, 6)" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[2] == "3" and 0 < int(cells[-1]) <= 100
    # --buses names one link per device: 3 copies on 3 links scale, on one link they wait
    code, out, err = cli("simulate", m, "--plan", plan, "--buses", "0,1,2", "--json")
    assert code == 0, err
    apart = json.loads(out)
    code, out, err = cli("simulate", m, "--plan", plan, "--buses", "0,0,0", "--json")
    assert code == 0, err
    assert json.loads(out)["time_per_inference_ms"] > apart["time_per_inference_ms"]
    code, _, err = cli("simulate", m, "--plan", plan, "--buses", "0")
    assert code != 0 and "1 links for 3 devices" in err


def test_simulate_a_host_stage_plan_counts_only_its_tpus(
        cli: Callable[..., tuple[int, str, str]], tmp_path: Path) -> None:
    """COCO's SSD on 4 PCIe TPUs with its post-processing a stage of its own on host cores:
    the title counts the 4 TPUs, not the host stage's copies."""
    m = tmp_path / "ssd.tflite"
    m.write_bytes(ssd_mobilenet_v1(postprocess=True))
    plan = tmp_path / "plan.json"
    code, _, err = cli("plan", m, "--tpus", "4", "--device", "edgetpu-pcie", "-o", plan)
    assert code == 0, err
    data = json.loads(plan.read_text())
    assert data.get("host_stage") and sum(s["replicas"] for s in data["segments"]) > 4
    code, out, err = cli("simulate", m, "--plan", plan)
    assert code == 0, err
    assert "on 4 x edgetpu-pcie" in out
