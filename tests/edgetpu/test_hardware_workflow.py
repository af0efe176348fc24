"""The documented Edge TPU workflow on real hardware (marked ``edgetpu``: skipped here, run
where libedgetpu, a TPU and edgetpu_compiler exist)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tpusplit.models.random_net import random_net


@pytest.mark.edgetpu
def test_profile_split_run_on_real_tpus(cli: Callable[..., tuple[int, str, str]],
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tpusplit.pipeline.edgetpu import list_devices

    found = list_devices()
    kinds = {d.kind for d in found}
    kind = "usb" if "usb" in kinds else "pci"
    tpus = [d.name for d in found if d.kind == kind]
    n = min(len(tpus), 3)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    model = tmp_path / "net.tflite"
    model.write_bytes(random_net(3, size=64, channels=32))
    plan = tmp_path / "plan.json"
    code, _, err = cli("plan", model, "--tpus", str(n), "--cost", "profile", "--device",
                       f"edgetpu:{kind}", "-o", plan)
    assert code == 0, err
    code, _, err = cli("split", model, "--plan", plan, "--compile", "-o", tmp_path / "segs")
    assert code == 0, err
    files = sorted((tmp_path / "segs").glob("*_edgetpu.tflite"))
    code, out, err = cli("run", *files, "--device", "edgetpu", "--tpu-map", ",".join(tpus[:n]),
                         "--random", "20", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["count"] == 20 and doc["tpus"] == tpus[:n]
