"""Reports on a split: what each segment file holds and what crosses each cut."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tpusplit.graph import Graph, segments
from tpusplit.report.format import op_range
from tpusplit.units import MiB


def split_rows(graph: Graph, cuts: Sequence[int], files: Sequence[Path],
               coral: bool = False) -> list[dict[str, Any]]:
    """One JSON-ready row per segment file: ops, parameter bytes, inputs and outputs (with
    ``coral``, the pass-through tensors too, and which they are)."""
    t = graph.tensors
    if coral:
        from tpusplit.graph.coral import carried, coral_segments

        return [{"file": str(path), "ops": [seg.start, seg.end],
                 "param_bytes": graph.segment_param_bytes(seg.start, seg.end),
                 "inputs": [t[i].name for i in seg.inputs],
                 "outputs": [t[o].name for o in seg.outputs],
                 "input_bytes": sum(t[i].nbytes for i in seg.inputs),
                 "passed_through": [t[c].name for c in carried(graph, seg.start, seg.end)]}
                for seg, path in zip(coral_segments(graph, cuts), files, strict=True)]
    return [{"file": str(path), "ops": [seg.start, seg.end],
             "param_bytes": graph.segment_param_bytes(seg.start, seg.end),
             "inputs": [t[i].name for i in seg.inputs],
             "outputs": [t[o].name for o in seg.outputs],
             "input_bytes": sum(t[i].nbytes for i in seg.inputs)}
            for seg, path in zip(segments(graph, cuts), files, strict=True)]


def split_lines(graph: Graph, cuts: Sequence[int], rows: Sequence[dict[str, Any]]) -> list[str]:
    """The text ``tpusplit split`` prints: each file, then each cut and its tensors."""
    lines = [f"[bold]{r['file']}[/]  ops {op_range(*r['ops'])}  "
             f"params {r['param_bytes'] / MiB:.2f} MiB" +
             (f"  passes on {', '.join(r['passed_through'])}" if r.get("passed_through")
              else "") for r in rows]
    for k, c in enumerate(cuts):
        crossing = graph.crossing(c)
        names = ", ".join(graph.tensors[t].name for t in crossing)
        lines.append(f"cut {k + 1} before op {c}: {len(crossing)} tensor(s), "
                     f"{int(graph.crossing_bytes[c]):,} bytes: {names}")
    return lines
