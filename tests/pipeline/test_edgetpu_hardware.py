"""On real Edge TPUs (marked ``edgetpu``: skipped without libedgetpu, devices and the
compiler): a split model is compiled and runs through the delegate, one segment per device."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tpusplit.models.synthetic import conv


@pytest.mark.edgetpu
def test_a_split_conv_runs_on_edge_tpus(cli: Callable[..., tuple[int, str, str]],
                                        tmp_path: Path) -> None:
    from tpusplit.pipeline.edgetpu import list_devices

    if len(list_devices()) < 2:
        pytest.skip("one Edge TPU: a 2-segment pipeline needs two")
    model = tmp_path / "conv.tflite"
    model.write_bytes(conv(64, layers=4, size=32))
    code, out, err = cli("run", model, "--cuts", "3", "--device", "edgetpu", "--random", "8",
                         "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["count"] == 8 and doc["segments"] == 2
    assert all(stage["items"] == 8 for stage in doc["stages"])
