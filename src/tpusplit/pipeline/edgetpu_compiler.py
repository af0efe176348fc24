"""Find and run ``edgetpu_compiler`` on segments, and read the memory facts from its log.

The compiler prints one block per compiled model (format: docs/edgetpu-notes.md and Coral's
compiler documentation, https://coral.ai/docs/edgetpu/compiler/)::

    Input model: conv_segment_0_of_2.tflite
    Output model: conv_segment_0_of_2_edgetpu.tflite
    On-chip memory used for caching model parameters: 4.17MiB
    On-chip memory remaining for caching model parameters: 3.06MiB
    Off-chip memory used for streaming uncached model parameters: 12.42MiB
    Number of Edge TPU subgraphs: 1
    Total number of operations: 6
    Operation log: conv_segment_0_of_2_edgetpu.log
    ...
    Operator                       Count      Status
    CONV_2D                        5          Mapped to Edge TPU
    QUANTIZE                       1          Mapped to Edge TPU

:func:`parse_log` turns that text into :class:`CompilerLog` records (sizes in bytes, the
operation table, how many operations are mapped to the Edge TPU).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, extract
from tpusplit.units import KiB, MiB

#: The compiler executable's name; ``$TPUSPLIT_EDGETPU_COMPILER`` overrides the PATH lookup.
COMPILER = "edgetpu_compiler"
INSTALL = ("install it from https://coral.ai/docs/edgetpu/compiler/ "
           "(apt-get install edgetpu-compiler, x86-64 Linux only)")
_UNITS = {"B": 1, "KiB": KiB, "MiB": MiB, "GiB": 1 << 30,
          "KB": 1000, "MB": 1000**2, "GB": 1000**3}
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(B|KiB|MiB|GiB|KB|MB|GB)\s*$")
_OP_ROW = re.compile(r"^\s*([A-Z][A-Z0-9_]*)\s+(\d+)\s+(\S.*?)\s*$")
_FIELDS = {
    "Input model": "input_model",
    "Output model": "output_model",
    "On-chip memory used for caching model parameters": "on_chip_bytes",
    "On-chip memory remaining for caching model parameters": "on_chip_remaining_bytes",
    "Off-chip memory used for streaming uncached model parameters": "off_chip_bytes",
    "Number of Edge TPU subgraphs": "subgraphs",
    "Total number of operations": "total_ops",
    "Operation log": "operation_log",
    "Number of operations that will run on Edge TPU": "ops_on_tpu",
    "Number of operations that will run on CPU": "ops_on_cpu",
}


@dataclass
class CompilerLog:
    """What the compiler reported for one compiled model (sizes in bytes, -1 when absent)."""

    input_model: str = ""
    output_model: str = ""
    on_chip_bytes: int = -1
    on_chip_remaining_bytes: int = -1
    off_chip_bytes: int = -1
    subgraphs: int = -1
    total_ops: int = -1
    operation_log: str = ""
    ops_on_tpu: int = -1
    ops_on_cpu: int = -1
    #: ``(operator, count, status)`` rows of the operation table.
    operations: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def ops_mapped(self) -> int:
        """Operations mapped to the Edge TPU (from the table, else the summary lines)."""
        if self.operations:
            return sum(c for _, c, s in self.operations if s.startswith("Mapped to Edge TPU"))
        if self.ops_on_tpu >= 0:
            return self.ops_on_tpu
        return self.total_ops if self.subgraphs >= 1 and self.ops_on_cpu <= 0 else -1

    @property
    def fits(self) -> bool:
        """True when no parameter is streamed from the host."""
        return self.off_chip_bytes == 0

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly view."""
        return {"input_model": self.input_model, "output_model": self.output_model,
                "on_chip_bytes": self.on_chip_bytes,
                "on_chip_remaining_bytes": self.on_chip_remaining_bytes,
                "off_chip_bytes": self.off_chip_bytes, "subgraphs": self.subgraphs,
                "total_ops": self.total_ops, "ops_mapped": self.ops_mapped,
                "operations": [list(r) for r in self.operations]}


def parse_size(text: str) -> int:
    """``'4.17MiB'`` -> bytes (rounded). Raises ``ValueError`` on anything else."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size: {text!r}")
    return round(float(m.group(1)) * _UNITS[m.group(2)])


def parse_log(text: str, source: str = "<compiler log>") -> list[CompilerLog]:
    """Parse the compiler's output (or an operation ``.log`` file): one record per model.

    A new record starts at each ``Input model:`` (or ``Input:`` of an operation log) line;
    the operation table rows after an ``Operator  Count  Status`` header belong to the
    current record. Unknown lines are ignored. Raises :class:`TpusplitError` naming
    ``source`` when a known field has a malformed value, or when nothing was recognised.

    Complexity: O(lines).
    """
    logs: list[CompilerLog] = []
    current: CompilerLog | None = None
    in_table = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("Operator") and "Count" in line and "Status" in line:
            in_table = True
            if current is None:
                current = CompilerLog()
                logs.append(current)
            continue
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if sep and key in ("Input model", "Input"):
            current = CompilerLog(input_model=value)
            logs.append(current)
            in_table = False
            continue
        if sep and key == "Output" and current is not None:
            current.output_model = value
            continue
        if sep and key in _FIELDS:
            in_table = False
            if current is None:
                current = CompilerLog()
                logs.append(current)
            attr = _FIELDS[key]
            try:
                if attr.endswith("_bytes"):
                    setattr(current, attr, parse_size(value))
                elif attr in ("subgraphs", "total_ops", "ops_on_tpu", "ops_on_cpu"):
                    setattr(current, attr, int(value))
                else:
                    setattr(current, attr, value)
            except ValueError:
                raise TpusplitError(f"{source}: line {lineno}: cannot read {key!r} from "
                                    f"{value!r}") from None
            continue
        if in_table and current is not None:
            m = _OP_ROW.match(line)
            if m:
                current.operations.append((m.group(1), int(m.group(2)), m.group(3)))
            else:
                in_table = False
    if not logs:
        raise TpusplitError(f"{source}: no Edge TPU compiler report found in the log")
    return logs


def find_compiler() -> str | None:
    """Path of ``edgetpu_compiler`` (``$TPUSPLIT_EDGETPU_COMPILER``, else the PATH), or None."""
    override = os.environ.get("TPUSPLIT_EDGETPU_COMPILER")
    if override:
        return override if Path(override).is_file() else None
    return shutil.which(COMPILER)


def require_compiler() -> str:
    """Like :func:`find_compiler` but a clear :class:`TpusplitError` when it is missing."""
    path = find_compiler()
    if path is None:
        raise TpusplitError(f"{COMPILER}: not found on the PATH, so segments cannot be "
                            f"compiled for the Edge TPU; {INSTALL}")
    return path


_VERSION = re.compile(r"Edge TPU Compiler version\s+(\S+)")


def compiler_version(compiler: str | None = None) -> str:
    """The compiler's version (``16.0.384591198``), from ``edgetpu_compiler --version``.

    Part of every cached measurement's key: another compiler may cut and place differently.
    Raises :class:`TpusplitError` when the compiler is missing or prints no version.
    """
    exe = compiler or require_compiler()
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TpusplitError(f"{exe}: {COMPILER} could not run ({exc})") from None
    m = _VERSION.search(proc.stdout + proc.stderr)
    if m is None:
        raise TpusplitError(f"{exe}: --version printed no 'Edge TPU Compiler version'; is it "
                            f"{COMPILER}?")
    return m.group(1)


@dataclass
class CompileResult:
    """A compiled model: its file, its bytes, the parsed log and the raw compiler output."""

    path: Path
    model: bytes
    log: CompilerLog
    output: str
    operation_log: str = ""


def compile_file(model: Path, out_dir: Path, compiler: str | None = None,
                 timeout_s: int = 180) -> CompileResult:
    """Compile ``model`` into ``out_dir`` (``<stem>_edgetpu.tflite`` + ``.log``).

    Runs ``edgetpu_compiler -s -o OUT_DIR MODEL`` (``-s``: print the operation table).
    Raises :class:`TpusplitError` naming the model when the compiler fails or is missing.
    """
    exe = compiler or require_compiler()
    try:
        proc = subprocess.run([exe, "-s", "-o", str(out_dir), "-t", str(timeout_s), str(model)],
                              capture_output=True, text=True, timeout=timeout_s + 30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TpusplitError(f"{model}: {COMPILER} could not run ({exc})") from None
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit status {proc.returncode}"
        raise TpusplitError(f"{model}: {COMPILER} failed ({why})")
    logs = parse_log(output, f"{model}: {COMPILER} output")
    out = out_dir / f"{model.stem}_edgetpu.tflite"
    try:
        data = out.read_bytes()
    except OSError:
        raise TpusplitError(f"{model}: {COMPILER} reported success but wrote no {out.name}") \
            from None
    return CompileResult(out, data, logs[-1], output)


def compile_bytes(model: bytes, name: str = "segment", compiler: str | None = None
                  ) -> CompileResult:
    """Compile in-memory model bytes in a temporary directory as ``<name>.tflite``.

    The result's ``path`` names the file the compiler wrote (gone once this returns; the
    bytes are in ``model``), ``operation_log`` holds the ``<name>_edgetpu.log`` text.
    """
    with tempfile.TemporaryDirectory(prefix="tpusplit-compile-") as tmp:
        src = Path(tmp) / f"{name}.tflite"
        src.write_bytes(model)
        result = compile_file(src, Path(tmp), compiler)
        op_log = Path(tmp) / f"{name}_edgetpu.log"
        if op_log.is_file():
            result.operation_log = op_log.read_text(errors="replace")
        return result


def compile_segments(files: dict[Path, bytes], compiler: str | None = None
                     ) -> dict[Path, CompileResult]:
    """Compile every segment (keyed by the path it will be written to), nothing written yet.

    Returns ``{<dir>/<stem>_edgetpu.tflite: result}``. Raises :class:`TpusplitError` when the
    compiler is missing (before any work) or fails on a segment.
    """
    exe = compiler or require_compiler()
    return {path.with_name(f"{path.stem}_edgetpu.tflite"): compile_bytes(data, path.stem, exe)
            for path, data in files.items()}


def compiled_files(results: dict[Path, CompileResult]) -> dict[Path, bytes]:
    """The files to write for compiled segments: each model and its compiler log."""
    out: dict[Path, bytes] = {}
    for path, r in results.items():
        out[path] = r.model
        out[path.with_suffix(".log")] = (r.operation_log or r.output).encode()
    return out


class CompilerMemory:
    """``(start, end) -> (on_chip_bytes, off_chip_bytes)`` read from the compiler's log.

    Pass it as ``memory`` to :class:`tpusplit.costs.edgetpu.EdgeTPUCost` to replace its
    caching model by the real compiler's figures. Each distinct segment is extracted and
    compiled once (``compiled`` counts them); raises :class:`TpusplitError` when the compiler
    is missing or fails.
    """

    def __init__(self, graph: Graph, compiler: str | None = None) -> None:
        self.graph = graph
        self.compiler = compiler or require_compiler()
        self.compiled = 0
        self._cache: dict[tuple[int, int], tuple[int, int]] = {}

    def __call__(self, start: int, end: int) -> tuple[int, int]:
        key = (start, end)
        if key not in self._cache:
            log = compile_bytes(extract(self.graph, start, end), f"segment_{start}_{end}",
                                self.compiler).log
            if log.on_chip_bytes < 0 or log.off_chip_bytes < 0:
                raise TpusplitError(f"{self.graph.source}: ops [{start}, {end}): the compiler "
                                    "log has no memory figures")
            self.compiled += 1
            self._cache[key] = (log.on_chip_bytes, log.off_chip_bytes)
        return self._cache[key]


def compiler_memory(graph: Graph, compiler: str | None = None) -> CompilerMemory:
    """The compiler's real on-chip/off-chip figures for any segment of ``graph``."""
    return CompilerMemory(graph, compiler)
