"""Ops an Edge TPU leaves on the host CPU, and their time on the reference CPU.

Coral's compiler maps ops to the Edge TPU up to the first one it cannot run; the rest run on
the host CPU in the same interpreter. In the models tpusplit reads those are a float model's
edge conversions (``QUANTIZE`` from float, ``DEQUANTIZE``: microseconds, not costed) and the
custom ops of :data:`tpusplit.graph.graph.HOST_CUSTOM_OPS`, above all an SSD's
``TFLite_Detection_PostProcess`` (box decoding and non-maximum suppression).

The post-processing op's time on the reference CPU is linear in anchors x classes through the
two SSDs timed with LiteRT's own kernel (``data/coral-reference/host_cpu.csv``, written by
``benchmarks/edgetpu_model/host_cpu.py``: 1917 x 91 and 2034 x 2); a host's profile scales it by
its fitted ``cpu_factor``. Two points fix a line, not its error: the shape of that line is
assumed. ``benchmarks/edgetpu_model/what_if.py`` refits with other shapes: a steeper one
suits Coral's hosts on fast links and not the Raspberry Pi 3 on USB 2, so the measured line
stays.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Sequence

from tpusplit.errors import TpusplitError
from tpusplit.files import data_dir
from tpusplit.graph import Graph
from tpusplit.graph.graph import HOST_CUSTOM_OPS
from tpusplit.graph.graph import POSTPROCESS_OP as POSTPROCESS


def runs_on_host(graph: Graph, index: int) -> bool:
    """Whether op ``index`` runs on the host CPU, not on the Edge TPU."""
    op = graph.ops[index]
    if op.name == "DEQUANTIZE" or op.custom_code in HOST_CUSTOM_OPS:
        return True
    return op.name == "QUANTIZE" and graph.tensors[op.inputs[0]].dtype == "float32"


@functools.cache
def _postprocess_line() -> tuple[float, float]:
    """``(ms at 0, ms per anchor x class)`` of the post-processing op on the reference CPU."""
    path = data_dir() / "coral-reference" / "host_cpu.csv"
    try:
        with path.open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if r.get("op") == POSTPROCESS]
        points = sorted((int(r["anchors"]) * int(r["classes"]), float(r["reference_ms"]))
                        for r in rows)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise TpusplitError(f"{path}: cannot read the post-processing timings ({exc})") \
            from None
    if len(points) < 2 or points[0][0] == points[-1][0]:
        raise TpusplitError(f"{path}: needs two post-processing timings of different sizes")
    (x0, y0), (x1, y1) = points[0], points[-1]
    slope = max(0.0, (y1 - y0) / (x1 - x0))
    return max(0.0, y0 - slope * x0), slope


def reference_ms(graph: Graph, index: int) -> float:
    """Time of host op ``index`` on the reference CPU (0 for the edge conversions and for ops
    that run on the Edge TPU)."""
    op = graph.ops[index]
    if op.custom_code != POSTPROCESS or len(op.inputs) < 2:
        return 0.0
    shape = graph.tensors[op.inputs[1]].shape  # class scores: (1, anchors, classes)
    if len(shape) != 3:
        return 0.0
    at0, slope = _postprocess_line()
    return at0 + slope * int(shape[1]) * int(shape[2])


def trailing_host_start(on_host: Sequence[bool], start: int, end: int) -> int:
    """Where the run of host ops that ends ops ``[start, end)`` begins (``on_host[i]``: op
    ``i`` runs on the host); ``end`` when op ``end - 1`` runs on the Edge TPU."""
    k = end
    while k > start and on_host[k - 1]:
        k -= 1
    return k


def host_tail(graph: Graph) -> int | None:
    """Where the trailing run of host ops begins, when it does real work (a post-processing
    op) after at least one Edge TPU op; else None."""
    n = len(graph.ops)
    k = trailing_host_start([runs_on_host(graph, i) for i in range(n)], 0, n)
    if k == 0 or k == n or not any(reference_ms(graph, i) > 0 for i in range(k, n)):
        return None
    return k
