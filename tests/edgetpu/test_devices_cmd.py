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


def test_no_tpu_is_reported_not_an_error(cli: Cli, tpus: Callable[[str], None]) -> None:
    """Listing nothing is an answer: exit 0, one line saying so (issue 19)."""
    code, out, err = cli("devices")
    assert code == 0 and err == ""
    assert "no Edge TPU found: plug one in" in out and len(out.strip().splitlines()) == 1
    code, out, _ = cli("devices", "--json")
    assert code == 0 and json.loads(out)["devices"] == []


def test_no_library_is_reported_with_valid_json(cli: Cli,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPUSPLIT_LIBEDGETPU", "libnot-edgetpu.so.1")
    code, out, err = cli("devices")
    assert code == 0 and err == ""
    assert out.startswith("no Edge TPU runtime (libedgetpu is not installed")
    assert len(out.strip().splitlines()) == 1
    code, out, _ = cli("devices", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["runtime"] is False and doc["devices"] == []
    assert "libedgetpu is not installed" in doc["note"]
