"""Simulation reports: stage table, ``tpusplit simulate`` JSON, Gantt and family plots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tpusplit.costs.base import CostSource
from tpusplit.devices.energy import Energy, power_of, replicated_energy
from tpusplit.errors import TpusplitError
from tpusplit.report import legend
from tpusplit.report.format import op_range
from tpusplit.sim import SimResult
from tpusplit.units import mib

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
        "runner": {"name": cost.runner.name, "stage_ms": cost.runner.stage_ms,
                   "serial": cost.runner.serial},
        "expected_error": cost.expected_error(len(result.segments)),
        **(energy.as_dict() if (energy := sim_energy(cost, result)) is not None else {}),
    }


def sim_energy(cost: CostSource | Sequence[CostSource], result: SimResult) -> Energy | None:
    """Energy per inference of a simulated pipeline, every replica a device like its stage's
    cost source (None when one has no power model)."""
    costs = list(cost) if isinstance(cost, Sequence) else [cost] * len(result.segments)
    # a segment of host ops only (an Edge TPU plan's host stage) runs on the host CPU
    powers = [power_of("cpu") if _host_only(s) else c.power()
              for c, s in zip(costs, result.segments, strict=True)]
    if any(p is None for p in powers):
        return None
    return replicated_energy(result.stage_busy_ms, result.batch, result.time_per_inference_ms,
                             powers, result.replicas or None)  # type: ignore[arg-type]


def _host_only(segment: object) -> bool:
    host = getattr(segment, "host_ms", 0.0)
    return bool(host) and host == getattr(segment, "latency_ms", None)


def sim_table(cost: CostSource, result: SimResult) -> Table:
    """One row per segment: ops, parameters on/off chip, latency, busy share."""
    reps = result.replicas or [1] * len(result.segments)
    copies = any(r > 1 for r in reps)
    devices = sum(r for s, r in zip(result.segments, reps, strict=True) if not _host_only(s))
    t = Table(title=f"{cost.graph.name} on {devices} x {cost.device}, "
                    f"batch {result.batch}", caption=legend.SIM, caption_justify="left")
    for col in ("segment", "ops", *(("replicas",) if copies else ()), "params MiB",
                "on-chip MiB", "off-chip MiB", "latency ms", "busy %"):
        t.add_column(col, justify="right")
    for i, (s, busy, r) in enumerate(zip(result.segments, result.stage_busy_ms, reps,
                                         strict=True)):
        t.add_row(str(i), op_range(s.start, s.end), *((str(r),) if copies else ()),
                  f"{mib(cost.graph.segment_param_bytes(s.start, s.end)):.2f}",
                  f"{mib(s.on_chip_bytes):.2f}", f"{mib(s.off_chip_bytes):.2f}",
                  f"{s.latency_ms:.3f}", f"{100 * busy / (result.wall_ms * r):.0f}")
    return t


#: Formats a plot may be written in (matplotlib's, by file suffix).
PLOT_FORMATS = (".png", ".svg", ".pdf")


def check_plot_path(path: str | Path) -> Path:
    """A writable plot path, or a one-line error naming it (directory, unknown format, no
    folder)."""
    p = Path(path)
    if p.is_dir():
        raise TpusplitError(f"{p}: is a directory; give a file name such as {p / 'gantt.png'}")
    if p.suffix.lower() not in PLOT_FORMATS:
        raise TpusplitError(f"{p}: plot format {p.suffix or '(none)'!r} not supported; use "
                            f"{', '.join(PLOT_FORMATS)}")
    if not p.parent.is_dir():
        raise TpusplitError(f"{p}: folder {p.parent} does not exist")
    return p


_LABELS = {"host": "host CPU", "in": "input copy", "stream": "streamed weights",
           "compute": "compute", "out": "output copy"}
_STREAM_COLOUR = "#dd8452"


@dataclass(frozen=True)
class Gantt:
    """What a Gantt chart draws: bars ``(row, start ms, length ms, phase)`` and row labels
    (row 0 at the top); ``bottleneck`` is the busiest device's row."""

    bars: list[tuple[int, float, float, str]]
    labels: list[str]
    bottleneck: int


#: Narrowest bar drawn, as a share of the run (about two pixels of the chart).
MIN_BAR = 0.002


def gantt_bars(result: SimResult) -> Gantt:
    """The bars of :func:`gantt_plot`: one row per device (a replicated segment has one per
    replica) labelled with its op range, the part of ``compute`` spent streaming weights from
    the host as its own ``stream`` phase, and a row per link shared by several devices
    showing the transfers that hold it."""
    n = len(result.segments)
    reps = result.replicas or [1] * n
    first = [sum(reps[:i]) for i in range(n)]
    devices = sum(reps)
    buses = result.buses or list(range(devices))
    shared = sorted({b for b in buses if buses.count(b) > 1})
    bars: list[tuple[int, float, float, str]] = []
    for e in result.events:
        row = first[e.stage] + e.replica
        stream = min(result.segments[e.stage].stream_ms, e.end - e.start)
        if e.phase == "compute" and stream > 0:
            bars.append((row, e.start, stream, "stream"))
            if e.end - e.start > stream:
                bars.append((row, e.start + stream, e.end - e.start - stream, "compute"))
        else:
            bars.append((row, e.start, e.end - e.start, e.phase))
        if buses[row] in shared:
            link = devices + shared.index(buses[row])
            if e.phase in ("in", "out"):
                bars.append((link, e.start, e.end - e.start, e.phase))
            elif e.phase == "compute" and stream > 0:
                bars.append((link, e.start, stream, "stream"))
    worst = max(range(n), key=lambda i: result.stage_busy_ms[i] / reps[i])
    # a shared link busier than every device is the bottleneck, not the busiest TPU
    link_busy = [sum(length for row, _, length, _ in bars if row == devices + k)
                 for k in range(len(shared))]
    stage_busy = result.stage_busy_ms[worst] / reps[worst]
    hot = max(range(len(shared)), key=lambda k: link_busy[k], default=None)
    link_is_worst = hot is not None and link_busy[hot] > stage_busy
    labels = []
    for i, s in enumerate(result.segments):
        for r in range(reps[i]):
            name = f"TPU {first[i] + r}: ops {op_range(s.start, s.end)}"
            name += f" (replica {r + 1}/{reps[i]})" if reps[i] > 1 else ""
            labels.append(name + ("  (bottleneck)" if i == worst and not link_is_worst
                                  else ""))
    labels += [f"shared link {chr(ord('A') + k)}: TPU "
               + ",".join(str(d) for d in range(devices) if buses[d] == b)
               + ("  (bottleneck)" if link_is_worst and k == hot else "")
               for k, b in enumerate(shared)]
    bottleneck = first[worst]
    if link_is_worst and hot is not None:
        bottleneck = devices + hot
    return Gantt(bars, labels, bottleneck)


def phases(chart: Gantt, devices: int) -> tuple[float, float, float]:
    """``(fill end, drain start, end)`` of a Gantt chart's device rows: the pipeline fills
    until the last device starts its first job and drains once the first device has done
    its last job."""
    starts: dict[int, float] = {}
    ends: dict[int, float] = {}
    for row, start, length, _ in chart.bars:
        if row < devices:
            starts[row] = min(starts.get(row, start), start)
            ends[row] = max(ends.get(row, start + length), start + length)
    if not starts:
        return 0.0, 0.0, 0.0
    return max(starts.values()), min(ends.values()), max(ends.values())


def gantt_plot(result: SimResult, path: str | Path, title: str = "") -> Path:
    """Write the Gantt chart of :func:`gantt_bars` as PNG/SVG/PDF; returns the path."""
    p = check_plot_path(path)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Patch
    except ImportError:
        raise TpusplitError(f"{p}: plotting needs matplotlib (pip install tpusplit[plot])") \
            from None
    chart = gantt_bars(result)
    rows = len(chart.labels)
    height = 1.6 + 0.55 * rows
    fig, ax = plt.subplots(figsize=(11, height))
    colours = dict(_COLOURS, stream=_STREAM_COLOUR)
    devices = sum(result.replicas or [1] * len(result.segments))
    fill, drain, end = phases(chart, devices)
    # bars narrower than a pixel vanish or alias: draw them at least MIN_BAR of the run
    least = MIN_BAR * max(end, 1e-9)
    thin = sum(1 for *_, length, _ in chart.bars if length < least)
    for row, start, length, phase in chart.bars:
        ax.barh(rows - 1 - row, max(length, least), left=start, height=0.8,
                color=colours[phase], edgecolor="none")
    if 0 < fill < drain < end:  # fill, steady state, drain
        ax.axvspan(0, fill, color="0.92", zorder=0)
        ax.axvspan(drain, end, color="0.92", zorder=0)
        for x, text in ((fill / 2, "fill"), ((fill + drain) / 2, "steady state"),
                        ((drain + end) / 2, "drain")):
            ax.text(x, rows - 0.45, text, ha="center", va="bottom", fontsize=7, color="0.35")
    ax.set_ylim(-0.6, rows + 0.1)
    ax.set_yticks(range(rows), chart.labels[::-1], fontsize=8)
    ax.get_yticklabels()[rows - 1 - chart.bottleneck].set_fontweight("bold")
    ax.set_xlabel("time (ms)" + (f"; {thin} job(s) shorter than {100 * MIN_BAR:g}% of the "
                                 "run drawn at that width" if thin else ""))
    used = {phase for *_, phase in chart.bars}
    ax.legend(handles=[Patch(color=colours[k], label=_LABELS[k]) for k in _LABELS if k in used],
              loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    ax.set_title(title or f"{result.batch} inputs, {result.time_per_inference_ms:.2f} ms per "
                          f"inference", fontsize=9)
    fig.tight_layout()
    try:
        fig.savefig(p, dpi=110)
    except OSError as exc:
        raise TpusplitError(f"{p}: cannot write plot ({exc.strerror})") from None
    finally:
        plt.close(fig)
    return p


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


def show_simulation(out: Console, cost: CostSource, result: SimResult, device: str,
                    plot: Path | None = None) -> None:
    """What ``tpusplit simulate`` prints: the stage table, the summary, the runner, the
    expected error, the energy and where the Gantt chart went."""
    out.print(sim_table(cost, result))
    out.print(f"time per inference {result.time_per_inference_ms:.3f} ms, throughput "
              f"{result.throughput_ips:.1f}/s, first result {result.first_result_ms:.3f} ms "
              f"(batch {result.batch}, predicted by the {device} model)")
    if len(result.segments) > 1:
        out.print(cost.runner.describe())
    expected = cost.expected_error(len(result.segments))
    if expected:
        out.print(expected)
    energy = sim_energy(cost, result)
    if energy is not None:
        out.print(f"energy {energy.total_mj:.2f} mJ per inference ({energy.active_mj:.2f} "
                  f"active), {energy.inferences_per_joule:.1f} inferences/J (power model: "
                  f"tpusplit.devices.energy)")
    if plot is not None:
        out.print(f"Gantt chart written to {plot}")
