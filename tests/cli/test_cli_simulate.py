"""tpusplit simulate / calibrate through the real entry point."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

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
    assert (tmp_path / "g.png").stat().st_size > 0
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
                        ((m, "--device", bad), "malformed"), ((m, "--batch", "0"), "--batch")):
        code, _, err = cli("simulate", *args)
        assert code == 2 and words in err and "Traceback" not in err
