"""Reports on a pipeline run: throughput, latency percentiles and per-stage utilisation."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from tpusplit.pipeline.assemble import CheckResult
from tpusplit.pipeline.measure import PipelineMeasurement
from tpusplit.report import legend


def run_dict(m: PipelineMeasurement, check: CheckResult | None = None,
             **context: Any) -> dict[str, Any]:
    """Everything ``tpusplit run`` shows, JSON-ready; ``context`` (model, device, cuts, ...)
    comes first."""
    out: dict[str, Any] = dict(context)
    out.update(m.as_dict())
    if check is not None:
        out["check"] = check.as_dict()
    return out


def summary_table(m: PipelineMeasurement, title: str = "pipeline run") -> Table:
    """One row of headline figures: throughput, time per inference, latencies."""
    table = Table(title=title, caption=legend.RUN, caption_justify="left")
    cols = ["inputs", "inferences/s", "ms/inference", "ideal inf/s", "share of ideal",
            "first result ms", "p50 ms", "p90 ms", "p99 ms"]
    if m.baseline_ms is not None:
        cols += ["whole model, 1 thread, ms", "speed-up"]
    for c in cols:
        table.add_column(c, justify="right")
    ideal = m.ideal_throughput_ips()
    row = [str(m.count), f"{m.throughput_ips:.2f}", f"{m.time_per_inference_ms:.3f}",
           f"{ideal:.2f}", f"{m.throughput_ips / ideal:.0%}" if ideal > 0 else "-",
           f"{m.first_result_ms:.3f}", f"{m.percentile(50):.3f}",
           f"{m.percentile(90):.3f}", f"{m.percentile(99):.3f}"]
    if m.baseline_ms is not None:
        row += [f"{m.baseline_ms:.3f}", f"{m.speedup:.2f}x"]
    table.add_row(*row)
    return table


def stage_table(m: PipelineMeasurement) -> Table:
    """Per stage: items, mean busy time per item, utilisation, waiting and blocked time."""
    table = Table(title="stages", caption=legend.STAGES, caption_justify="left")
    for c in ("stage", "items", "busy ms/item", "utilisation", "waiting s", "blocked s"):
        table.add_column(c, justify="right")
    for i, (s, u) in enumerate(zip(m.stages, m.utilisation(), strict=True)):
        per = 1e3 * s.busy_s / s.items if s.items else float("nan")
        table.add_row(str(i), str(s.items), f"{per:.3f}", f"{u:.0%}", f"{s.wait_s:.3f}",
                      f"{s.blocked_s:.3f}")
    return table


def check_line(check: CheckResult) -> str:
    """One line: whether every output equals the whole model's."""
    if check.ok:
        return f"outputs bit-exact with the whole model on {check.compared} input(s): yes"
    worst = max((d for _, _, d in check.mismatches), default=0.0)
    return (f"outputs bit-exact with the whole model: NO ({len(check.mismatches)} mismatching "
            f"output(s) over {check.compared} input(s), max |diff| {worst:g})")
