"""Analytic Edge TPU latency model: a :class:`CostSource` for any int8 CNN, no hardware needed.

The latency of ops ``[start, end)`` compiled alone and run on one Edge TPU is a sum of terms
with a physical reading. Each term is a count the graph determines (array passes, bytes,
ops) times one profile parameter (:mod:`tpusplit.devices.profiles`), so the parameters
are fitted by non-negative least squares (:mod:`tpusplit.calibration.fit`). Which terms
depend on the host and which on the chip:

``latency = fixed + link * (in + out + streamed * reads) + act_in * in + act_out * out
+ conv * conv_cycles + depthwise * dw_cycles + fc * fc_tiles + element * element_bytes
+ op * ops``

- **fixed** (per host): one invoke: the driver call and a round trip on the link.
- **link** (per host, ms per MiB): every byte that crosses the host link, at one rate per
  link: the segment's input activations (host -> device), its outputs (device -> host), and
  the parameters the caching model (:mod:`tpusplit.costs.onchip`) leaves off chip,
  which are read from host memory at every inference.
- **reads**: a streamed layer is computed in spatial tiles and its weights cross the link again
  for every tile. How many depends on its activations against the on-chip memory, with the
  layer's working set (input plus output activations, channels padded to the 64-wide array):
  ``min(reread_max, max(1, working set / reread_mib))`` tiles; when the working set plus the
  segment's own input and output tensors (staged on chip for the whole invoke) exceed the
  on-chip memory (``cache.base_mib``), times ``overflow_reads * demand / on-chip memory``.
  So the deep 7x7 or 8x8 layers of real CNNs (tens of KiB) and fully connected layers read
  their weights once, the 64x64xF layers of the synthetic family up to ``reread_max`` times
  on one TPU, and about twice that in a pipeline stage whose megabyte-sized input and output
  crowd the memory (plot: ``benchmarks/results/edgetpu_model_reads.png``).
- **act_in / act_out** (chip and runtime, ms per MiB): what a boundary activation costs on
  top of the link (re-layout to and from the chip's tiled format, staging). They are why a cut
  through a wide tensor is expensive even on a fast link.
- **conv** (chip): ``CONV_2D`` runs on the 64x64 systolic array as passes of 64 output
  channels by 64 reduction lanes at one output position; the reduction is
  ``kh * kw * ceil4(cin)`` (the compiler pads input channels to 4, the data shows it), so a
  layer takes ``H_out * W_out * ceil(cout / 64) * ceil(kh * kw * ceil4(cin) / 64)`` passes.
  The padding is visible in the data: latency steps up where ``ceil64(F)`` steps. Other
  matrix ops (``TRANSPOSE_CONV``, ``BATCH_MATMUL``, ``CONV_3D``) are costed as their MACs
  over 4096 passes.
- **depthwise** (chip): ``DEPTHWISE_CONV_2D`` cannot use the array's reduction lanes across
  channels: ``H_out * W_out * ceil(channels / 64) * kh * kw`` passes.
- **fc** (chip): ``FULLY_CONNECTED`` uses each weight once per inference, so it is bound by
  loading 64x64 weight tiles into the array: ``rows * ceil(out / 64) * ceil(in / 64)`` tiles.
- **element** (chip, ms per MiB): ops without MACs (``ADD``, pooling, ``CONCATENATION``,
  activations, ``SOFTMAX`` ...) per byte they write; ``RESHAPE``/``SQUEEZE`` are free.
- **op** (chip): per op issued on the Edge TPU.

Ops that convert a float model's input or output (``QUANTIZE`` from float, ``DEQUANTIZE``) run
on the host CPU and are not costed (microseconds at the sizes measured); an SSD's
post-processing op runs there too and costs ``cpu_factor`` times its time on the reference CPU
(:mod:`tpusplit.costs.host_ops`). A segment's trailing host ops run after its Edge TPU part,
whose outputs are what crosses the link; a segment of host ops only is host CPU time alone
(the host stage of :func:`tpusplit.strategies.replicated.optimal_replicated`). Each term's value,
and how much of the data it explains, is in ``benchmarks/results/edgetpu_model.md``.

A ``memory`` callable may override the caching model with the compiler's real figures.

Size: over 400 lines because the analytic model is one formula (chip terms, link, streaming,
clocks, runner) and its documentation; its on-chip rule already lives in onchip.py.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.host_ops import host_tail, reference_ms, runs_on_host, trailing_host_start
from tpusplit.costs.onchip import (
    CacheLayout,
    _ceil,
    _int8_bytes,
    boundary,
    layer_bytes,
    segment_placement,
)
from tpusplit.costs.runner import RunnerModel
from tpusplit.devices.energy import PowerModel, power_of
from tpusplit.devices.profiles import DEVICES, DeviceProfile, Reads, load_profile
from tpusplit.devices.target import CLOCKS, check_runner
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph
from tpusplit.units import MiB

__all__ = ["DEVICES", "EdgeTPUCost", "EdgeTPUFeatures", "EdgeTPUSegmentCost", "OpTerms",
           "op_terms"]

#: ``(start, end) -> (on_chip_bytes, off_chip_bytes)`` or None (use the caching model).
MemoryFn = Callable[[int, int], "tuple[int, int] | None"]

#: Ops that only reinterpret a tensor: no work on the Edge TPU.
FREE_OPS = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS"})
#: Other matrix ops, costed as MACs / 4096 array passes.
OTHER_MATRIX_OPS = frozenset({"TRANSPOSE_CONV", "BATCH_MATMUL", "CONV_3D"})


@dataclass(frozen=True, slots=True)
class OpTerms:
    """What one op contributes to the device terms (units: M passes, K tiles, MiB, ops)."""

    tpu: bool
    conv_mcycles: float = 0.0
    dw_mcycles: float = 0.0
    fc_ktiles: float = 0.0
    element_mib: float = 0.0
    ops: float = 0.0
    #: Input plus output activations as they sit on chip (channels padded to 64), MiB.
    working_set_mib: float = 0.0


def padded_bytes(graph: Graph, t: int) -> int:
    """Bytes of activation tensor ``t`` on chip: int8, innermost (channel) dimension padded to
    a multiple of 64, the array's width."""
    shape = graph.tensors[t].shape
    n = _ceil(shape[-1], 64) if shape else 1
    for d in shape[:-1]:
        n *= d
    return n


def op_terms(graph: Graph, index: int) -> OpTerms:
    """The device-term counts of op ``index`` (see the module docstring)."""
    op = graph.ops[index]
    if runs_on_host(graph, index):
        return OpTerms(tpu=False)
    ts = graph.tensors
    outs = sum(_int8_bytes(graph, t) for t in op.outputs)
    ws = (sum(padded_bytes(graph, t) for t in op.inputs if not ts[t].constant)
          + sum(padded_bytes(graph, t) for t in op.outputs)) / MiB
    if op.name in FREE_OPS:
        return OpTerms(tpu=True, working_set_mib=ws)
    weights = next((ts[t] for t in op.inputs if ts[t].constant and len(ts[t].shape) >= 2), None)
    out_shape = ts[op.outputs[0]].shape if op.outputs else ()
    spatial = out_shape[1] * out_shape[2] if len(out_shape) == 4 else 1
    if op.name == "CONV_2D" and weights is not None and len(weights.shape) == 4:
        cout, kh, kw, cin = weights.shape
        passes = spatial * math.ceil(cout / 64) * math.ceil(kh * kw * _ceil(cin, 4) / 64)
        return OpTerms(True, conv_mcycles=passes / 1e6, ops=1, working_set_mib=ws)
    if op.name == "DEPTHWISE_CONV_2D" and weights is not None and len(weights.shape) == 4:
        _, kh, kw, ch = weights.shape
        return OpTerms(True, dw_mcycles=spatial * math.ceil(ch / 64) * kh * kw / 1e6, ops=1,
                       working_set_mib=ws)
    if op.name == "FULLY_CONNECTED" and weights is not None and len(weights.shape) == 2:
        out, inp = weights.shape
        rows = max(1, op.macs // max(1, out * inp))
        return OpTerms(True, fc_ktiles=rows * math.ceil(out / 64) * math.ceil(inp / 64) / 1e3,
                       ops=1, working_set_mib=ws)
    if op.macs and (op.name in OTHER_MATRIX_OPS or weights is not None):
        return OpTerms(True, conv_mcycles=op.macs / 4096 / 1e6, ops=1, working_set_mib=ws)
    return OpTerms(True, element_mib=outs / MiB, ops=1, working_set_mib=ws)


#: Names of the terms of :meth:`EdgeTPUFeatures.vector`, i.e. of the fitted parameters.
PARAMETERS: tuple[str, ...] = ("fixed_ms", "link_ms_per_mib", "conv_ms_per_mcycle",
                               "depthwise_ms_per_mcycle", "fc_ms_per_ktile",
                               "element_ms_per_mib", "op_ms", "act_in_ms_per_mib",
                               "act_out_ms_per_mib")


@dataclass(frozen=True)
class EdgeTPUFeatures:
    """The counts a segment's latency is linear in (units: M passes, K tiles, MiB, ops)."""

    conv_mcycles: float
    dw_mcycles: float
    fc_ktiles: float
    element_mib: float
    ops: float
    in_mib: float
    out_mib: float
    streamed_mib: float
    streamed_reads_mib: float
    on_chip_bytes: int
    off_chip_bytes: int
    #: Reference-CPU ms of the segment's host ops (:mod:`tpusplit.costs.host_ops`).
    host_ref_ms: float = 0.0
    #: False for a segment of host ops only (no Edge TPU invoke at all).
    on_tpu: bool = True

    @property
    def link_mib(self) -> float:
        """MiB crossing the link per inference: inputs, outputs, streamed weights x reads."""
        return self.in_mib + self.out_mib + self.streamed_reads_mib

    @classmethod
    def from_counts(cls, counts: Sequence[float], in_mib: float, out_mib: float,
                    streamed_mib: float, streamed_reads_mib: float, on_chip_bytes: int,
                    off_chip_bytes: int, host_ref_ms: float = 0.0,
                    on_tpu: bool = True) -> EdgeTPUFeatures:
        """Features from the additive counts in :data:`COUNTS` order and the rest."""
        conv, dw, fc, element, ops = (float(c) for c in counts)
        return cls(conv, dw, fc, element, ops, in_mib, out_mib, streamed_mib,
                   streamed_reads_mib, on_chip_bytes, off_chip_bytes, host_ref_ms, on_tpu)

    def vector(self) -> list[float]:
        """The counts in :data:`PARAMETERS` order (1 for the fixed cost)."""
        return [1.0, self.link_mib, self.conv_mcycles, self.dw_mcycles, self.fc_ktiles,
                self.element_mib, self.ops, self.in_mib, self.out_mib]


#: The chip's terms that scale with the Edge TPU clock (the rest are the host's and the link's;
#: read off the Dev Board clock sweep, ``benchmarks/results/edgetpu_model.md``).
CLOCK_TERMS: tuple[str, ...] = ("conv_ms_per_mcycle", "depthwise_ms_per_mcycle",
                                "fc_ms_per_ktile", "element_ms_per_mib", "op_ms")


def at_clock(p: DeviceProfile, clock: str | float) -> DeviceProfile:
    """``p`` with its chip terms (:data:`CLOCK_TERMS`) scaled to ``clock`` (``max``, ``std``
    or MHz): they take ``p.clock_mhz / clock`` times as long."""
    if isinstance(clock, str):
        if clock not in CLOCKS:
            raise TpusplitError(f"--clock: expected {' or '.join(CLOCKS)}, got {clock!r}")
        clock = CLOCKS[clock]
    if not clock > 0 or clock == float("inf"):
        raise TpusplitError(f"Edge TPU clock must be a positive number of MHz, got {clock}")
    if clock == p.clock_mhz:
        return p
    f = p.clock_mhz / clock
    return replace(p, clock_mhz=float(clock),
                   **{k: getattr(p, k) * f for k in CLOCK_TERMS})


def profile_vector(p: DeviceProfile) -> list[float]:
    """The profile's parameters in :data:`PARAMETERS` order."""
    return [float(getattr(p, name)) for name in PARAMETERS]


@dataclass(frozen=True, slots=True)
class EdgeTPUSegmentCost(SegmentCost):
    """A :class:`SegmentCost` with its breakdown (ms); ``latency_ms`` is their sum.

    ``in_ms``/``out_ms`` move the boundary activations (link and host-side handling),
    ``stream_ms`` reads the off-chip parameters over the link, ``compute_ms`` is the chip's
    own time, ``fixed_ms`` the invoke, ``host_ms`` the host ops on the host CPU.
    """

    fixed_ms: float = 0.0
    compute_ms: float = 0.0
    stream_ms: float = 0.0
    in_ms: float = 0.0
    out_ms: float = 0.0
    host_ms: float = 0.0


def _override(placement: CacheLayout, on: int, off: int) -> CacheLayout:
    """Re-mark layers as streamed from the end backwards until ``off`` bytes are streamed."""
    cached = [True] * len(placement.sizes)
    left = off
    for k in range(len(cached) - 1, -1, -1):
        if left <= 0:
            break
        if placement.sizes[k] > 0:
            cached[k] = False
            left -= placement.sizes[k]
    return CacheLayout(placement.start, placement.end, on + off, placement.sizes, tuple(cached))


#: The additive device counts of :class:`EdgeTPUFeatures` (and of :class:`OpTerms`).
COUNTS: tuple[str, ...] = ("conv_mcycles", "dw_mcycles", "fc_ktiles", "element_mib", "ops")


class _OpTable:
    """Per-op terms of one graph with prefix sums, so additive terms cost O(1) per segment."""

    def __init__(self, graph: Graph) -> None:
        n = len(graph.ops)
        self.terms = [op_terms(graph, i) for i in range(n)]
        self.prefix = {k: np.concatenate([[0.0], np.cumsum([getattr(t, k) for t in self.terms])])
                       for k in COUNTS}
        #: Which ops run on the host CPU, and their reference-CPU ms (prefix sums of both).
        self.on_host = [not t.tpu for t in self.terms]
        self.prefix["on_host"] = np.concatenate([[0], np.cumsum(self.on_host)])
        self.prefix["host_ms"] = np.concatenate(
            [[0.0], np.cumsum([reference_ms(graph, i) for i in range(n)])])

    def sum(self, key: str, start: int, end: int) -> float:
        p = self.prefix[key]
        return float(p[end] - p[start])


_TABLES: weakref.WeakKeyDictionary[Graph, _OpTable] = weakref.WeakKeyDictionary()


def _table(graph: Graph) -> _OpTable:
    table = _TABLES.get(graph)
    if table is None:
        table = _TABLES[graph] = _OpTable(graph)
    return table


def staged_mib(graph: Graph, ins: Sequence[int], outs: Sequence[int]) -> float:
    """MiB of a segment's input and output tensors as staged on chip (channels padded)."""
    return sum(padded_bytes(graph, t) for t in (*ins, *outs)) / MiB


def stream_reads(working_set_mib: float, staged: float, p: Reads) -> float:
    """How many times a streamed layer's weights cross the link per inference (>= 1).

    ``min(reread_max, max(1, working_set / reread_mib))`` spatial tiles; when the demand,
    the working set plus the segment's ``staged`` input and output tensors, exceeds the
    on-chip memory ``onchip_mib``, times ``overflow_reads * (demand / onchip_mib) **
    overflow_power`` (module docstring; the power is 1 in the shipped profiles). A profile
    without ``reread_mib`` reads once; without ``reread_max`` the tiles are not capped;
    without ``overflow_reads`` there is no overflow term.
    """
    tiles = max(1.0, working_set_mib / p.reread_mib) if p.reread_mib > 0 else 1.0
    if p.reread_max > 0:
        tiles = min(tiles, max(1.0, p.reread_max))
    if p.overflow_reads > 1 and working_set_mib + staged > p.onchip_mib:
        tiles *= p.overflow_reads * ((working_set_mib + staged) / p.onchip_mib) \
            ** p.overflow_power
    return tiles


def runner_of(profile: DeviceProfile, runner: str = "python", host_ms: float | None = None
              ) -> RunnerModel:
    """Pipeline runner ``runner`` on ``profile``'s host: its measured host time per stage
    (``python_stage_ms``, ``coral_stage_ms``) unless ``host_ms`` overrides it."""
    check_runner(runner)
    measured = {"python": profile.python_stage_ms, "coral": profile.coral_stage_ms,
                "none": 0.0}[runner]
    return RunnerModel(runner, measured if host_ms is None else float(host_ms),
                       serial=runner == "python")


def segment_features(graph: Graph, start: int, end: int, profile: DeviceProfile,
                     memory: MemoryFn | None = None) -> EdgeTPUFeatures:
    """Features of ops ``[start, end)``; on/off-chip bytes from the caching model or ``memory``.
    Trailing host ops are left to the host (their reference-CPU time), the rest is the Edge
    TPU part."""
    table = _table(graph)
    host = table.sum("host_ms", start, end)
    tpu_end = trailing_host_start(table.on_host, start, end)
    if tpu_end == start:
        return EdgeTPUFeatures.from_counts([0.0] * len(COUNTS), 0.0, 0.0, 0.0, 0.0, 0, 0,
                                           host_ref_ms=host, on_tpu=False)
    placement = segment_placement(graph, start, tpu_end, *profile.cache)
    on, off = placement.on_chip_bytes, placement.off_chip_bytes
    if memory is not None:
        real = memory(start, end)
        if real is not None:
            on, off = int(real[0]), int(real[1])
            placement = _override(placement, on, off)
    ins, outs = boundary(graph, start, tpu_end)
    staged = staged_mib(graph, ins, outs)
    streamed = reads = 0.0
    for i in range(start, tpu_end):
        s = placement.off_chip_of(i)
        if s:
            streamed += s / MiB
            reads += s / MiB * stream_reads(table.terms[i].working_set_mib, staged,
                                            profile.reads)
    return EdgeTPUFeatures.from_counts(
        [table.sum(k, start, tpu_end) for k in COUNTS],
        in_mib=sum(_int8_bytes(graph, t) for t in ins) / MiB,
        out_mib=sum(_int8_bytes(graph, t) for t in outs) / MiB,
        streamed_mib=streamed, streamed_reads_mib=reads, on_chip_bytes=on, off_chip_bytes=off,
        host_ref_ms=host)


def device_ms(f: EdgeTPUFeatures, p: DeviceProfile) -> float:
    """The chip's own time: array passes, depthwise passes, fc tiles, element-wise ops, issue."""
    return (f.conv_mcycles * p.conv_ms_per_mcycle + f.dw_mcycles * p.depthwise_ms_per_mcycle
            + f.fc_ktiles * p.fc_ms_per_ktile + f.element_mib * p.element_ms_per_mib
            + f.ops * p.op_ms)


def evaluate(features: EdgeTPUFeatures, profile: DeviceProfile, start: int, end: int
             ) -> EdgeTPUSegmentCost:
    """Latency of a segment with these features under ``profile``, with its breakdown."""
    p, f = profile, features
    host = f.host_ref_ms * p.cpu_factor
    if not f.on_tpu:
        return EdgeTPUSegmentCost(start, end, host, host_ms=host)
    compute = device_ms(f, p)
    stream = f.streamed_reads_mib * p.link_ms_per_mib
    in_ms = f.in_mib * (p.link_ms_per_mib + p.act_in_ms_per_mib)
    out_ms = f.out_mib * (p.link_ms_per_mib + p.act_out_ms_per_mib)
    total = p.fixed_ms + compute + stream + in_ms + out_ms + host
    return EdgeTPUSegmentCost(start, end, total, f.on_chip_bytes, f.off_chip_bytes,
                              p.fixed_ms, compute, stream, in_ms, out_ms, host)


class EdgeTPUCost(CostSource):
    """Predicted Edge TPU cost of any op range of ``graph`` (no hardware, microseconds each).

    Args:
        graph: the model.
        profile: a shipped profile name (:data:`DEVICES`), a profile JSON path, or a
            :class:`DeviceProfile`.
        memory: optional ``(start, end) -> (on_chip_bytes, off_chip_bytes) | None`` giving the
            compiler's real figures; None (or a None result) uses the caching model.
        runner: the pipeline runner plans and simulations assume (``python``, ``coral``,
            ``none``; :mod:`tpusplit.costs.runner`), with the profile's host time per stage.
        host_ms: override that host time per stage (ms).
        clock: the Edge TPU clock, ``max`` (500 MHz, the profiles' own) or ``std`` (250 MHz),
            or MHz (:func:`at_clock`).
    """

    measured = False

    def __init__(self, graph: Graph, profile: str | Path | DeviceProfile = "edgetpu-usb3",
                 memory: MemoryFn | None = None, runner: str = "python",
                 host_ms: float | None = None, clock: str | float | None = None) -> None:
        super().__init__(graph)
        self.profile = load_profile(profile)
        if clock is not None:
            self.profile = at_clock(self.profile, clock)
        self.device = self.profile.name
        self.memory = memory
        self.runner = runner_of(self.profile, runner, host_ms)
        self.shared_link = self.profile.link.startswith("usb")

    def features(self, start: int, end: int) -> EdgeTPUFeatures:
        """The latency-model features of ops ``[start, end)``."""
        return segment_features(self.graph, start, end, self.profile, self.memory)

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return evaluate(self.features(start, end), self.profile, start, end)

    def expected_error(self, stages: int) -> str | None:
        """What the profile says of its own error, for reports: one TPU (leave one model out
        on its host's real networks) or a pipeline (the measured pipelines)."""
        p = self.profile
        pct = p.pipeline_error_pct if stages > 1 else p.expected_error_pct
        if not pct:
            return None
        if stages == 1:
            return (f"expect +-{pct:.0f}% ({p.name}: error on real networks the fit never "
                    "saw, this host)")
        where = p.pipeline_error_host
        if not where or where == p.name:
            return f"expect +-{pct:.0f}% ({p.name}: error on its measured Edge TPU pipelines)"
        return (f"expect +-{pct:.0f}% on {where}, the one host whose Edge TPU pipelines were "
                f"measured; none were on {p.name}'s host, whose per-invoke cost differs")

    def power(self) -> PowerModel:
        """An Edge TPU's power (:data:`tpusplit.devices.energy.POWER`)."""
        return power_of("edgetpu")

    def host_tail(self) -> int | None:
        """Where the model's trailing host ops begin (an SSD's post-processing), or None."""
        return host_tail(self.graph)

    def transfer_ms(self, k: int) -> float:
        """Time of the tensors crossing cut ``k``: device -> host, then host -> device."""
        if k <= 0 or k >= len(self.graph.ops):
            return 0.0
        p = self.profile
        mib = sum(_int8_bytes(self.graph, t) for t in self.graph.crossing(k)) / MiB
        return mib * (2 * p.link_ms_per_mib + p.act_in_ms_per_mib + p.act_out_ms_per_mib)

    def lower_bound(self) -> Callable[..., object] | None:
        """A cheap, valid lower bound on this model's segment latencies (None with ``memory``).

        ``bound(i, j) = fixed + device(i, j) + in(i, j) + out(i, j) + link * max(0,
        layers(i, j) - capacity(i, j))``: the chip's time is additive over ops; the boundary
        terms are exact (the segment's tensors, :meth:`tpusplit.graph.Graph.io_sums`); whole-
        layer caching keeps at most ``capacity = base - in_coef * in - out_coef * out`` bytes,
        so at least the rest is streamed, each byte read at least once. Exact for a segment that
        does not stream. With a ``memory`` override (the compiler's real figures) the
        placement is unknown, so there is no bound.

        Costs O(n^2) numpy work once (no evaluation is counted); the bound works on ints and,
        elementwise, on integer numpy arrays.
        """
        if self.memory is not None:
            return None
        graph, p = self.graph, self.profile
        n = len(graph.ops)
        table = _table(graph)
        rates = (p.conv_ms_per_mcycle, p.depthwise_ms_per_mcycle, p.fc_ms_per_ktile,
                 p.element_ms_per_mib, p.op_ms)
        dev = np.sum([rate * table.prefix[key] for rate, key in zip(rates, COUNTS, strict=True)],
                     axis=0)
        layers = np.concatenate([[0.0], np.cumsum([layer_bytes(graph, i) for i in range(n)])])
        ins, outs = graph.io_sums(np.array([float(_int8_bytes(graph, t.index))
                                            for t in graph.tensors]))
        base = p.cache_base_mib * MiB
        slack = 1 - 1e-9  # float sums in another order
        tail = trailing_host_start(table.on_host, 0, n)
        on_host = table.prefix["on_host"]

        def bound(start: object, end: object) -> np.ndarray:
            i, j = np.asarray(start), np.asarray(end)
            b_in, b_out = ins[i, j], outs[i, j]
            cap = np.maximum(0.0, base - p.cache_in_coef * b_in - p.cache_out_coef * b_out)
            spill = np.maximum(0.0, layers[j] - layers[i] - cap)
            total = (p.fixed_ms + dev[j] - dev[i] + spill / MiB * p.link_ms_per_mib
                     + b_in / MiB * (p.link_ms_per_mib + p.act_in_ms_per_mib)
                     + b_out / MiB * (p.link_ms_per_mib + p.act_out_ms_per_mib))
            # a range with a host tail: its Edge TPU part has other outputs; host ops alone
            # have no invoke: bound those by 0
            alone = on_host[j] - on_host[i] == j - i
            return np.where((j > tail) | alone, 0.0, total * slack)

        return bound
