"""Stand-ins for an Edge TPU host: a fake libedgetpu (C, built here), a fake compiler, and TPUs
that can disappear.

* ``tpus("usb:/sys/a,pci:/dev/apex_0")`` attaches TPUs: libedgetpu is the stand-in built
  from ``tests/fixtures/fake_libedgetpu/fake_libedgetpu.c`` (real ctypes enumeration, real
  LiteRT ``load_delegate``; its delegate claims no op, so segments run on the CPU).
* ``unplug("usb:1")`` makes opening that TPU fail from now on, as libedgetpu does; with
  ``after=k`` it also fails mid-run, on its k-th invoke from now (a stage's ``run`` raises the
  RuntimeError LiteRT raises when a delegate's invoke fails).
* ``compiler`` is ``tests/fixtures/edgetpu_compiler/fake_edgetpu_compiler.py`` on
  ``$TPUSPLIT_EDGETPU_COMPILER``; ``compiler.calls()`` lists what it compiled.
* The user cache (``$XDG_CACHE_HOME``) is a temporary folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="session")
def fake_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build the stand-in libedgetpu")
    out = tmp_path_factory.mktemp("libedgetpu") / "libedgetpu.so.1"
    src = FIXTURES / "fake_libedgetpu" / "fake_libedgetpu.c"
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(out), str(src)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"cannot build the stand-in libedgetpu: {proc.stderr.strip()[:200]}")
    return out


class Unplugger:
    """Which TPUs are gone (for the C library: a file) and mid-run failures (Python)."""

    def __init__(self, gone_file: Path) -> None:
        self.gone_file = gone_file
        gone_file.write_text("")
        self.after: dict[str, int] = {}
        self.loads: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, name: str, after: int | None = None) -> None:
        """Unplug ``name`` now, or (``after=k``) while it runs the (k+1)-th segment loaded
        on it from now on (a TPU that fails mid-run)."""
        if after is None:
            with open(self.gone_file, "a") as fh:
                fh.write(name + "\n")
        else:
            self.after[name] = self.loads.get(name, 0) + after

    def replug(self) -> None:
        self.gone_file.write_text("")
        self.after.clear()

    def loaded(self, name: str) -> int:
        with self.lock:
            self.loads[name] = self.loads.get(name, 0) + 1
            return self.loads[name]

    def invoked(self, name: str, ordinal: int) -> None:
        with self.lock:
            limit = self.after.get(name)
            if limit is None or ordinal <= limit:
                return
            del self.after[name]
            with open(self.gone_file, "a") as fh:
                fh.write(name + "\n")
        raise RuntimeError(f"Failed to invoke the Edge TPU delegate: {name}: USB transfer "
                           "error 5 (LIBUSB_ERROR_NOT_FOUND)")


@pytest.fixture
def unplug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Unplugger:
    from tpusplit.pipeline import edgetpu
    from tpusplit.pipeline.litert import LiteRTStage

    u = Unplugger(tmp_path / "gone.txt")
    monkeypatch.setenv("FAKE_EDGETPU_GONE", str(u.gone_file))

    class TPUStage(LiteRTStage):
        """LiteRT with the stand-in delegate; fails when its TPU is pulled mid-run."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            self.tpu = self.source.removeprefix("<segment on ").rstrip(">")
            self.ordinal = u.loaded(self.tpu)

        def run(self, feeds: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
            u.invoked(self.tpu, self.ordinal)
            return super().run(feeds)

    monkeypatch.setattr(edgetpu, "LiteRTStage", TPUStage)
    return u


@pytest.fixture
def tpus(fake_library: Path, unplug: Unplugger, monkeypatch: pytest.MonkeyPatch,
         tmp_path: Path) -> Callable[[str], None]:
    monkeypatch.setenv("TPUSPLIT_LIBEDGETPU", str(fake_library))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def attach(devices: str) -> None:
        monkeypatch.setenv("FAKE_EDGETPU_DEVICES", devices)

    attach("")
    return attach


class Compiler:
    def __init__(self, exe: Path, calls: Path) -> None:
        self.exe = exe
        self.calls_file = calls

    def calls(self) -> list[str]:
        return self.calls_file.read_text().split() if self.calls_file.exists() else []


@pytest.fixture
def compiler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Compiler]:
    exe = tmp_path / "bin" / "edgetpu_compiler"
    exe.parent.mkdir()
    script = (FIXTURES / "edgetpu_compiler" / "fake_edgetpu_compiler.py").read_text()
    exe.write_text(f"#!{sys.executable}\n{script}")
    exe.chmod(0o755)
    calls = tmp_path / "compiler_calls.txt"
    monkeypatch.setenv("TPUSPLIT_EDGETPU_COMPILER", str(exe))
    monkeypatch.setenv("FAKE_EDGETPU_COMPILER_CALLS", str(calls))
    monkeypatch.delenv("FAKE_EDGETPU_COMPILER_REJECT", raising=False)
    monkeypatch.delenv("FAKE_EDGETPU_COMPILER_VERSION", raising=False)
    yield Compiler(exe, calls)
