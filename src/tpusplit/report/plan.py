"""Reports on plans: one plan's segments, the strategy comparison table, JSON rows and plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tpusplit.costs.base import CostSource
from tpusplit.report import legend
from tpusplit.report.format import op_range
from tpusplit.strategies import AutoResult, Plan
from tpusplit.strategies.base import rebatch
from tpusplit.strategies.outcome import Planning
from tpusplit.units import MiB


def plan_table(plan: Plan) -> Table:
    """One row per segment: ops, latency, on-chip and streamed MiB."""
    mixed = any(s.device for s in plan.segments)
    hosts = any(s.host for s in plan.segments)
    where = f"devices {plan.device}" if mixed else f"{plan.devices_used} x {plan.device}"
    table = Table(title=f"{plan.model}: {plan.strategy} on {where}", caption=legend.PLAN,
                  caption_justify="left")
    reps = plan.replica_counts
    for col in ("segment", *(("host",) if hosts else ()), *(("device",) if mixed else ()),
                *(("replicas",) if plan.replicas else ()),
                "ops", "latency ms", "on-chip MiB", "streamed MiB",
                *(("network ms after",) if plan.network_ms else ())):
        table.add_column(col, justify="right")
    slow = max(s.latency_ms / r for s, r in zip(plan.segments, reps, strict=True))
    for i, s in enumerate(plan.segments):
        slowest = s.latency_ms / reps[i] == slow and plan.devices_used > 1
        after = (f"{plan.network_ms[i]:.3f}" if i < len(plan.network_ms) else "-",)
        table.add_row(str(i), *((s.host,) if hosts else ()), *((s.device,) if mixed else ()),
                      *((str(reps[i]),) if plan.replicas else ()),
                      op_range(s.start, s.end),
                      f"[bold]{s.latency_ms:.3f}[/]" if slowest else f"{s.latency_ms:.3f}",
                      f"{s.on_chip_bytes / MiB:.2f}", f"{s.off_chip_bytes / MiB:.2f}",
                      *(after if plan.network_ms else ()))
    return table


def plan_summary(plan: Plan) -> str:
    """A few lines: cuts, bottleneck, time per inference, throughput, solving cost."""
    lines = [
        f"cuts {list(plan.cuts)}" + (f", replicas {list(plan.replicas)} ({plan.devices_used} "
                                     "devices: a stage's inputs dealt to whichever copy is "
                                     "free)" if plan.replicas else ""),
        f"bottleneck {plan.bottleneck_ms:.3f} ms, time per inference "
        f"{plan.time_per_inference_ms:.3f} ms (batch {plan.batch}), "
        f"{plan.throughput_ips:.1f} inferences/s",
        f"{plan.streamed_bytes / MiB:.2f} MiB streamed per inference; "
        f"{plan.cost_evaluations} cost evaluations, solved in {plan.solve_seconds:.3f} s",
    ]
    if plan.energy_mj is not None:
        lines.append(f"energy {plan.energy_mj:.2f} mJ per inference "
                     f"({1000 / plan.energy_mj:.1f} inferences/J; power model: "
                     f"tpusplit.devices.energy)")
    if plan.lower_bound_ms is not None:
        lines.append(f"proved lower bound on the bottleneck: {plan.lower_bound_ms:.3f} ms")
    if plan.devices_used > 1:
        lines.append(plan.runner.describe())
    if plan.expected_error:
        lines.append(plan.expected_error)
    lines += [f"note: {n}" for n in plan.notes]
    return "\n".join(lines)


def compare_rows(plans: Sequence[Plan], single: Plan | None) -> list[dict[str, Any]]:
    """Plain rows for the comparison: each plan's figures plus speed-ups against one device
    (``single``, the 1-segment plan) and against the ``compiler`` plan when present."""
    compiler = next((p for p in plans if p.strategy == "compiler"), None)
    rows = []
    for p in plans:
        rows.append({
            **p.as_dict(),
            "speedup_vs_1": (single.time_per_inference_ms / p.time_per_inference_ms
                             if single is not None else None),
            "speedup_vs_compiler": (compiler.time_per_inference_ms / p.time_per_inference_ms
                                    if compiler is not None else None),
        })
    return rows


def compare_table(plans: Sequence[Plan], single: Plan | None, title: str = "") -> Table:
    """Strategies side by side: bottleneck, time per inference, speed-ups, streaming, effort."""
    table = Table(title=title or None, caption=legend.COMPARE, caption_justify="left")
    with_reps = any(p.replicas for p in plans)
    for col in ("strategy", "cuts", *(("replicas",) if with_reps else ()), "bottleneck ms",
                "time/inf ms", "x 1 device", "x compiler", "streamed MiB", "evaluations",
                "solve s"):
        table.add_column(col, justify="left" if col in ("strategy", "cuts", "replicas")
                         else "right")
    for p, r in zip(plans, compare_rows(plans, single), strict=True):
        cuts = r["cuts"]
        table.add_row(
            r["strategy"], ",".join(map(str, cuts)) if len(cuts) <= 8 else f"{len(cuts)} cuts",
            *((",".join(map(str, p.replica_counts)),) if with_reps else ()),
            f"{r['bottleneck_ms']:.3f}", f"{r['time_per_inference_ms']:.3f}",
            _x(r["speedup_vs_1"]), _x(r["speedup_vs_compiler"]),
            f"{r['streamed_bytes'] / MiB:.2f}", str(r["cost_evaluations"]),
            f"{r['solve_seconds']:.3f}")
    return table


def auto_dict(result: AutoResult, cost: CostSource, batch: int) -> dict[str, Any]:
    """What ``--tpus auto`` tried and why it chose its N, JSON-ready (throughput at
    ``batch``)."""
    return {"reason": result.reason, "target_reached": result.target_reached,
            "tried": [{"num_segments": p.num_segments, "devices": p.devices_used,
                       "cuts": list(p.cuts), "replicas": list(p.replica_counts),
                       "throughput_ips": rebatch(p, cost, batch).throughput_ips}
                      for p in result.tried]}


def _x(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def speedup_plot(series: dict[str, tuple[Sequence[float], Sequence[float]]], path: Path,
                 title: str, xlabel: str, ylabel: str, logy: bool = False,
                 xticks: Sequence[str] | None = None) -> None:
    """Line plot of ``{label: (x, y)}`` to a PNG (needs matplotlib); ``xticks`` labels
    x = 0, 1, ... (categorical x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker=".", label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if xticks is not None:
        ax.set_xticks(range(len(xticks)), list(xticks), rotation=45, ha="right", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def planning_json(p: Planning, batch: int, compare_all: bool) -> Any:
    """What ``tpusplit plan --json`` prints for a :class:`Planning`."""
    if p.cost is None:  # a mix of devices, a cluster, or --objective latency|energy
        assert p.plan is not None
        out: dict[str, Any] = {**p.plan.as_dict(), "objective": p.objective}
        if compare_all:
            out["compare"] = [o.as_dict() for o in p.others]
            if p.layers is not None:
                out["per_layer_placement"] = {"runs": [list(r) for r in p.layers.runs],
                                              "cost": p.layers.cost, "unit": p.layers.unit}
        return out
    assert p.cost is not None
    extra = {} if p.auto is None else {"auto": auto_dict(p.auto, p.cost, batch)}
    if p.comparison is not None:
        rows = compare_rows(p.comparison.plans, p.comparison.single)
        return rows if p.auto is None else {**extra, "plans": rows}
    assert p.plan is not None
    return {**p.plan.as_dict(), **extra}


def show_planning(out: Console, p: Planning, batch: int) -> None:
    """What ``tpusplit plan`` prints for a :class:`Planning` (tables and summary lines)."""
    n = p.target.count
    if p.comparison is not None:
        assert p.cost is not None
        if p.auto is not None:
            out.print(f"--tpus auto: N = {n} ({p.auto.reason})")
        out.print(compare_table(p.comparison.plans, p.comparison.single,
                                title=f"{p.graph.name}: {n} x {p.cost.device}, batch {batch} "
                                "(the strategies share one cost cache)"))
        plans = p.comparison.plans
        for line in dict.fromkeys(q.runner.describe() for q in plans):
            out.print(line)
        errors: dict[str, list[str]] = {}
        for q in plans:
            if q.expected_error:
                errors.setdefault(q.expected_error, []).append(q.strategy)
        for text, names in errors.items():
            out.print(text if len(errors) == 1 else f"{', '.join(names)}: {text}")
        return
    assert p.plan is not None
    if p.auto is not None and p.cost is not None:
        tried = [rebatch(x, p.cost, batch) for x in p.auto.tried]
        out.print(compare_table(tried, tried[0], title=f"{p.graph.name}: {p.plan.strategy}, "
                                f"N = 1..{len(tried)}"))
        out.print(f"--tpus auto: N = {p.plan.devices_used} ({p.auto.reason})")
    out.print(plan_table(p.plan))
    out.print(plan_summary(p.plan))
    for other in p.others:
        out.print(f"{other.strategy}: bottleneck {other.bottleneck_ms:.3f} ms, time per "
                  f"inference {other.time_per_inference_ms:.3f} ms, energy "
                  f"{other.energy_mj or 0:.2f} mJ ({other.notes[0]})")
    if p.layers is not None:
        runs = ", ".join(f"{op_range(a, b)} {label}" for a, b, label in p.layers.runs)
        out.print(f"per-layer placement (one input at a time): {p.layers.cost:.3f} "
                  f"{p.layers.unit}; runs {runs}")
