"""``tpusplit devices`` against the stand-in libedgetpu: listing, no TPU, no library."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tpusplit.pipeline.edgetpu import list_devices

Cli = Callable[..., tuple[int, str, str]]


def test_lists_the_tpus_with_type_and_path(cli: Cli, tpus: Callable[[str], None],
                                           compiler: object) -> None:
    tpus("usb:/sys/bus/usb/devices/2-1,pci:/dev/apex_0,usb:/sys/bus/usb/devices/2-2")
    assert [d.name for d in list_devices()] == ["usb:0", "pci:0", "usb:1"]
    code, out, err = cli("devices")
    assert code == 0, err
    assert "3 Edge TPU(s)" in out and "/dev/apex_0" in out and "usb:1" in out
    code, out, _ = cli("devices", "--json")
    doc = json.loads(out)
    assert [(d["name"], d["type"], d["path"]) for d in doc["devices"]] == [
        ("usb:0", "usb", "/sys/bus/usb/devices/2-1"), ("pci:0", "pci", "/dev/apex_0"),
        ("usb:1", "usb", "/sys/bus/usb/devices/2-2")]
    assert doc["compiler"]


def test_no_tpu_is_one_line(cli: Cli, tpus: Callable[[str], None]) -> None:
    code, out, err = cli("devices")
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "no Edge TPU found: plug one in" in err
    assert len(err.strip().splitlines()) == 1


def test_no_library_is_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPUSPLIT_LIBEDGETPU", "libnot-edgetpu.so.1")
    code, out, err = cli("devices")
    assert code == 2 and out == ""
    assert err == ("error: libnot-edgetpu.so.1: libedgetpu is not installed, so no Edge TPU "
                   "can be used; install the Edge TPU runtime (libedgetpu1-std), see "
                   "https://coral.ai/software/ (or run on CPU with --device cpu)\n")
