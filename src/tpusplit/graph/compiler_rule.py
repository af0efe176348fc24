"""The cuts ``edgetpu_compiler --num_segments=N`` makes: its parameter-count rule.

The rule (libcoral's open ``ParameterCountBasedPartitioner`` reproduces the closed compiler's
splits; see docs/edgetpu-notes.md section 2):

1. ops in topological (execution) order;
2. ``average = total_parameter_bytes // N + 1``;
3. every segment but the last ends before the first op whose output is a model output;
4. segments 0..N-2 take ops in order and stop just before their running parameter size would
   exceed ``average``, taking at least one op and leaving at least one op for each remaining
   segment;
5. the last segment takes everything left (it absorbs the rounding and often spills).

It lives in ``graph`` because it needs nothing but parameter bytes: the ``compiler`` strategy
plans with it, and the Edge TPU calibration uses it to rebuild the measured splits.
Complexity: O(n).
"""

from __future__ import annotations

from tpusplit.graph.graph import Graph
from tpusplit.graph.tflite import GraphError


def compiler_cuts(graph: Graph, num_segments: int) -> list[int]:
    """The compiler's cuts for ``1 <= num_segments <= len(graph.ops)`` segments.

    Raises GraphError when the first output op comes too early to give every segment but the
    last at least one op before it (the compiler fails on such models too).
    """
    n = len(graph.ops)
    if num_segments == 1:
        return []
    first_output = graph.output_ops[0] if graph.output_ops else n - 1
    if first_output < num_segments - 1:
        raise GraphError(f"{graph.source}: the compiler rule needs {num_segments - 1} ops "
                         f"before the first output op (op {first_output}); use another "
                         "strategy or fewer segments")
    average = graph.param_bytes // num_segments + 1
    cuts: list[int] = []
    start = 0
    for s in range(num_segments - 1):
        # segments s+1..N-2 need an op each before the first output op, which is in the last
        limit = first_output - (num_segments - 2 - s)  # the largest end this segment may have
        end = start + 1  # at least one op
        size = graph.ops[start].param_bytes
        while end < limit and size + graph.ops[end].param_bytes <= average:
            size += graph.ops[end].param_bytes
            end += 1
        cuts.append(end)
        start = end
    return cuts
