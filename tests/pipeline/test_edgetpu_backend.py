"""The Edge TPU backend without hardware: missing-library error, device naming, load checks."""

from __future__ import annotations

import ctypes.util
from typing import Any

import pytest

from tpusplit.errors import TpusplitError
from tpusplit.pipeline.edgetpu import (
    EdgeTPUBackend,
    is_compiled,
    list_devices,
    name_devices,
)
from tpusplit.pipeline.litert import LiteRTBackend
from tpusplit.pipeline.registry import make_backend


def test_missing_library_says_so() -> None:
    with pytest.raises(TpusplitError, match=r"libnot-edgetpu\.so\.1: libedgetpu is not installed"):
        list_devices("libnot-edgetpu.so.1")
    with pytest.raises(TpusplitError, match="libedgetpu is not installed"):
        EdgeTPUBackend(library="libnot-edgetpu.so.1")


@pytest.mark.skipif(ctypes.util.find_library("edgetpu") is not None,
                    reason="libedgetpu is installed here")
def test_default_backend_without_runtime() -> None:
    with pytest.raises(TpusplitError, match=r"libedgetpu\.so\.1: libedgetpu is not installed"):
        make_backend("edgetpu")


def test_device_names_follow_the_delegate_convention() -> None:
    devs = name_devices([(1, "/sys/bus/usb/devices/2-1"), (0, "/dev/apex_0"),
                         (1, "/sys/bus/usb/devices/2-2"), (0, "/dev/apex_1")])
    assert [d.name for d in devs] == ["usb:0", "pci:0", "usb:1", "pci:1"]
    assert devs[1].path == "/dev/apex_0" and devs[1].kind == "pci"


def test_load_checks_compilation_and_device_count(conv_small: bytes) -> None:
    calls: list[tuple[str, dict[str, str]]] = []

    def fake_delegate(lib: str, options: dict[str, str]) -> Any:
        calls.append((lib, options))
        raise ValueError("Failed to load delegate from libedgetpu.so.1\nmore")

    be = EdgeTPUBackend(devices=["usb:0", "pci:0"], load_delegate=fake_delegate)
    assert not is_compiled(conv_small)
    with pytest.raises(TpusplitError, match="not compiled for the Edge TPU"):
        be.load(conv_small, 0)
    compiled = conv_small + b"edgetpu-custom-op"
    with pytest.raises(TpusplitError, match="only 2 found"):
        be.load(compiled, 2)
    with pytest.raises(TpusplitError, match=r"cannot open Edge TPU pci:0 \(Failed to load "
                                            r"delegate from libedgetpu.so.1\)$"):
        be.load(compiled, 1)
    assert calls == [(be.library, {"device": "pci:0"})]
    with pytest.raises(TpusplitError, match="no Edge TPU found"):
        EdgeTPUBackend(devices=[], load_delegate=fake_delegate).load(compiled)


def test_registry() -> None:
    be = make_backend("cpu", num_threads=2)
    assert isinstance(be, LiteRTBackend) and be.num_threads == 2 and be.name == "cpu"
    with pytest.raises(TpusplitError, match="unknown device 'gpu'"):
        make_backend("gpu")
