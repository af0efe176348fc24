"""Edge TPU backend: segments run through the ``libedgetpu`` delegate, one device per segment.

Devices are enumerated with libedgetpu's C API (``edgetpu_list_devices``, edgetpu_c.h) and
addressed the way the delegate expects: ``usb:0``, ``pci:0``, ... (the k-th device of that
type). Segments must be compiled by ``edgetpu_compiler`` first (see
:mod:`tpusplit.pipeline.edgetpu_compiler`); an uncompiled segment would silently run on the
CPU, so loading one is an error. When libedgetpu is not installed every entry point raises a
:class:`~tpusplit.errors.TpusplitError` that says so.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tpusplit.errors import TpusplitError, first_line
from tpusplit.pipeline.backend import Backend
from tpusplit.pipeline.litert import LiteRTStage

#: The delegate library's file name per OS (as PyCoral names it).
LIBRARY = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib",
           "Windows": "edgetpu.dll"}
#: ``enum edgetpu_device_type`` of edgetpu_c.h.
_TYPES = {0: "pci", 1: "usb"}
#: The custom op ``edgetpu_compiler`` puts in a compiled model.
CUSTOM_OP = b"edgetpu-custom-op"
INSTALL = "install the Edge TPU runtime (libedgetpu1-std), see https://coral.ai/software/"


class _Device(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("path", ctypes.c_char_p)]


@dataclass(frozen=True, slots=True)
class EdgeTPUDevice:
    """One Edge TPU: ``name`` as the delegate takes it (``usb:0``), its type and system path."""

    name: str
    kind: str
    path: str


#: Environment variable naming another delegate library (a path), e.g. a test stand-in.
LIBRARY_ENV = "TPUSPLIT_LIBEDGETPU"


def library_name() -> str:
    """The delegate library file name for this OS (``$TPUSPLIT_LIBEDGETPU`` overrides it)."""
    return os.environ.get(LIBRARY_ENV) or LIBRARY.get(platform.system(), LIBRARY["Linux"])


def _load_library(name: str | None = None) -> ctypes.CDLL:
    lib = name or library_name()
    try:
        return ctypes.CDLL(lib)
    except OSError:
        raise TpusplitError(f"{lib}: libedgetpu is not installed, so no Edge TPU can be used; "
                            f"{INSTALL} (or run on CPU with --device cpu)") from None


def list_devices(library: str | None = None) -> list[EdgeTPUDevice]:
    """Every Edge TPU the runtime sees, named ``usb:<k>``/``pci:<k>`` in enumeration order.

    Raises :class:`TpusplitError` when libedgetpu is not installed.
    """
    lib = _load_library(library)
    fn = lib.edgetpu_list_devices
    fn.restype = ctypes.POINTER(_Device)
    fn.argtypes = [ctypes.POINTER(ctypes.c_size_t)]
    count = ctypes.c_size_t(0)
    devs = fn(ctypes.byref(count))
    raw = [(int(devs[i].type), (devs[i].path or b"").decode()) for i in range(count.value)]
    if count.value:
        lib.edgetpu_free_devices.argtypes = [ctypes.POINTER(_Device)]
        lib.edgetpu_free_devices(devs)
    return name_devices(raw)


def name_devices(raw: Sequence[tuple[int, str]]) -> list[EdgeTPUDevice]:
    """Name ``(type, path)`` pairs the way the delegate addresses them: ``usb:0``, ``pci:1``."""
    seen: dict[str, int] = {}
    out = []
    for kind_id, path in raw:
        kind = _TYPES.get(kind_id, f"type{kind_id}")
        k = seen.get(kind, 0)
        seen[kind] = k + 1
        out.append(EdgeTPUDevice(f"{kind}:{k}", kind, path))
    return out


def is_compiled(model: bytes) -> bool:
    """True when ``model`` contains the Edge TPU custom op (compiled by edgetpu_compiler)."""
    return CUSTOM_OP in model


class EdgeTPUBackend(Backend):
    """Edge TPUs through ``load_delegate(libedgetpu, {'device': 'usb:0'})``: device k per segment.

    Args:
        devices: delegate device names (``usb:0``, ``pci:0``, ...); default: every device
            :func:`list_devices` finds.
        num_threads: LiteRT CPU threads for ops the compiler left on the CPU.
        library: delegate library (default :func:`library_name`).
        load_delegate: the delegate loader (LiteRT's ``load_delegate``; replaceable in tests).
    """

    name = "edgetpu"

    def __init__(self, devices: Sequence[str] | None = None, num_threads: int = 1,
                 library: str | None = None,
                 load_delegate: Callable[..., Any] | None = None) -> None:
        self.library = library or library_name()
        self.num_threads = num_threads
        if load_delegate is None:
            _load_library(self.library)  # a clear error when libedgetpu is missing
            from ai_edge_litert.interpreter import load_delegate as litert_load_delegate

            load_delegate = litert_load_delegate
        self._load_delegate = load_delegate
        self.devices = (list(devices) if devices is not None
                        else [d.name for d in list_devices(self.library)])

    def device_name(self, device: int) -> str:
        """The delegate name of device number ``device``."""
        if not self.devices:
            raise TpusplitError("no Edge TPU found: plug one in, or run on CPU (--device cpu)")
        if not 0 <= device < len(self.devices):
            raise TpusplitError(f"Edge TPU {device} requested but only {len(self.devices)} "
                                f"found ({', '.join(self.devices)}): use fewer segments")
        return self.devices[device]

    def load(self, model: bytes, device: int = 0) -> LiteRTStage:
        """Load a compiled segment onto Edge TPU number ``device``."""
        if not is_compiled(model):
            raise TpusplitError("segment is not compiled for the Edge TPU (no edgetpu-custom-op); "
                                "compile it first (tpusplit split --compile)")
        name = self.device_name(device)
        try:
            delegate = self._load_delegate(self.library, {"device": name})
        except (ValueError, OSError, RuntimeError) as exc:
            raise TpusplitError(f"{self.library}: cannot open Edge TPU {name} "
                                f"({first_line(exc)})") from None
        return LiteRTStage(model, num_threads=self.num_threads, delegates=[delegate],
                           source=f"<segment on {name}>")

    def prepare(self, model: bytes) -> bytes:
        """Compile a plain int8 segment with ``edgetpu_compiler`` (compiled ones pass through)."""
        if is_compiled(model):
            return model
        from tpusplit.pipeline.edgetpu_compiler import compile_bytes

        return compile_bytes(model).model
