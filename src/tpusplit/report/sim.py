"""Simulation reports: stage table, ``tpusplit simulate`` JSON, Gantt and family plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.table import Table

from tpusplit.costs.base import CostSource
from tpusplit.errors import TpusplitError
from tpusplit.sim import SimResult

_COLOURS = {"host": "#bbbbbb", "in": "#4c72b0", "compute": "#55a868", "out": "#c44e52"}


def sim_json(cost: CostSource, result: SimResult) -> dict[str, Any]:
    """The ``--json`` object: device, cuts, per-segment figures and the pipeline figures."""
    g = cost.graph
    segs = []
    for s in result.segments:
        entry: dict[str, Any] = {
            "ops": [s.start, s.end], "param_bytes": g.segment_param_bytes(s.start, s.end),
            "on_chip_bytes": s.on_chip_bytes, "off_chip_bytes": s.off_chip_bytes,
            "latency_ms": s.latency_ms,
        }
        for k in ("fixed_ms", "compute_ms", "stream_ms", "in_ms", "out_ms"):
            if hasattr(s, k):
                entry[k] = getattr(s, k)
        segs.append(entry)
    return {
        "model": g.source, "device": cost.device, "cuts": result.cuts, "batch": result.batch,
        "segments": segs, "time_per_inference_ms": result.time_per_inference_ms,
        "throughput_ips": result.throughput_ips, "first_result_ms": result.first_result_ms,
        "wall_ms": result.wall_ms, "stage_busy_ms": result.stage_busy_ms,
        "transfer_ms": result.transfer_ms,
    }


def sim_table(cost: CostSource, result: SimResult) -> Table:
    """One row per segment: ops, parameters on/off chip, latency, busy share."""
    t = Table(title=f"{cost.graph.name} on {len(result.segments)} x {cost.device}, "
                    f"batch {result.batch}")
    for col in ("segment", "ops", "params MiB", "on-chip MiB", "off-chip MiB", "latency ms",
                "busy %"):
        t.add_column(col, justify="right")
    for i, (s, busy) in enumerate(zip(result.segments, result.stage_busy_ms, strict=True)):
        t.add_row(str(i), f"{s.start}..{s.end - 1}",
                  f"{cost.graph.segment_param_bytes(s.start, s.end) / 2**20:.2f}",
                  f"{s.on_chip_bytes / 2**20:.2f}", f"{s.off_chip_bytes / 2**20:.2f}",
                  f"{s.latency_ms:.3f}", f"{100 * busy / result.wall_ms:.0f}")
    return t


def gantt_plot(result: SimResult, path: str | Path, title: str = "") -> None:
    """Write a Gantt chart of every phase of every job (one row per segment) as PNG."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise TpusplitError(f"{path}: plotting needs matplotlib (pip install tpusplit[plot])") \
            from None
    n = len(result.segments)
    fig, ax = plt.subplots(figsize=(10, 1 + 0.6 * n))
    for e in result.events:
        ax.barh(n - 1 - e.stage, e.end - e.start, left=e.start, height=0.8,
                color=_COLOURS.get(e.phase, "#888888"), edgecolor="white", linewidth=0.3)
    ax.set_yticks(range(n), [f"TPU {i}" for i in range(n - 1, -1, -1)])
    ax.set_xlabel("time (ms)")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=c, label=k) for k, c in _COLOURS.items()],
              loc="upper right", fontsize=7, ncol=4)
    ax.set_title(title or f"{result.batch} inputs, {result.time_per_inference_ms:.2f} ms per "
                          f"inference")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as exc:
        raise TpusplitError(f"{path}: cannot write plot ({exc.strerror})") from None
    finally:
        plt.close(fig)


def family_plot(rows: Sequence[dict[str, Any]], family: str, path: str | Path) -> None:
    """Predicted (dashed) and measured (solid) latency against F or N, one colour per TPU count.

    ``rows``: dicts with ``family``, ``size``, ``tpus``, ``measured_ms``, ``predicted_ms``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    sel = [r for r in rows if r["family"] == family]
    for k, tpus in enumerate(sorted({r["tpus"] for r in sel})):
        rs = sorted((r for r in sel if r["tpus"] == tpus), key=lambda r: r["size"])
        c = f"C{k}"
        ax.plot([r["size"] for r in rs], [r["measured_ms"] for r in rs], "-o", ms=2.5, color=c,
                label=f"{tpus} TPU measured")
        ax.plot([r["size"] for r in rs], [r["predicted_ms"] for r in rs], "--", color=c,
                label=f"{tpus} TPU predicted")
    ax.set_xlabel("F (filters)" if family == "conv" else "N (neurons)")
    ax.set_ylabel("time per inference (ms)")
    ax.set_yscale("log")
    ax.set_title(f"{family} family: Edge TPU model vs measurements")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
