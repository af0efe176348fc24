"""Edge TPU parameter caching: which layers of a segment the compiler keeps on chip.

The rule below was read off every compiler-reported on/off-chip figure in
``data/edgetpu-measurements`` (single TPU and every segment of the split files);
``benchmarks/edgetpu_model/run.py`` checks it against all of them. Real compiled CNNs
(``data/edgetpu-community``: what the compiler cached for 32 files of MobileNets, DeepLab,
PoseNet, MoveNet ...) fixed the depthwise size, which the synthetic families do not contain;
``benchmarks/edgetpu_model/compiled_graphs.py`` checks the rule against them (every file
within 5 % or 0.1 MiB, 23 of 32 within 2 %).

**Size of a layer on chip.** The compiler stores a layer's weights padded to the systolic
array: output channels to a multiple of 64 and input channels to a multiple of 4, plus 8
bytes per (padded) output channel for the convolution's bias and requantisation multiplier:

- ``CONV_2D``: ``(kh * kw * ceil4(cin) + 8) * ceil64(cout)``
  (conv F=32 single TPU: 2816 + 4 * 18944 = 78592 B = 0.0750 MiB, as reported exactly);
- ``FULLY_CONNECTED``: ``ceil4(in) * ceil64(out)`` (no per-channel term: fc N=100 reports
  8192 + 3 * 12800 + 6400 B exactly);
- ``DEPTHWISE_CONV_2D``: ``(3 * kh * kw + 3) * ceil64(channels)`` (:data:`DEPTHWISE_BYTES`;
  30 bytes per padded channel for a 3x3 kernel). The synthetic data has no depthwise layer:
  this one was read off the compiler's figures for real compiled CNNs
  (``data/edgetpu-community``: MobileNet v1/v2, DeepLab, PoseNet, MoveNet ...; see
  ``benchmarks/edgetpu_model/compiled_graphs.py``), where the analogy with CONV_2D,
  ``(kh * kw + 8) * ceil64(channels)``, left 31 of the 32 files up to 10 % short of the compiler.
  The per-model figure implied for a 3x3 kernel is 29-30 bytes per padded channel on the
  MobileNet v2 backbones, 35 on MobileNet v1; the growth with the kernel (3 bytes per tap) is
  pinned by the one file with 5x5 kernels (DeepLab EdgeTPU-slim) only;
- any other op with constant data: its raw constant bytes.

**Placement.** Layers are taken in execution order; a layer is cached when it fits in what
is left of the capacity, otherwise streamed. A layer that does not fit does *not* stop the
caching of later, smaller layers: fc N=1620 caches its small last layer after streaming the
fourth (5.34 MiB on chip = first + two hidden + last layer; 2.57 MiB off = one hidden layer).

**Capacity.** The usable space is not a constant: it shrinks with the activation bytes that
cross the segment's boundary (they are staged on chip):
``capacity = base - out_coef * boundary_out_bytes - in_coef * boundary_in_bytes``, with the
three numbers in the device profile's ``cache`` entry (fitted by
:func:`tpusplit.calibration.fit.fit_capacity` on every compiler figure). Why: the fc family
(tiny activations) caches more than any mid-model conv segment can, although a mid-model conv
segment (megabytes of activations in and out) would have room for the same layers under a
constant capacity; no constant capacity explains both.
"""

from __future__ import annotations

from dataclasses import dataclass

from tpusplit.graph import Graph
from tpusplit.units import MiB

#: A depthwise layer's on-chip bytes per padded channel: ``(tap * kh * kw + channel)``.
DEPTHWISE_BYTES: tuple[int, int] = (3, 3)


def _ceil(x: int, m: int) -> int:
    return -(-x // m) * m


def layer_bytes(graph: Graph, index: int, depthwise: tuple[int, int] = DEPTHWISE_BYTES) -> int:
    """On-chip bytes of op ``index``'s parameters under the padding rule (0 if it has none).

    Only constant data the op is the first to read counts (``Op.param_bytes`` > 0), so a
    shared weight is sized once. ``depthwise`` is ``(bytes per tap, bytes per channel)`` of a
    depthwise layer (per channel padded to 64; default :data:`DEPTHWISE_BYTES`).
    """
    op = graph.ops[index]
    if op.param_bytes == 0:
        return 0
    consts = [graph.tensors[t] for t in op.inputs if graph.tensors[t].constant]
    weights = next((t for t in consts if len(t.shape) >= 2), None)
    if weights is None:
        return op.param_bytes
    shape = weights.shape
    if op.name == "CONV_2D" and len(shape) == 4:
        cout, kh, kw, cin = shape
        return (kh * kw * _ceil(cin, 4) + 8) * _ceil(cout, 64)
    if op.name == "DEPTHWISE_CONV_2D" and len(shape) == 4:
        _, kh, kw, ch = shape
        tap, channel = depthwise
        return (tap * kh * kw + channel) * _ceil(ch, 64)
    if op.name == "FULLY_CONNECTED" and len(shape) == 2:
        out, inp = shape
        return _ceil(inp, 4) * _ceil(out, 64)
    return op.param_bytes


def boundary(graph: Graph, start: int, end: int) -> tuple[list[int], list[int]]:
    """Activation tensors entering ops ``[start, end)`` from outside and leaving it
    (:meth:`tpusplit.graph.Graph.segment_io`: what crosses the segment's host link)."""
    ins, outs = graph.segment_io(start, end)
    return list(ins), list(outs)


@dataclass(frozen=True, slots=True)
class CacheLayout:
    """Where a segment's parameters live: per-op on-chip sizes and which ops are cached."""

    start: int
    end: int
    capacity: int
    sizes: tuple[int, ...]
    cached: tuple[bool, ...]

    @property
    def on_chip_bytes(self) -> int:
        """Bytes cached on chip."""
        return sum(s for s, c in zip(self.sizes, self.cached, strict=True) if c)

    @property
    def off_chip_bytes(self) -> int:
        """Bytes streamed from the host at every inference."""
        return sum(s for s, c in zip(self.sizes, self.cached, strict=True) if not c)

    def off_chip_of(self, index: int) -> int:
        """Streamed bytes of op ``index`` (absolute index)."""
        k = index - self.start
        return 0 if self.cached[k] else self.sizes[k]


def capacity(base_mib: float, in_coef: float, out_coef: float, in_bytes: int,
             out_bytes: int) -> int:
    """Usable cache bytes of one segment: ``base - in_coef * in - out_coef * out`` (>= 0)."""
    return max(0, int(base_mib * MiB - in_coef * in_bytes - out_coef * out_bytes))


def place(sizes: list[int] | tuple[int, ...], cap: int) -> tuple[bool, ...]:
    """Cache each layer in order when it fits in what is left of ``cap``; O(len(sizes))."""
    used = 0
    cached = []
    for s in sizes:
        ok = used + s <= cap
        if ok:
            used += s
        cached.append(ok)
    return tuple(cached)


def segment_placement(graph: Graph, start: int, end: int, base_mib: float, in_coef: float,
                      out_coef: float) -> CacheLayout:
    """The caching model for ops ``[start, end)`` compiled alone for one Edge TPU."""
    ins, outs = boundary(graph, start, end)
    cap = capacity(base_mib, in_coef, out_coef,
                   sum(_int8_bytes(graph, t) for t in ins),
                   sum(_int8_bytes(graph, t) for t in outs))
    sizes = tuple(layer_bytes(graph, i) for i in range(start, end))
    return CacheLayout(start, end, cap, sizes, place(sizes, cap))


def _int8_bytes(graph: Graph, t: int) -> int:
    """Bytes of tensor ``t`` as it sits on the device (float model inputs are quantized there)."""
    tensor = graph.tensors[t]
    n = 1
    for d in tensor.shape:
        n *= d
    return n
