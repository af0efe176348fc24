"""Analytic Edge TPU latency model: a :class:`CostSource` for any int8 CNN, no hardware needed.

The latency of ops ``[start, end)`` compiled alone for one Edge TPU is a sum of terms, each
linear in a profile parameter (:mod:`tpusplit.costs.profile`), so they are fitted by
non-negative least squares (:mod:`tpusplit.costs.calibrate`):

``latency = fixed + compute + act + element + stream + in + out``

How each op type is costed, and why:

- **fixed** (``fixed_ms``, fitted 0.11 ms on USB 3): one invoke: driver call, link round trip.
  The fc family measures 0.09-0.17 ms whatever N while it fits on chip: that floor is this.
- **compute** (``compute_ms_per_gmac[type]``): CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED
  are costed per MAC on the *padded* shape the systolic array really computes: output
  channels rounded up to 64, input channels to 4. The padding is visible in the data: conv
  times step up exactly where ``ceil64(F)`` steps (F = 72, 132, 202, 262, 322, 392) while the
  true MACs grow smoothly. One rate per op type because utilisation differs widely: large
  convs reach about 1.6 TMAC/s (0.63 ms/GMAC), fully connected layers about 9x less (each
  weight is used once per inference, the array waits for weights). Depthwise convs are not in
  the data: the shipped profiles cost them at 4x the conv rate (an unmeasured guess; the
  notes say the array runs far from peak for them); edit the profile or calibrate. Other
  ops with MACs use ``OTHER``.
- **act** (``act_ms_per_mib``): per MiB of activations written by ops with MACs (writing
  output rows to on-chip memory). On one TPU it cannot be told from the device -> host copy
  of the output; the pipeline files separate them.
- **element** (``element_ms_per_mop``): element-wise ops (ADD, pooling, TANH, QUANTIZE...), per
  million output elements. The data cannot identify it (TANH is the only one, and tiny):
  the profiles hold a prior of 0.5 ms per million elements.
- **stream** (``stream_ms_per_mib[type]``): the parameter bytes the caching model
  (:mod:`tpusplit.costs.edgetpu_cache`) leaves off chip are read from host memory over the
  link at every inference. Per op type because the data shows conv weights cost about 3.7x
  more per streamed byte (10.2 ms/MiB) than fc weights (2.76 ms/MiB, close to the USB 3
  payload rate): a conv layer's streamed weights are consumed tile by tile, not at link speed.
- **in/out** (``in_ms_per_mib``, ``out_ms_per_mib``): the segment's boundary activations (int8
  on the device) copied host -> device and device -> host. They dominate many pipelines:
  conv F=392 runs 36.7 ms on one TPU but 49 ms on two, because the 1.5 MiB tensor at the cut
  crosses the link twice per inference. Chosen on the conv pipeline files (one TPU cannot
  identify them); see ``benchmarks/edgetpu_model/make_profiles.py``.

The USB 2 and PCIe profiles scale the link-bound terms (stream, in, out) and the fixed cost
of the calibrated USB 3 profile; they are derived, not measured.

A ``memory`` callable may override the caching model with the compiler's real figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.costs.edgetpu_cache import (
    MiB,
    Placement,
    _ceil,
    _int8_bytes,
    boundary,
    segment_placement,
)
from tpusplit.costs.profile import COSTED_OPS, DEVICES, DeviceProfile, load_profile
from tpusplit.graph import Graph

__all__ = ["DEVICES", "EdgeTPUCost", "EdgeTPUSegmentCost", "Features", "segment_features"]

#: ``(start, end) -> (on_chip_bytes, off_chip_bytes)`` or None (use the caching model).
MemoryFn = Callable[[int, int], "tuple[int, int] | None"]


def padded_macs(graph: Graph, index: int) -> int:
    """MACs of op ``index`` with channels padded the way the Edge TPU computes them."""
    op = graph.ops[index]
    if op.macs == 0:
        return 0
    ts = graph.tensors
    consts = [ts[t] for t in op.inputs if ts[t].constant and len(ts[t].shape) >= 2]
    out_shape = ts[op.outputs[0]].shape if op.outputs else ()
    if consts and op.name == "CONV_2D" and len(consts[0].shape) == 4 and len(out_shape) == 4:
        cout, kh, kw, cin = consts[0].shape
        return out_shape[1] * out_shape[2] * kh * kw * _ceil(cin, 4) * _ceil(cout, 64)
    if (consts and op.name == "DEPTHWISE_CONV_2D" and len(consts[0].shape) == 4
            and len(out_shape) == 4):
        _, kh, kw, ch = consts[0].shape
        return out_shape[1] * out_shape[2] * kh * kw * _ceil(ch, 64)
    if consts and op.name == "FULLY_CONNECTED" and len(consts[0].shape) == 2:
        out, inp = consts[0].shape
        rows = max(1, op.macs // max(1, out * inp))
        return rows * _ceil(inp, 4) * _ceil(out, 64)
    return op.macs


@dataclass(frozen=True)
class Features:
    """What a segment's latency is linear in (units: GMAC, Mop, MiB)."""

    gmacs: dict[str, float]
    element_mops: float
    stream_mib: dict[str, float]
    in_mib: float
    out_mib: float
    on_chip_bytes: int
    off_chip_bytes: int
    act_mib: float = 0.0

    def vector(self) -> list[float]:
        """``[1, gmacs per COSTED_OPS, element, stream per COSTED_OPS, in, out, act]``."""
        return ([1.0] + [self.gmacs.get(t, 0.0) for t in COSTED_OPS] + [self.element_mops]
                + [self.stream_mib.get(t, 0.0) for t in COSTED_OPS]
                + [self.in_mib, self.out_mib, self.act_mib])


#: Names of the entries of :meth:`Features.vector` (and of the fitted parameters).
PARAMETERS: tuple[str, ...] = (
    "fixed_ms", *(f"compute_ms_per_gmac.{t}" for t in COSTED_OPS), "element_ms_per_mop",
    *(f"stream_ms_per_mib.{t}" for t in COSTED_OPS), "in_ms_per_mib", "out_ms_per_mib",
    "act_ms_per_mib")


def profile_vector(p: DeviceProfile) -> list[float]:
    """The profile's parameters in :data:`PARAMETERS` order."""
    return ([p.fixed_ms] + [p.compute(t) for t in COSTED_OPS] + [p.element_ms_per_mop]
            + [p.stream(t) for t in COSTED_OPS]
            + [p.in_ms_per_mib, p.out_ms_per_mib, p.act_ms_per_mib])


def _costed(name: str) -> str:
    return name if name in COSTED_OPS else "OTHER"


def _override(placement: Placement, on: int, off: int) -> Placement:
    """Re-mark layers as streamed from the end backwards until ``off`` bytes are streamed."""
    cached = [True] * len(placement.sizes)
    left = off
    for k in range(len(cached) - 1, -1, -1):
        if left <= 0:
            break
        if placement.sizes[k] > 0:
            cached[k] = False
            left -= placement.sizes[k]
    return Placement(placement.start, placement.end, on + off, placement.sizes, tuple(cached))


def segment_features(graph: Graph, start: int, end: int, profile: DeviceProfile,
                     memory: MemoryFn | None = None) -> Features:
    """Features of ops ``[start, end)``; on/off-chip bytes from the caching model or ``memory``."""
    placement = segment_placement(graph, start, end, profile.cache_base_mib,
                                  profile.cache_in_coef, profile.cache_out_coef)
    on, off = placement.on_chip_bytes, placement.off_chip_bytes
    if memory is not None:
        real = memory(start, end)
        if real is not None:
            on, off = int(real[0]), int(real[1])
            placement = _override(placement, on, off)
    gmacs: dict[str, float] = {}
    stream: dict[str, float] = {}
    element = 0
    act = 0
    for i in range(start, end):
        op = graph.ops[i]
        t = _costed(op.name)
        m = padded_macs(graph, i)
        if m:
            gmacs[t] = gmacs.get(t, 0.0) + m / 1e9
            act += sum(_int8_bytes(graph, o) for o in op.outputs)
        element += op.element_ops
        s = placement.off_chip_of(i)
        if s:
            stream[t] = stream.get(t, 0.0) + s / MiB
    ins, outs = boundary(graph, start, end)
    return Features(gmacs, element / 1e6, stream,
                    sum(_int8_bytes(graph, t) for t in ins) / MiB,
                    sum(_int8_bytes(graph, t) for t in outs) / MiB, on, off, act / MiB)


@dataclass(frozen=True, slots=True)
class EdgeTPUSegmentCost(SegmentCost):
    """A :class:`SegmentCost` with its breakdown (ms): ``latency_ms`` is their sum."""

    fixed_ms: float = 0.0
    compute_ms: float = 0.0
    stream_ms: float = 0.0
    in_ms: float = 0.0
    out_ms: float = 0.0


def evaluate(features: Features, profile: DeviceProfile, start: int, end: int
             ) -> EdgeTPUSegmentCost:
    """Latency of a segment with these features under ``profile``."""
    p = profile
    compute = sum(g * p.compute(t) for t, g in features.gmacs.items()) + \
        features.element_mops * p.element_ms_per_mop + features.act_mib * p.act_ms_per_mib
    stream = sum(s * p.stream(t) for t, s in features.stream_mib.items())
    in_ms = features.in_mib * p.in_ms_per_mib
    out_ms = features.out_mib * p.out_ms_per_mib
    total = p.fixed_ms + compute + stream + in_ms + out_ms
    return EdgeTPUSegmentCost(start, end, total, features.on_chip_bytes, features.off_chip_bytes,
                              p.fixed_ms, compute, stream, in_ms, out_ms)


class EdgeTPUCost(CostSource):
    """Predicted Edge TPU cost of any op range of ``graph`` (no hardware, microseconds each).

    Args:
        graph: the model.
        profile: a shipped profile name (:data:`DEVICES`), a profile JSON path, or a
            :class:`DeviceProfile`.
        memory: optional ``(start, end) -> (on_chip_bytes, off_chip_bytes) | None`` giving the
            compiler's real figures; None (or a None result) uses the caching model.
    """

    measured = False

    def __init__(self, graph: Graph, profile: str | Path | DeviceProfile = "edgetpu-usb3",
                 memory: MemoryFn | None = None) -> None:
        super().__init__(graph)
        self.profile = load_profile(profile)
        self.device = self.profile.name
        self.memory = memory

    def features(self, start: int, end: int) -> Features:
        """The latency-model features of ops ``[start, end)``."""
        return segment_features(self.graph, start, end, self.profile, self.memory)

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return evaluate(self.features(start, end), self.profile, start, end)

    def transfer_ms(self, k: int) -> float:
        """Host-link time of the tensors crossing cut ``k``: device -> host -> device."""
        if k <= 0 or k >= len(self.graph.ops):
            return 0.0
        mib = sum(_int8_bytes(self.graph, t) for t in self.graph.crossing(k)) / MiB
        return mib * (self.profile.out_ms_per_mib + self.profile.in_ms_per_mib)

    def lower_bound(self) -> Callable[..., object] | None:
        """A cheap, valid lower bound on this model's segment latencies (None with ``memory``).

        The latency is ``fixed + compute + stream + in + out``: compute (with the element and
        activation terms) is additive over ops, and the in/out terms are exact (the segment's
        boundary tensors, :meth:`tpusplit.graph.Graph.io_sums`). At least ``layers - capacity``
        bytes are streamed (``capacity = base - in_coef * in - out_coef * out`` bounds what
        whole-layer caching keeps), each at no less than the cheapest streaming rate among the
        op types with parameters in the segment. So ``bound(i, j) = fixed + compute(i, j) +
        min_rate(i, j) * max(0, layers(i, j) - capacity(i, j)) + in(i, j) + out(i, j)``, which
        is exact for any segment that does not stream. With a ``memory`` override (the
        compiler's real figures) the placement is unknown, so there is no bound.

        Costs O(n) model calls and O(n^2) numpy work once (no evaluation is counted); the
        bound then works on ints and, elementwise, on integer numpy arrays.
        """
        if self.memory is not None:
            return None
        import numpy as np

        from tpusplit.costs.edgetpu_cache import layer_bytes

        graph, prof = self.graph, self.profile
        n = len(graph.ops)
        kinds = sorted({_costed(op.name) for op in graph.ops})
        compute = np.zeros(n + 1)
        layers = np.zeros(n + 1)
        present = np.zeros((len(kinds), n + 1))  # prefix counts of ops with parameters
        for i in range(n):
            compute[i + 1] = compute[i] + evaluate(segment_features(graph, i, i + 1, prof),
                                                   prof, i, i + 1).compute_ms
            size = layer_bytes(graph, i)
            layers[i + 1] = layers[i] + size
            present[:, i + 1] = present[:, i]
            if size > 0:
                present[kinds.index(_costed(graph.ops[i].name)), i + 1] += 1
        rates = np.array([prof.stream(t) for t in kinds])
        elements = np.array([float(_int8_bytes(graph, t.index)) for t in graph.tensors])
        ins, outs = graph.io_sums(elements)
        base = prof.cache_base_mib * MiB
        slack = 1 - 1e-9  # float sums in another order

        def bound(start: object, end: object) -> np.ndarray:
            i, j = np.asarray(start), np.asarray(end)
            b_in, b_out = ins[i, j], outs[i, j]
            spill = np.maximum(0.0, layers[j] - layers[i] - np.maximum(
                0.0, base - prof.cache_in_coef * b_in - prof.cache_out_coef * b_out))
            rate = np.full(np.broadcast(i, j).shape, np.inf)
            for t, r in enumerate(rates):
                rate = np.where(present[t][j] > present[t][i], np.minimum(rate, r), rate)
            stream = np.where(spill > 0, np.where(np.isfinite(rate), rate, 0.0) * spill, 0.0)
            total = (prof.fixed_ms + compute[j] - compute[i] + stream / MiB
                     + prof.in_ms_per_mib * b_in / MiB + prof.out_ms_per_mib * b_out / MiB)
            return total * slack

        return bound
