"""Running segments on chosen Edge TPUs: ``--tpu-map``, on-the-fly compilation, clear failures.

``--tpu-map 0:usb:0,1:pci:0`` says which Edge TPU runs which segment (segment index, then the
delegate's device name as ``tpusplit devices`` lists it); ``usb:0,pci:0`` is the same in
segment order. Without a map, segment i runs on the i-th TPU found. :class:`RunBackend`
compiles a segment that is not compiled yet (``edgetpu_compiler``, in memory), names the
file and the TPU in every error, and :func:`stage_failure` turns a stage that fails mid-run
(a TPU unplugged or reset) into one line naming the TPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, split
from tpusplit.graph.coral import split_coral
from tpusplit.pipeline.edgetpu import EdgeTPUBackend, is_compiled, list_devices
from tpusplit.pipeline.litert import LiteRTStage
from tpusplit.pipeline.runner import StageError


def parse_tpu_map(text: str, attached: Sequence[str]) -> list[str]:
    """``0:usb:0,1:pci:0`` (or ``usb:0,pci:0``) -> the device name of each segment, in order.

    Checks the names against ``attached`` (``usb:0``, ...; ``:k`` is the k-th attached TPU)
    and that no segment or TPU is given twice and no segment is left out. One-line errors
    naming the entry.
    """
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        raise TpusplitError("--tpu-map is empty: give SEGMENT:TYPE:INDEX entries, e.g. "
                            "0:usb:0,1:pci:0")
    mapping: dict[int, str] = {}
    for pos, item in enumerate(items):
        parts = item.split(":")
        if len(parts) == 3:
            seg_text, name = parts[0], f"{parts[1]}:{parts[2]}"
        elif len(parts) == 2:
            seg_text, name = str(pos), item
        else:
            raise TpusplitError(f"--tpu-map: {item!r} is not SEGMENT:TYPE:INDEX (e.g. 1:usb:0)")
        try:
            seg = int(seg_text)
        except ValueError:
            raise TpusplitError(f"--tpu-map: {item!r}: segment {seg_text!r} is not a number"
                                ) from None
        kind, _, index = name.partition(":")
        if kind == "" and index.isdigit():  # ":k": the k-th TPU, whatever its type
            k = int(index)
            if k >= len(attached):
                raise TpusplitError(f"--tpu-map: {item!r}: only {len(attached)} Edge TPU(s) "
                                    f"attached ({', '.join(attached) or 'none'})")
            name = attached[k]
        elif kind not in ("usb", "pci") or not index.isdigit():
            raise TpusplitError(f"--tpu-map: {item!r}: the TPU must be usb:N or pci:N (as "
                                "`tpusplit devices` lists them)")
        if name not in attached:
            raise TpusplitError(f"--tpu-map: {item!r}: {name} is not attached (found "
                                f"{', '.join(attached) or 'no Edge TPU'}; see `tpusplit "
                                "devices`)")
        if seg in mapping:
            raise TpusplitError(f"--tpu-map: segment {seg} is given twice")
        if name in mapping.values():
            other = next(s for s, n in mapping.items() if n == name)
            raise TpusplitError(f"--tpu-map: {name} is given to segments {other} and {seg}: "
                                "one TPU runs one segment")
        mapping[seg] = name
    missing = [s for s in range(len(mapping)) if s not in mapping]
    if missing:
        raise TpusplitError(f"--tpu-map: segment {missing[0]} has no TPU (segments are "
                            f"numbered from 0; got {', '.join(map(str, sorted(mapping)))})")
    return [mapping[s] for s in range(len(mapping))]


class RunBackend(EdgeTPUBackend):
    """The Edge TPU backend for ``tpusplit run``: segment i on ``devices[i]``, compiling
    uncompiled segments on the fly; ``sources[i]`` names segment i in errors."""

    def __init__(self, devices: Sequence[str] | None = None, num_threads: int = 1,
                 mapped: bool = False, sources: Sequence[str] | None = None,
                 **options: object) -> None:
        super().__init__(devices=devices, num_threads=num_threads, **options)  # type: ignore[arg-type]
        self.mapped = mapped
        self.sources = list(sources or [])
        self.compiled_on_the_fly = 0

    def prepare(self, model: bytes) -> bytes:
        """As is: :meth:`load` compiles, naming the segment in a compiler error."""
        return model

    def _source(self, device: int) -> str:
        return self.sources[device] if device < len(self.sources) else f"segment {device}"

    def load(self, model: bytes, device: int = 0) -> LiteRTStage:
        if self.mapped and device >= len(self.devices):
            raise TpusplitError(f"--tpu-map gives {len(self.devices)} TPU(s) but the pipeline "
                                f"has more segments ({self._source(device)} has none)")
        if not is_compiled(model):
            from tpusplit.pipeline.edgetpu_compiler import compile_bytes

            name = Path(self._source(device)).stem.replace(" ", "_") or f"segment_{device}"
            try:
                model = compile_bytes(model, name).model
            except TpusplitError as exc:
                why = str(exc).split(": ", 1)[-1]
                raise TpusplitError(f"{self._source(device)}: {why}") from None
            self.compiled_on_the_fly += 1
        try:
            return super().load(model, device)
        except TpusplitError as exc:
            raise TpusplitError(f"{self._source(device)}: {exc}") from None

    def check_all_used(self, segments: int) -> None:
        """With a map: a one-line error when it names more TPUs than there are segments."""
        if self.mapped and len(self.devices) != segments:
            raise TpusplitError(f"--tpu-map gives {len(self.devices)} TPU(s) for "
                                f"{segments} segment(s): give one TPU per segment")


def run_backend(tpu_map: str | None, num_threads: int = 1,
                sources: Sequence[str] | None = None, library: str | None = None
                ) -> RunBackend:
    """The backend of ``run --device edgetpu [--tpu-map ...]``: devices checked against what
    libedgetpu sees (a one-line error when it is missing or sees no TPU)."""
    attached = [d.name for d in list_devices(library)]
    if not attached:
        raise TpusplitError("no Edge TPU found: plug one in (see `tpusplit devices`), or run "
                            "on CPU (--device cpu)")
    devices = parse_tpu_map(tpu_map, attached) if tpu_map is not None else attached
    return RunBackend(devices=devices, num_threads=num_threads, mapped=tpu_map is not None,
                      sources=sources, library=library)


def segments_for(graph: Graph, cuts: Sequence[int], coral: bool) -> list[bytes]:
    """The segments to run: with ``coral``, wired for libcoral's runner (pass-through
    tensors), else a plain split."""
    return split_coral(graph, cuts) if coral else split(graph, cuts)


def stage_failure(error: StageError, backend: EdgeTPUBackend, done: int | None = None
                  ) -> TpusplitError:
    """One line for a stage that failed mid-run on an Edge TPU: which TPU, which segment,
    which input, and how many inputs completed before it."""
    devices = backend.devices
    tpu = devices[error.stage] if error.stage < len(devices) else f"#{error.stage}"
    before = error.item if done is None else done
    return TpusplitError(f"Edge TPU {tpu} (segment {error.stage}) failed on input "
                         f"{error.item}: {str(error).split(': ', 1)[-1]}; {before} input(s) "
                         "before it completed; check it with `tpusplit devices`")
