"""Segm_Prof on real Edge TPUs: compile every segment a strategy asks for, run it, time it.

For segment ``[start, end)``, :class:`EdgeTPUProfiler` writes the file a split would write for
it (with Coral's pass-through tensors under ``coral="carry"``), compiles it with
``edgetpu_compiler``, loads it on an Edge TPU through the libedgetpu delegate, runs it
``warmup`` times, then times ``repeats`` runs (setting inputs, ``invoke()``, reading outputs:
the stage time a pipeline sees). The latency is the median (or ``p10``/``min``); the
compiler's on-chip/off-chip figures come with it.

* **Cache.** Every outcome goes to a JSON file at once (default
  ``~/.cache/tpusplit/edgetpu-profile.json``), keyed by model digest, segment, TPU type
  (usb/pci), compiler version and Coral mode: a later run, another strategy or another ``N``
  reuses it, and an interrupted run loses nothing it measured.
* **Several TPUs.** With ``k`` TPUs, :meth:`~EdgeTPUProfiler.prefetch` measures ``k``
  segments at once (one worker per TPU) while the next ones compile; the ``profiled``
  strategy asks ahead that many candidates (:attr:`parallel`).
* **Compile failures.** A segment the compiler rejects costs ``inf`` (strategies skip it),
  ``on_reject`` is told (a one-line warning naming the cut), and the rejection is cached.
* **A TPU that disappears** (unplugged, reset): its segment goes to another TPU; when none is
  left, a one-line :class:`~tpusplit.errors.TpusplitError` names the TPU and the segment and
  says the measurements so far are in the cache.

This is the measuring step of libcoral's ``partition_with_profiling`` / Segm_Prof
(Villarrubia et al., PDP 2023) as a user with Coral TPUs runs it.

Size: over 400 lines because the profiler, its rejection bookkeeping and the parallel TPU
scheduler are one object's state; each part is small.
"""

from __future__ import annotations

import math
import os
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.errors import TpusplitError, first_line
from tpusplit.graph import Graph, extract
from tpusplit.graph.coral import carried, extract_coral
from tpusplit.pipeline.edgetpu import EdgeTPUBackend
from tpusplit.pipeline.edgetpu_compiler import CompileResult, compile_bytes
from tpusplit.profiling.cpu import STATISTICS, Measurement, model_digest, time_stage
from tpusplit.profiling.disk_cache import merge_and_write, read_entries

#: Profile of the Edge TPU model used for the dry run that estimates the work, per TPU type.
MODEL_PROFILE = {"usb": "edgetpu-usb3", "pci": "edgetpu-pcie"}


def default_cache_path() -> Path:
    """``$XDG_CACHE_HOME/tpusplit/edgetpu-profile.json`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tpusplit" / "edgetpu-profile.json"


@dataclass(frozen=True)
class Rejection:
    """A segment the compiler refused: where, and its last line of output."""

    start: int
    end: int
    reason: str

    def message(self, graph: Graph) -> str:
        """One line naming the cut: what a user reads."""
        at = (f"cuts {self.start} and {self.end}" if self.start > 0 and self.end < len(graph.ops)
              else f"cut {self.start}" if self.start > 0
              else f"cut {self.end}" if self.end < len(graph.ops) else "no cut")
        return (f"{graph.source}: segment ops [{self.start}, {self.end}) ({at}): "
                f"edgetpu_compiler rejected it ({self.reason}); plans skip it")


class TPULost(TpusplitError):
    """Every Edge TPU in use failed; what was measured is in the cache."""


class EdgeTPUProfiler(CostSource):
    """Latency of each segment compiled with ``edgetpu_compiler`` and timed on Edge TPUs.

    Args:
        graph: the model.
        backend: an :class:`~tpusplit.pipeline.edgetpu.EdgeTPUBackend` whose ``devices`` are
            the TPUs to measure on (all of one type).
        kind: their type, ``usb`` or ``pci`` (part of the cache key and of :attr:`device`).
        compiler: the compiler executable (default: found on the PATH).
        compiler_version: its version (default: asked with ``--version``).
        cache_path: the JSON cache (default :func:`default_cache_path`; None: memory only).
        coral: ``carry`` (measure segments with their pass-through tensors) or ``off``.
        warmup, repeats, min_seconds, statistic: as :class:`~tpusplit.profiling.cpu.ProfilerCost`.
        on_reject: called once with each :class:`Rejection` a strategy meets (found now or
            read from the cache).
        on_lost: called with ``(tpu, why)`` when a TPU fails and others carry on.

    Counters for a progress display (read from another thread): :attr:`compiled`,
    :attr:`compile_failures`, :attr:`measured_count`, :attr:`disk_hits`, :attr:`lost`,
    :meth:`seconds_left`.
    """

    measured = True

    def __init__(self, graph: Graph, backend: EdgeTPUBackend, kind: str = "usb",
                 compiler: str | None = None, compiler_version: str | None = None,
                 cache_path: str | Path | None = "default", coral: str = "carry",
                 warmup: int = 3, repeats: int = 15, min_seconds: float = 0.02,
                 statistic: str = "median",
                 on_reject: Callable[[Rejection], None] | None = None,
                 on_lost: Callable[[str, str], None] | None = None) -> None:
        super().__init__(graph)
        from tpusplit.pipeline.edgetpu_compiler import compiler_version as ask_version
        from tpusplit.pipeline.edgetpu_compiler import require_compiler

        if statistic not in STATISTICS:
            raise TpusplitError(f"profiler: statistic {statistic!r} is not one of "
                                f"{', '.join(STATISTICS)}")
        if coral not in ("carry", "off", "exclude"):
            raise TpusplitError(f"profiler: coral must be carry, exclude or off, not {coral!r}")
        self.backend = backend
        self.tpus: list[str] = list(backend.devices)
        if not self.tpus:
            raise TpusplitError("no Edge TPU found to profile on: plug one in (see `tpusplit "
                                "devices`), or plan with the Edge TPU model (--cost model)")
        self.kind = kind
        self.device = f"edgetpu:{kind}"
        self.compiler = compiler or require_compiler()
        self.compiler_version = compiler_version or ask_version(self.compiler)
        self.cache_path = (default_cache_path() if cache_path == "default"
                           else Path(cache_path) if cache_path is not None else None)
        self.carry = coral == "carry"
        self.warmup, self.repeats, self.min_seconds = warmup, repeats, min_seconds
        self.statistic = statistic
        self.on_reject = on_reject
        self.on_lost = on_lost
        self.measurements: dict[tuple[int, int], Measurement] = {}
        self.rejected: dict[tuple[int, int], Rejection] = {}
        self.lost: dict[str, str] = {}
        self.compiled = 0
        self.compile_failures = 0
        self.measured_count = 0
        self.disk_hits = 0
        self.expected: int | None = None
        self._durations: deque[float] = deque(maxlen=20)
        self._lock = threading.Lock()
        self._digest: str | None = None
        self._turn = 0
        self._disk = self._read_cache()

    # -- cache ------------------------------------------------------------------------------

    @property
    def parallel(self) -> int:  # type: ignore[override]
        """TPUs measuring at once (strategies may ask that many segments ahead)."""
        return max(1, len(self.tpus) - len(self.lost))

    @property
    def digest(self) -> str:
        """The model digest used in cache keys."""
        if self._digest is None:
            self._digest = model_digest(self.graph)
        return self._digest

    def key(self, start: int, end: int) -> str:
        """Cache key: ``digest:start:end:type:compiler-version[:carry]``."""
        mode = ":carry" if self.carry and carried(self.graph, start, end) else ""
        return f"{self.digest}:{start}:{end}:{self.kind}:{self.compiler_version}{mode}"

    def cached(self, start: int, end: int) -> bool:
        """True when ``[start, end)`` needs no compile or run (in memory or on disk)."""
        return (start, end) in self._cache or self.key(start, end) in self._disk

    def _read_cache(self) -> dict[str, dict[str, Any]]:
        return read_entries(self.cache_path, "Edge TPU profile cache")

    def _store(self, key: str, entry: dict[str, Any]) -> None:
        """Keep one outcome, on disk at once (merged with what other runs added)."""
        self._disk[key] = entry
        if self.cache_path is not None:
            self._disk = merge_and_write(self.cache_path, self._disk, "Edge TPU profile cache")

    def _cost(self, start: int, end: int, entry: dict[str, Any]) -> SegmentCost:
        if "rejected" in entry:
            rej = Rejection(start, end, str(entry["rejected"]))
            if (start, end) not in self.rejected:
                self.rejected[(start, end)] = rej
                if self.on_reject is not None:
                    self.on_reject(rej)
            return SegmentCost(start, end, math.inf)
        m = Measurement(*(entry[f] for f in ("median_ms", "p10_ms", "p90_ms", "min_ms",
                                             "runs")))
        self.measurements[(start, end)] = m
        value = {"median": m.median_ms, "p10": m.p10_ms, "min": m.min_ms}[self.statistic]
        return SegmentCost(start, end, value, int(entry.get("on_chip_bytes", 0)),
                           int(entry.get("off_chip_bytes", 0)))

    # -- measuring --------------------------------------------------------------------------

    def segment_file(self, start: int, end: int) -> bytes:
        """The uncompiled segment as it will run (with pass-through tensors under carry)."""
        if self.carry:
            return extract_coral(self.graph, start, end)
        return extract(self.graph, start, end)

    def _compile(self, start: int, end: int) -> CompileResult:
        name = f"{self.graph.name}_ops_{start}_{end}"
        return compile_bytes(self.segment_file(start, end), name, self.compiler)

    def _measure_on(self, tpu: int, result: CompileResult, start: int) -> Measurement:
        from tpusplit.pipeline.sequential import random_inputs

        stage = self.backend.load(result.model, tpu)
        feeds = random_inputs(stage, seed=start)
        return time_stage(stage, feeds, self.warmup, self.repeats, self.min_seconds)

    def _run(self, spans: Sequence[tuple[int, int]]) -> None:
        """Compile and measure ``spans`` (none cached), one worker per live TPU."""
        todo = deque(spans)
        if not todo:
            return
        live = [i for i, name in enumerate(self.tpus) if name not in self.lost]
        if not live:
            raise self._all_lost(spans[0])
        turn = self._turn % len(live)  # take turns: one segment at a time uses every TPU
        live = live[turn:] + live[:turn]
        self._turn += 1
        workers = max(1, min(len(live), len(todo)))
        compiling: dict[tuple[int, int], Future[CompileResult]] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, min(os.cpu_count() or 1, workers + 1)),
                                  thread_name_prefix="tpusplit-compile")
        for span in todo:
            compiling[span] = pool.submit(self._compile, *span)
        last_failure: list[tuple[tuple[int, int], str, str]] = []
        crashed: list[BaseException] = []

        def work(tpu: int) -> None:
            try:
                measure(tpu)
            except BaseException as exc:  # e.g. the cache cannot be written: stop, say why
                with self._lock:
                    crashed.append(exc)
                    todo.clear()

        def measure(tpu: int) -> None:
            name = self.tpus[tpu]
            while True:
                with self._lock:
                    if not todo:
                        return
                    span = todo.popleft()
                t0 = time.perf_counter()
                try:
                    result = compiling[span].result()
                except TpusplitError as exc:
                    self._reject(span, str(exc))
                    continue
                with self._lock:
                    self.compiled += 1
                try:
                    m = self._measure_on(tpu, result, span[0])
                except (TpusplitError, RuntimeError, ValueError, OSError) as exc:
                    with self._lock:
                        self.lost[name] = first_line(exc)
                        todo.appendleft(span)  # another TPU takes it
                        last_failure.append((span, name, first_line(exc)))
                        others = len(self.tpus) - len(self.lost)
                    if self.on_lost is not None and others:
                        self.on_lost(name, f"{first_line(exc)}; measuring on the {others} "
                                           "other TPU(s)")
                    return
                log = result.log
                entry = {"median_ms": m.median_ms, "p10_ms": m.p10_ms, "p90_ms": m.p90_ms,
                         "min_ms": m.min_ms, "runs": m.runs,
                         "on_chip_bytes": max(log.on_chip_bytes, 0),
                         "off_chip_bytes": max(log.off_chip_bytes, 0),
                         "ops_mapped": log.ops_mapped, "total_ops": log.total_ops, "tpu": name}
                with self._lock:
                    self._store(self.key(*span), entry)
                    self.measured_count += 1
                    self._durations.append(time.perf_counter() - t0)

        try:
            while todo:  # again while TPUs remain, when one failed and left work behind
                live = [i for i in live if self.tpus[i] not in self.lost]
                if not live:
                    break
                threads = [threading.Thread(target=work, args=(i,), daemon=True,
                                            name=f"tpusplit-tpu-{self.tpus[i]}")
                           for i in live[:max(1, min(len(live), len(todo)))]]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if crashed:
            raise crashed[0]
        if todo:  # every TPU failed
            raise self._all_lost(todo[0], last_failure[-1] if last_failure else None)

    def _all_lost(self, span: tuple[int, int],
                  failure: tuple[tuple[int, int], str, str] | None = None) -> TPULost:
        where = f"{self.cache_path}" if self.cache_path is not None else "memory (no cache)"
        kept = sum(1 for k, e in self._disk.items()
                   if k.startswith(f"{self.digest}:") and "median_ms" in e)
        if failure is not None:
            (a, b), name, why = failure
            what = f"Edge TPU {name} failed while measuring segment ops [{a}, {b}) ({why})"
        else:
            what = f"no Edge TPU left to measure segment ops [{span[0]}, {span[1]})"
        others = [n for n in self.lost if failure is None or n != failure[1]]
        lost = f"; also lost: {', '.join(others)}" if others else ""
        return TPULost(f"{what}{lost}; {kept} measurement(s) so far are kept in {where}: "
                       "check the TPU (`tpusplit devices`) and rerun to continue")

    def _reject(self, span: tuple[int, int], error: str) -> None:
        reason = error.split(" failed (", 1)[-1].rstrip(")") if " failed (" in error else error
        with self._lock:
            self._store(self.key(*span), {"rejected": reason})
            self.compile_failures += 1

    # -- CostSource -------------------------------------------------------------------------

    def prefetch(self, spans: Sequence[tuple[int, int]]) -> None:
        """Measure every span not cached yet, all TPUs at once."""
        seen: set[tuple[int, int]] = set()
        todo = []
        for a, b in spans:
            if (a, b) in seen or self.cached(a, b):
                continue
            seen.add((a, b))
            todo.append((a, b))
        self._run(todo)

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        key = self.key(start, end)
        entry = self._disk.get(key)
        if entry is not None:
            self.disk_hits += 1
        else:
            self._run([(start, end)])
            entry = self._disk[key]
        return self._cost(start, end, entry)

    def clear(self) -> None:
        """Forget costs in memory (the disk cache is kept: reusing it is what it is for)."""
        super().clear()
        self.measurements.clear()

    # -- progress ---------------------------------------------------------------------------

    @property
    def done(self) -> int:
        """Segments answered so far: measured, rejected or read from the cache."""
        return self.measured_count + self.compile_failures + self.disk_hits

    def seconds_left(self) -> float | None:
        """Estimated seconds to go: segments still expected times the recent mean time per
        segment (compile and measure), shared by the live TPUs; None before any estimate."""
        if self.expected is None or not self._durations or self.done >= self.expected:
            return None  # no estimate, or past it (the real search went further)
        left = self.expected - self.done
        return left * statistics.fmean(self._durations) / self.parallel


def tpu_kind(device: str) -> str | None:
    """The TPU type a ``--device`` name asks for: ``usb``, ``pci``, or None (any one type)."""
    if device in ("edgetpu:usb", "edgetpu:pci"):
        return device.split(":", 1)[1]
    if "pcie" in device or "devboard" in device:
        return "pci"
    if "usb" in device:
        return "usb"
    return None


def choose_tpus(device: str, library: str | None = None) -> tuple[str, list[str]]:
    """The attached Edge TPUs to profile ``device`` on: ``(type, delegate names)``.

    One-line errors when libedgetpu is missing, when no TPU of the type is attached, or when
    both types are and ``device`` does not say which (their latencies differ).
    """
    from tpusplit.pipeline.edgetpu import list_devices

    kind = tpu_kind(device)
    found = list_devices(library)
    usable = [d for d in found if kind is None or d.kind == kind]
    if not usable:
        seen = f" (found {', '.join(d.name for d in found)})" if found else ""
        what = f"{kind} Edge TPU" if kind else "Edge TPU"
        raise TpusplitError(f"--device {device}: no {what} attached{seen}; plug one in (see "
                            "`tpusplit devices`) or plan with the Edge TPU model (--cost model)")
    kinds = sorted({d.kind for d in usable})
    if len(kinds) > 1:
        raise TpusplitError(f"--device {device}: both USB and PCIe Edge TPUs are attached; "
                            "profile one type: --device edgetpu:usb or --device edgetpu:pci")
    return kinds[0], [d.name for d in usable]


def make_profiler(graph: Graph, device: str, cache_path: str | Path | None = "default",
                  coral: str = "carry", library: str | None = None,
                  on_reject: Callable[[Rejection], None] | None = None,
                  on_lost: Callable[[str, str], None] | None = None,
                  **timing: Any) -> EdgeTPUProfiler:
    """An :class:`EdgeTPUProfiler` on every attached Edge TPU of ``device``'s type (``edgetpu``,
    ``edgetpu:usb``, ``edgetpu:pci``, or a profile name such as ``edgetpu-pcie``)."""
    from tpusplit.pipeline.edgetpu import EdgeTPUBackend
    from tpusplit.pipeline.edgetpu_compiler import require_compiler

    compiler = require_compiler()  # before touching the TPUs: the likelier missing piece
    kind, names = choose_tpus(device, library)
    backend = EdgeTPUBackend(devices=names, library=library)
    return EdgeTPUProfiler(graph, backend, kind, compiler=compiler, cache_path=cache_path,
                           coral=coral, on_reject=on_reject, on_lost=on_lost, **timing)
