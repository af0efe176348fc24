"""Reports on a model graph: the per-op table and summary of ``tpusplit inspect``.

Cut ``k`` is the cut before op ``k`` everywhere (a segment starts at a cut, as in
``--cuts``): the table's last column for op ``k`` and the narrowest cuts list the same
positions.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from tpusplit.graph import Graph
from tpusplit.strategies.split_layers import splittable
from tpusplit.units import MiB


def graph_dict(graph: Graph) -> dict[str, Any]:
    """Everything ``inspect`` shows, as plain JSON-ready data."""
    cum = graph.cumulative_param_bytes
    cross = graph.crossing_bytes
    ops = []
    for op in graph.ops:
        k = op.index
        ops.append({
            "index": k,
            "op": op.name,
            **({"custom_code": op.custom_code} if op.custom_code else {}),
            "output_shape": list(graph.tensors[op.outputs[0]].shape) if op.outputs else [],
            "macs": op.macs,
            "element_ops": op.element_ops,
            "param_bytes": op.param_bytes,
            "cumulative_param_bytes": int(cum[k + 1]),
            "output_bytes": op.output_bytes,
            "depth": op.depth,
            "cut_before_bytes": int(cross[k]),
            "cut_before_tensors": [graph.tensors[t].name for t in graph.crossing(k)],
        })
    return {
        "model": graph.source,
        "num_ops": len(graph.ops),
        "tensors": len(graph.tensors),
        "param_bytes": graph.param_bytes,
        "macs": graph.macs,
        "full_int8": graph.is_full_int8,
        "inputs": [graph.tensors[t].name for t in graph.inputs],
        "outputs": [graph.tensors[t].name for t in graph.outputs],
        "narrowest_cuts": [{"cut": k, "bytes": int(cross[k])} for k in graph.narrowest_cuts()],
        "splittable_layers": [{"op": s.op, "kind": s.kind, "channels": s.channels,
                               "param_bytes": s.param_bytes, "max_slices": s.slices}
                              for s in splittable(graph)],
        "op_table": ops,
    }


def graph_table(graph: Graph) -> Table:
    """One row per op: index, op, output shape, MACs, parameters, depth, and the bytes a cut
    before it would move (cut ``k`` = ``--cuts k``; none before op 0)."""
    cum = graph.cumulative_param_bytes
    cross = graph.crossing_bytes
    table = Table(title=f"{graph.source}: {len(graph.ops)} ops", show_lines=False)
    for col, just in [("#", "right"), ("op", "left"), ("output", "left"), ("MACs", "right"),
                      ("param KiB", "right"), ("cum MiB", "right"), ("depth", "right"),
                      ("cut before it: bytes", "right")]:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for op in graph.ops:
        shape = graph.tensors[op.outputs[0]].shape if op.outputs else ()
        table.add_row(
            str(op.index), op.custom_code or op.name, "x".join(map(str, shape)),
            f"{op.macs:,}" if op.macs else "-",
            f"{op.param_bytes / 1024:,.1f}" if op.param_bytes else "-",
            f"{cum[op.index + 1] / MiB:.2f}", str(op.depth),
            f"{int(cross[op.index]):,}" if op.index > 0 else "-",
        )
    return table


def graph_summary(graph: Graph) -> str:
    """A few lines: ops, parameters, MACs and the narrowest cut points."""
    cross = graph.crossing_bytes
    narrow = ", ".join(f"{k} ({int(cross[k]):,} B)" for k in graph.narrowest_cuts())
    layers = splittable(graph)
    big = ", ".join(f"{s.op} {s.kind} {s.channels} ch {s.param_bytes / MiB:.2f} MiB"
                    for s in layers[:8]) + (f", ... ({len(layers)} in all)"
                                            if len(layers) > 8 else "")
    return (f"ops: {len(graph.ops)}   parameters: {graph.param_bytes / MiB:.2f} MiB   "
            f"MACs: {graph.macs:,}   full int8: {'yes' if graph.is_full_int8 else 'no'}\n"
            f"narrowest cuts (cut k = before op k, as in --cuts: bytes crossing): {narrow}\n"
            f"layers plan --split-layers may cut inside (>= 1 MiB, by 64 output channels): "
            f"{big or 'none'}")
