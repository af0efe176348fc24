"""Measured Edge TPU latencies: the repository's data files and users' own CSVs as observations.

Three formats are read into :class:`Observation` records (one measured time of one model, cut
one way, on one host):

- the synthetic sweeps of ``data/edgetpu-measurements`` (:func:`read`, :func:`read_sweep`,
  :func:`sweep_observations`): the conv and fc families on 1 to 4 TPUs;
- Coral's reference latencies of real CNNs in ``data/coral-reference``
  (:func:`coral_observations`), one file per host;
- a user's own CSV (:func:`read_observations`), documented in the README::

      model,cuts,host,ms[,batch][,runner][,link][,clock]
      my_model.tflite,,my-pc,12.5
      my_model.tflite,41;77,my-pc,6.1,100
      seg0_edgetpu.tflite;seg1_edgetpu.tflite,,my-pc,6.3,100

  ``model`` is a .tflite path (relative to the CSV), several segment files separated by ``;``
  (run as a pipeline, one per TPU), or a model spec (:mod:`tpusplit.models.specs`); ``cuts``
  are op indices separated by ``;`` or spaces (empty: one TPU); ``ms`` is the time per
  inference; ``batch`` the number of inputs timed together (default 1); ``runner``
  ``coral`` (PipelinedModelRunner, default) or ``python`` (a thread-and-queue pipeline whose
  host work serialises); ``link`` ``usb3``, ``usb2`` or ``pcie`` (default ``usb3``);
  ``clock`` the Edge TPU clock, ``max`` (default), ``std`` or MHz.

Size: over 400 lines because the catalogue of measurement hosts and one reader per published
data format; each reader is short and they share the Observation type.
"""

from __future__ import annotations

import ast
import csv
import io
import itertools
import os
from dataclasses import dataclass, replace
from pathlib import Path

from tpusplit.costs.edgetpu import CLOCKS
from tpusplit.errors import TpusplitError, read_text
from tpusplit.files import data_dir
from tpusplit.graph import Graph, load
from tpusplit.graph.compiler_rule import compiler_cuts
from tpusplit.models.specs import build_spec

#: The repository's data directory (present in a source checkout).

#: Nominal payload bandwidth of each link, MB/s: USB 3.0 and PCIe Gen2 x1 signal at 5 Gb/s
#: with 8b/10b coding (500 MB/s); USB 2.0 at 480 Mb/s (60 MB/s).
LINK_MBPS: dict[str, float] = {"usb3": 500.0, "pcie": 500.0, "usb2": 60.0}


@dataclass(frozen=True)
class MeasuredHost:
    """A host and link measured in the data; ``cpu`` is ``x86`` or ``arm`` (the class whose
    measured hosts lend a host without small models their fixed cost per invoke)."""

    name: str
    description: str
    link: str
    cpu: str = "x86"


#: Hosts of the repository's data (Coral's reference hosts, the synthetic sweeps' host, and
#: the community's hosts of ``data/edgetpu-community``; one per host, link and method).
_H = MeasuredHost

HOSTS: dict[str, MeasuredHost] = {h.name: h for h in [
    _H("usb3-x86", "x86-64 desktop, Coral USB Accelerator on USB 3 (Coral's reference host)",
       "usb3"),
    _H("devboard", "Coral Dev Board (NXP i.MX 8M, Cortex-A53), Edge TPU on the SoM over PCIe",
       "pcie", "arm"),
    _H("rpi4-usb3", "Raspberry Pi 4B (Cortex-A72), USB Accelerator on its USB 3 port", "usb3",
       "arm"),
    _H("rpi3-usb2", "Raspberry Pi 3B / 3B+ (Cortex-A53), USB Accelerator on USB 2", "usb2",
       "arm"),
    _H("usb3-sweeps", "x86-64 desktop of the synthetic sweeps (Villarrubia et al., PDP 2023), "
       "USB Accelerators on USB 3", "usb3"),
    _H("imac2015-usb3", "iMac 2015, USB Accelerator on USB 3 (Python edgetpu API)", "usb3"),
    _H("mbp2018-usb3", "MacBook Pro 2018, USB Accelerator on USB 3 (Python edgetpu API)",
       "usb3"),
    _H("mbp2018-usb3-cpp", "MacBook Pro 2018, USB Accelerator on USB 3 (C++ edgetpu API)",
       "usb3"),
    _H("i9-13900k-usb3", "Intel i9-13900K desktop, USB Accelerator on USB 3, libedgetpu1-std",
       "usb3"),
    _H("jetson-nano-10w-usb3", "Jetson Nano (10 W mode), USB Accelerator on USB 3", "usb3",
       "arm"),
    _H("jetson-nano-10w-usb2", "Jetson Nano (10 W mode), USB Accelerator on USB 2", "usb2",
       "arm"),
    _H("jetson-nano-5w-usb3", "Jetson Nano (5 W mode), USB Accelerator on USB 3", "usb3",
       "arm"),
    _H("jetson-nano-5w-usb2", "Jetson Nano (5 W mode), USB Accelerator on USB 2", "usb2",
       "arm"),
    _H("rk3399-usb3", "Rockchip RK3399 board, USB Accelerator on USB 3.1, libedgetpu1-max",
       "usb3", "arm"),
    _H("cm4-pcie", "Raspberry Pi Compute Module 4, M.2 Accelerator on PCIe (C++ benchmark)",
       "pcie", "arm"),
    _H("devboard-mini-usb2", "Coral Dev Board Mini (MT8167S), Edge TPU on internal USB 2",
       "usb2", "arm"),
    _H("devboard-p95", "Coral Dev Board at set Edge TPU clocks, 95th percentile latency",
       "pcie", "arm"),
    _H("devboard-wall", "Coral Dev Board, wall clock with JPEG resize and post-processing",
       "pcie", "arm"),
    _H("rpi3bp-wall-usb2", "Raspberry Pi 3B+, USB 2, wall clock with JPEG resize and "
       "post-processing", "usb2", "arm"),
    _H("rpi4-wall-usb3", "Raspberry Pi 4, USB 3, wall clock with JPEG resize and "
       "post-processing", "usb3", "arm"),
]}


@dataclass(frozen=True)
class Observation:
    """One measured time per inference of one model, cut one way, on one host.

    Attributes:
        model: a model spec or .tflite path; empty when ``segment_files`` is given.
        cuts: op indices where segments 2..N begin (empty: one TPU).
        host: host label (a key of :data:`HOSTS` for the repository's data).
        ms: measured time per inference.
        batch: inputs timed together (a pipeline's time is wall time / batch).
        runner: ``coral`` (PipelinedModelRunner) or ``python`` (GIL-bound thread pipeline).
        link: ``usb3``, ``usb2`` or ``pcie``.
        segment_files: separately measured segment files, one per TPU, in pipeline order.
        host_cpu_ms: time on the reference CPU of ops that ran on the host after the Edge TPU
            graph and are not in the model (Coral's SSD files end in
            ``TFLite_Detection_PostProcess``); the host's profile scales it by ``cpu_factor``.
        on_chip_mib, off_chip_mib: the compiler's figures per segment, when known.
        source: where the observation was read (file name).
        group: a label for reports (``conv_2tpu``, ``coral``, ``community``, ...).
        clock_mhz: the Edge TPU clock it ran at (500: libedgetpu1-max, 250: -std).
    """

    model: str
    cuts: tuple[int, ...]
    host: str
    ms: float
    batch: int = 1
    runner: str = "coral"
    link: str = "usb3"
    segment_files: tuple[str, ...] = ()
    host_cpu_ms: float = 0.0
    on_chip_mib: tuple[float, ...] = ()
    off_chip_mib: tuple[float, ...] = ()
    source: str = ""
    group: str = ""
    clock_mhz: float = 500.0

    @property
    def tpus(self) -> int:
        """Number of segments (TPUs)."""
        return len(self.segment_files) or len(self.cuts) + 1


def measurements_dir() -> Path:
    """The synthetic sweeps: ``$TPUSPLIT_MEASUREMENTS`` or ``data/edgetpu-measurements``."""
    env = os.environ.get("TPUSPLIT_MEASUREMENTS")
    return Path(env) if env else data_dir() / "edgetpu-measurements"


def coral_dir() -> Path:
    """Coral's reference latencies: ``data/coral-reference``."""
    return data_dir() / "coral-reference"


def community_dir() -> Path:
    """The community's measurements and compiled graphs: ``data/edgetpu-community``."""
    return data_dir() / "edgetpu-community"


# ----------------------------------------------------------------------------- sweep files
@dataclass(frozen=True, slots=True)
class Row:
    """One measured model of a sweep file: family, size (F or N), per-TPU on/off-chip MiB, time.

    ``on_chip_mib``/``off_chip_mib`` hold one value per segment (one for a single TPU).
    """

    family: str
    size: int
    macs: int
    on_chip_mib: tuple[float, ...]
    off_chip_mib: tuple[float, ...]
    time_ms: float

    @property
    def tpus(self) -> int:
        """Number of segments (TPUs)."""
        return len(self.on_chip_mib)


@dataclass(frozen=True, slots=True)
class Measurements:
    """A sweep file: its rows, the family, the TPU count and how it was split."""

    path: Path
    family: str
    tpus: int
    split: str
    rows: tuple[Row, ...]


@dataclass(frozen=True, slots=True)
class BatchSweep:
    """A batch-size sweep: time per inference for batches of growing size (one model)."""

    path: Path
    family: str
    size: int
    tpus: int
    batches: tuple[int, ...]
    time_ms: tuple[float, ...]


def _floats(text: str, path: Path, line: int) -> tuple[float, ...]:
    text = text.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise TpusplitError(f"{path}: line {line}: {text!r} is not a number or a list of "
                            f"numbers") from None
    values = value if isinstance(value, list | tuple) else [value]
    if not values or not all(isinstance(v, int | float) and not isinstance(v, bool)
                             for v in values):
        raise TpusplitError(f"{path}: line {line}: {text!r} is not a number or a list of numbers")
    return tuple(float(v) for v in values)


def _read_csv(p: Path) -> list[list[str]]:
    """All rows of a CSV file; a one-line error when it cannot be read as text."""
    return list(csv.reader(io.StringIO(read_text(p, "CSV file"), newline="")))


def read(path: str | Path) -> Measurements:
    """Read one sweep file with columns ``Num filters|Hidden neurons, # MACs, On chip mem used,
    Off chip mem used, Inference time``.

    The family is ``conv`` for ``Num filters`` and ``fc`` for ``Hidden neurons``. The split
    (``compiler``/``even``/``single``) comes from the file name when it says so.

    Raises:
        TpusplitError: the file is missing, empty, or not in this format.
    """
    p = Path(path)
    table = _read_csv(p)
    if not table:
        raise TpusplitError(f"{p}: empty file")
    header = [h.strip() for h in table[0]]
    if len(header) != 5 or header[0] not in ("Num filters", "Hidden neurons"):
        raise TpusplitError(f"{p}: expected columns 'Num filters|Hidden neurons, # MACs, On chip "
                            f"mem used, Off chip mem used, Inference time', got {header}")
    family = "conv" if header[0] == "Num filters" else "fc"
    rows: list[Row] = []
    for line, rec in enumerate(table[1:], start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) != 5:
            raise TpusplitError(f"{p}: line {line}: expected 5 fields, got {len(rec)}")
        try:
            size, macs = int(rec[0]), int(rec[1])
            time_ms = float(rec[4])
        except ValueError:
            raise TpusplitError(f"{p}: line {line}: size, MACs and time must be numbers") \
                from None
        on, off = _floats(rec[2], p, line), _floats(rec[3], p, line)
        if len(on) != len(off):
            raise TpusplitError(f"{p}: line {line}: {len(on)} on-chip but {len(off)} off-chip "
                                f"values")
        if size <= 0 or time_ms <= 0 or min(on + off) < 0:
            raise TpusplitError(f"{p}: line {line}: sizes and times must be positive")
        rows.append(Row(family, size, macs, on, off, time_ms))
    if not rows:
        raise TpusplitError(f"{p}: no measurement rows")
    tpus = {r.tpus for r in rows}
    if len(tpus) != 1:
        raise TpusplitError(f"{p}: rows have different TPU counts {sorted(tpus)}")
    name = p.name
    split = "compiler" if "compiler" in name else "even" if "even" in name else (
        "single" if rows[0].tpus == 1 else "unknown")
    return Measurements(p, family, rows[0].tpus, split, tuple(rows))


def read_sweep(path: str | Path) -> BatchSweep:
    """Read a ``Batch size, Inference time`` file named like ``conv_F672_2tpu_..._sweep.csv``."""
    p = Path(path)
    table = _read_csv(p)
    if not table or [h.strip() for h in table[0]] != ["Batch size", "Inference time"]:
        raise TpusplitError(f"{p}: expected columns 'Batch size, Inference time'")
    parts = p.stem.split("_")
    try:
        family = parts[0]
        size = int(parts[1].lstrip("FN"))
        tpus = int(parts[2].removesuffix("tpu"))
    except (IndexError, ValueError):
        raise TpusplitError(f"{p}: name must look like conv_F672_2tpu_..._batch_sweep.csv") \
            from None
    batches, times = [], []
    for line, rec in enumerate(table[1:], start=2):
        if not rec:
            continue
        try:
            batches.append(int(rec[0]))
            times.append(float(rec[1]))
        except (ValueError, IndexError):
            raise TpusplitError(f"{p}: line {line}: expected two numbers") from None
    return BatchSweep(p, family, size, tpus, tuple(batches), tuple(times))


def load_all(directory: str | Path | None = None) -> tuple[list[Measurements], list[BatchSweep]]:
    """Every sweep file and batch sweep in ``directory`` (default :func:`measurements_dir`),
    sorted by family then TPU count."""
    d = Path(directory) if directory is not None else measurements_dir()
    if not d.is_dir():
        raise TpusplitError(f"{d}: measurement directory not found")
    files = sorted(d.glob("*.csv"))
    tables = [read(f) for f in files if "sweep" not in f.name]
    sweeps = [read_sweep(f) for f in files if "sweep" in f.name]
    tables.sort(key=lambda m: (m.family, m.tpus))
    sweeps.sort(key=lambda s: (s.family, s.tpus))
    return tables, sweeps


#: How the sweep files were run (their README): batch and runner per family.
SWEEP_RUNNER: dict[str, tuple[int, str]] = {"conv": (100, "coral"), "fc": (50, "python")}


def sweep_observations(directory: str | Path | None = None, every: int = 1,
                       host: str = "usb3-sweeps") -> list[Observation]:
    """Every row of the synthetic sweeps as observations on ``host``.

    Split files are cut the way they were measured (the compiler's rule for ``*compiler*``,
    by layer count for ``*even*``); ``every`` keeps every k-th row of each file.
    """
    tables, sweeps = load_all(directory)
    return _sweep_observations(tables, sweeps, every, host)


def _sweep_observations(tables: list[Measurements], sweeps: list[BatchSweep], every: int,
                        host: str) -> list[Observation]:
    # the cuts of every (model, TPU count, split) measured, each model built once
    wanted: dict[str, set[tuple[int, str]]] = {}
    for m in tables:
        for row in m.rows[::every]:
            wanted.setdefault(f"{m.family}-{row.size}", set()).add((m.tpus, m.split))
    for sw in sweeps:
        wanted.setdefault(f"{sw.family}-{sw.size}", set()).add((sw.tpus, "compiler"))
    cuts_of: dict[tuple[str, int, str], tuple[int, ...]] = {}
    for spec, splits in wanted.items():
        g = load(build_spec(spec))
        for tpus, split in splits:
            cuts_of[(spec, tpus, split)] = tuple(
                [] if tpus == 1 else even_cuts(g, tpus) if split == "even" else
                compiler_cuts(g, tpus))
    link = HOSTS[host].link if host in HOSTS else "usb3"
    out: list[Observation] = []
    for m in tables:
        batch, runner = SWEEP_RUNNER[m.family] if m.tpus > 1 else (1, "coral")
        for row in m.rows[::every]:
            spec = f"{m.family}-{row.size}"
            out.append(Observation(spec, cuts_of[(spec, m.tpus, m.split)], host, row.time_ms,
                                   batch, runner, link, on_chip_mib=row.on_chip_mib,
                                   off_chip_mib=row.off_chip_mib, source=m.path.name,
                                   group=f"{m.family}_{m.tpus}tpu"))
    for sw in sweeps:
        spec = f"{sw.family}-{sw.size}"
        out += [Observation(spec, cuts_of[(spec, sw.tpus, "compiler")], host, t, b, "coral",
                            link, source=sw.path.name, group=f"sweep_{sw.tpus}tpu")
                for b, t in list(zip(sw.batches, sw.time_ms, strict=True))[::every]]
    return out


def read_any(path: str | Path, host: str | None = None) -> list[Observation]:
    """Observations of one file in any of the three formats (told apart by the header).

    Sweep files (``Num filters``/``Hidden neurons``/``Batch size`` columns) become observations
    on ``host`` (default ``usb3-sweeps``); a user CSV keeps its own host column unless
    ``host`` is given.
    """
    p = Path(path)
    table = _read_csv(p)
    first = table[0][0].strip() if table and table[0] else ""
    if first in ("Num filters", "Hidden neurons"):
        return _sweep_observations([read(p)], [], 1, host or "usb3-sweeps")
    if first == "Batch size":
        return _sweep_observations([], [read_sweep(p)], 1, host or "usb3-sweeps")
    obs = read_observations(p)
    return [replace(o, host=host) for o in obs] if host else obs


def even_cuts(graph: Graph, n: int) -> list[int]:
    """Split by layer count (layers = ops with parameters), extra layers to the last segments.

    Each segment starts at a layer; ops without parameters stay with the layer before them
    (a QUANTIZE in front goes with the first). The fc files were split this way.
    """
    layers = [op.index for op in graph.ops if op.param_bytes > 0]
    if n <= 1:
        return []
    if n > len(layers):
        raise TpusplitError(f"{graph.source}: {n} segments but only {len(layers)} layers")
    base, extra = divmod(len(layers), n)
    sizes = [base + (1 if s >= n - extra else 0) for s in range(n)]
    starts = list(itertools.accumulate(sizes))[:-1]
    return [layers[k] for k in starts]


# ----------------------------------------------------------------------------- Coral's files
#: Coral's reference file of each host.
CORAL_FILES: dict[str, str] = {
    "basic_engine_reference_x86_64.csv": "usb3-x86",
    "basic_engine_reference_aarch64.csv": "devboard",
    "basic_engine_reference_rp4b.csv": "rpi4-usb3",
    "basic_engine_reference_rp3b.csv": "rpi3-usb2",
    "basic_engine_reference_rp3b+.csv": "rpi3-usb2",
}
#: Coral's model names -> tpusplit zoo names.
CORAL_MODELS: dict[str, str] = {
    "inception_v1_224_quant": "InceptionV1-slim",
    "inception_v4_299_quant": "InceptionV4-slim",
    "mobilenet_v1_1.0_224_quant": "MobileNetV1-slim",
    "mobilenet_v2_1.0_224_quant": "coral-mobilenet_v2_1.0_224",
    "ssd_mobilenet_v1_coco_quant_postprocess": "SSDMobileNetV1",
    "ssd_mobilenet_v2_face_quant_postprocess": "SSDMobileNetV2Face",
}


def host_cpu_ms(directory: str | Path | None = None) -> dict[str, float]:
    """Reference-CPU ms of the host-side ops of Coral's files (``host_cpu.csv``, written by
    ``benchmarks/edgetpu_model/host_cpu.py``), summed per model."""
    p = Path(directory if directory is not None else coral_dir()) / "host_cpu.csv"
    out: dict[str, float] = {}
    table = _read_csv(p)
    for line, rec in enumerate(table[1:], start=2):
        if not rec:
            continue
        try:
            out[rec[0]] = out.get(rec[0], 0.0) + float(rec[2])
        except (ValueError, IndexError):
            raise TpusplitError(f"{p}: line {line}: expected model,op,reference_ms,...") \
                from None
    return out


def coral_observations(directory: str | Path | None = None) -> list[Observation]:
    """Coral's single-TPU reference latencies, one observation per (host file, model)."""
    d = Path(directory) if directory is not None else coral_dir()
    if not d.is_dir():
        raise TpusplitError(f"{d}: Coral reference directory not found")
    cpu = host_cpu_ms(d)
    out: list[Observation] = []
    for name, host in CORAL_FILES.items():
        p = d / name
        lines = _read_csv(p)
        for line, rec in enumerate(lines[1:], start=2):
            fields = " ".join(rec).split()
            if not fields:
                continue
            if len(fields) != 2:
                raise TpusplitError(f"{p}: line {line}: expected 'MODEL INFERENCE_TIME'")
            model = fields[0].removesuffix("_edgetpu.tflite")
            if model not in CORAL_MODELS:
                raise TpusplitError(f"{p}: line {line}: unknown model {model!r}")
            spec = CORAL_MODELS[model]
            try:
                ms = float(fields[1])
            except ValueError:
                raise TpusplitError(f"{p}: line {line}: time {fields[1]!r} is not a number") \
                    from None
            out.append(Observation(spec, (), host, ms, link=HOSTS[host].link,
                                   host_cpu_ms=cpu.get(model, 0.0), source=name, group="coral"))
    return out


# ----------------------------------------------------------------------------- community
#: The ``use`` of a row of ``single_tpu_used.csv`` that no fit sees: a network kept to test
#: the model on (:func:`held_out_observations`).
HELD_OUT = "held out"


def community_observations(directory: str | Path | None = None) -> list[Observation]:
    """The community's single-TPU latencies that tpusplit fits on, one observation each.

    ``single_tpu_latency.csv`` holds the published rows (each citing its source);
    ``single_tpu_used.csv`` maps each row to a zoo model, a host of :data:`HOSTS`, the link,
    the Edge TPU clock and the SSD post-processing timed on the reference CPU
    (``host_cpu.csv`` of ``data/coral-reference``), or says why the row is not used. Rows
    marked :data:`HELD_OUT` are left to :func:`held_out_observations`.
    """
    return [o for o in _community(directory) if o.group == "community"]


def held_out_observations(directory: str | Path | None = None) -> list[Observation]:
    """The community rows marked :data:`HELD_OUT` (group ``held-out``): real networks that no
    fit sees, kept to test the fitted model on a network it never met."""
    return [o for o in _community(directory) if o.group == "held-out"]


def _community(directory: str | Path | None) -> list[Observation]:
    d = Path(directory) if directory is not None else community_dir()
    table = _read_csv(d / "single_tpu_latency.csv")
    mapping = _read_csv(d / "single_tpu_used.csv")
    cpu = host_cpu_ms(coral_dir())
    out: list[Observation] = []
    for line, rec in enumerate(mapping[1:], start=2):
        if not rec or not rec[1].strip():
            continue
        try:
            row, model, host, link = int(rec[0]), rec[1], rec[2], rec[3]
            clock = float(rec[4])
            ms = float(table[row][6])
        except (ValueError, IndexError):
            raise TpusplitError(f"{d / 'single_tpu_used.csv'}: line {line}: expected "
                                f"row,model,host,link,clock_mhz,host_cpu,use") from None
        if host not in HOSTS or link not in LINK_MBPS:
            raise TpusplitError(f"{d / 'single_tpu_used.csv'}: line {line}: unknown host "
                                f"{host!r} or link {link!r}")
        held = len(rec) > 6 and rec[6].strip() == HELD_OUT
        out.append(Observation(model, (), host, ms, link=link, clock_mhz=clock,
                               host_cpu_ms=cpu.get(rec[5], 0.0) if rec[5] else 0.0,
                               source=f"single_tpu_latency.csv:{row + 1}",
                               group="held-out" if held else "community"))
    return out


# ----------------------------------------------------------------------------- users' CSVs
_COLUMNS = ("model", "cuts", "host", "ms")


def read_observations(path: str | Path) -> list[Observation]:
    """Read a CSV of ``model,cuts,host,ms[,batch][,runner][,link]`` (module docstring).

    Relative model paths are resolved against the CSV's folder.

    Raises:
        TpusplitError: missing columns, or a row with a bad number, runner or link.
    """
    p = Path(path)
    table = _read_csv(p)
    if not table:
        raise TpusplitError(f"{p}: empty file")
    header = [h.strip().lower() for h in table[0]]
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise TpusplitError(f"{p}: expected columns model,cuts,host,ms[,batch][,runner][,link]; "
                            f"missing {', '.join(missing)}")
    col = {c: header.index(c) for c in header}
    out: list[Observation] = []
    for line, rec in enumerate(table[1:], start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) < len(header):
            raise TpusplitError(f"{p}: line {line}: expected {len(header)} fields, got "
                                f"{len(rec)}")

        def get(name: str, default: str = "", rec: list[str] = rec) -> str:
            return rec[col[name]].strip() if name in col else default

        model = get("model")
        if not model:
            raise TpusplitError(f"{p}: line {line}: empty model")
        try:
            cuts = tuple(int(c) for c in get("cuts").replace(";", " ").split())
            ms = float(get("ms"))
            batch = int(get("batch", "1") or 1)
        except ValueError:
            raise TpusplitError(f"{p}: line {line}: cuts, ms and batch must be numbers") \
                from None
        if ms <= 0 or batch < 1 or any(c <= 0 for c in cuts) or list(cuts) != sorted(set(cuts)):
            raise TpusplitError(f"{p}: line {line}: ms and batch must be positive, cuts "
                                f"increasing op indices > 0")
        runner, link = get("runner", "coral") or "coral", get("link", "usb3") or "usb3"
        if runner not in ("coral", "python"):
            raise TpusplitError(f"{p}: line {line}: runner must be coral or python, got "
                                f"{runner!r}")
        if link not in LINK_MBPS:
            raise TpusplitError(f"{p}: line {line}: link must be one of "
                                f"{', '.join(LINK_MBPS)}, got {link!r}")
        clock = _clock(get("clock", "max") or "max", p, line)
        host = get("host") or "custom"
        files: tuple[str, ...] = ()
        if ";" in model:
            if cuts:
                raise TpusplitError(f"{p}: line {line}: give segment files or cuts, not both")
            files = tuple(str(_resolve(f.strip(), p.parent)) for f in model.split(";"))
            model = ""
        else:
            model = str(_resolve(model, p.parent))
        out.append(Observation(model, cuts, host, ms, batch, runner, link, files,
                               source=f"{p.name}:{line}", group=host, clock_mhz=clock))
    if not out:
        raise TpusplitError(f"{p}: no measurement rows")
    return out


def _clock(text: str, p: Path, line: int) -> float:
    """An Edge TPU clock column: ``max``, ``std`` or MHz."""
    try:
        mhz = CLOCKS[text] if text in CLOCKS else float(text)
    except ValueError:
        mhz = -1.0
    if not 0 < mhz < float("inf"):
        raise TpusplitError(f"{p}: line {line}: clock must be max, std or MHz, got {text!r}")
    return mhz


def _resolve(model: str, base: Path) -> str | Path:
    """A path relative to ``base`` for file names, the spec itself otherwise."""
    if model.endswith(".tflite"):
        q = Path(model)
        return q if q.is_absolute() else base / q
    return model
