"""The caching rule and the compute term against Coral's compiler on real compiled files.

Usage: python benchmarks/edgetpu_model/compiled_graphs.py [--out DIR]

Data: ``data/edgetpu-community/compiled_graphs.csv`` (what ``edgetpu_compiler`` cached on chip,
streamed and estimated in cycles for 47 real ``*_edgetpu.tflite`` files) and the graphs they
were compiled from (:mod:`tpusplit.calibration.compiled_graphs`: originals, stand-ins, rebuilds).

1. caching: for every row matched to a graph, the rule's on-chip / off-chip MiB of the Edge TPU
   part (:func:`tpusplit.costs.onchip.segment_placement` with the shipped profile's
   capacity) against the compiler's, within 5 % or 0.1 MiB; beside it the rule as it was
   before the real files were compared (depthwise ``(kh * kw + 8) * ceil64(channels)``);
2. the depthwise constants refitted from scratch: integer ``(tap, channel)`` bytes minimising
   the mean relative error of the parameter totals, one point per compiled file;
3. cycles: the compiler's estimated cycles against the model's compute term (``device_ms`` of
   the Edge TPU part with the shipped USB 3 profile) and its counts (conv and depthwise
   passes, MACs): Pearson and Spearman correlations, what the compiler's estimate implies for
   the relative cost of a depthwise pass, and the compute term with that depthwise rate
   (a what-if: the shipped profiles are not changed);
4. plots: ``edgetpu_caching_real.png`` (rule vs compiler, log-log) and ``edgetpu_cycles.png``.

Writes benchmarks/results/edgetpu_caching_real.{md,json} and the two plots.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls
from scipy.stats import pearsonr, spearmanr

from tpusplit.calibration.compiled_graphs import (
    CompiledRow,
    edgetpu_graph,
    exclusion,
    match,
    read_compiled,
)
from tpusplit.costs.edgetpu import device_ms, segment_features
from tpusplit.costs.onchip import (
    DEPTHWISE_BYTES,
    _int8_bytes,
    boundary,
    capacity,
    layer_bytes,
    place,
)
from tpusplit.devices.profiles import DeviceProfile, load_profile
from tpusplit.graph import Graph
from tpusplit.units import MiB

HERE = Path(__file__).resolve().parent
#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS") or HERE.parents[0] / "results")
COMMAND = "python benchmarks/edgetpu_model/compiled_graphs.py"
#: The depthwise constants before this comparison: ``(kh * kw + 8) * ceil64(channels)``.
DEPTHWISE_BEFORE = (1, 8)
TOL_SHARE = 0.05
TOL_MIB = 0.1


def within(pred_mib: float, real_mib: float) -> bool:
    """Within 5 % or 0.1 MiB of the compiler's figure."""
    return abs(pred_mib - real_mib) <= max(TOL_SHARE * real_mib, TOL_MIB)


def placement(graph: Graph, profile: DeviceProfile, depthwise: tuple[int, int]
              ) -> tuple[float, float]:
    """The rule's on-chip and off-chip MiB of the whole graph compiled alone."""
    n = len(graph.ops)
    ins, outs = boundary(graph, 0, n)
    cap = capacity(*profile.cache, sum(_int8_bytes(graph, t) for t in ins),
                   sum(_int8_bytes(graph, t) for t in outs))
    sizes = [layer_bytes(graph, i, depthwise) for i in range(n)]
    cached = place(sizes, cap)
    on = sum(s for s, c in zip(sizes, cached, strict=True) if c)
    return on / MiB, (sum(sizes) - on) / MiB


def caching_rows(rows: list[CompiledRow], profile: DeviceProfile) -> list[dict[str, Any]]:
    """Section 1: one record per matched row, the rule before and after."""
    out = []
    for r in rows:
        m = match(r)
        if m is None:
            continue
        g, cpu = edgetpu_graph(r)
        rec: dict[str, Any] = {
            "file": r.compiled_file, "compiler": r.compiler, "match": m.kind, "graph": m.what,
            "compiler_on_mib": r.on_chip_mib, "compiler_off_mib": r.off_chip_mib,
            "cpu_ops": cpu, "compiler_cpu_ops": r.cpu_ops, "tpu_ops": len(g.ops)}
        for label, dw in (("before", DEPTHWISE_BEFORE), ("after", DEPTHWISE_BYTES)):
            on, off = placement(g, profile, dw)
            rec[label] = {"on_mib": on, "off_mib": off,
                          "ok": within(on, r.on_chip_mib) and within(off, r.off_chip_mib),
                          "total_err_pct": 100 * ((on + off) / r.total_mib - 1)}
        out.append(rec)
    return out


def totals(graph: Graph) -> tuple[int, int, int]:
    """Rule bytes without depthwise layers, and the depthwise layers' padded taps and channels
    (so the rule's total is ``rest + tap * taps + channel * channels``)."""
    rest = taps = channels = 0
    for op in graph.ops:
        if op.name == "DEPTHWISE_CONV_2D" and layer_bytes(graph, op.index, (0, 1)):
            ch = layer_bytes(graph, op.index, (0, 1))
            kk = layer_bytes(graph, op.index, (1, 0)) // ch
            taps += kk * ch
            channels += ch
        else:
            rest += layer_bytes(graph, op.index)
    return rest, taps, channels


def refit_depthwise(rows: list[CompiledRow]) -> dict[str, Any]:
    """Section 2: integer (tap, channel) bytes minimising the mean |relative error| of totals
    over distinct compiled files (same graph, same compiler figure counted once)."""
    points: dict[tuple[str, float], tuple[int, int, int, float]] = {}
    for r in rows:
        m = match(r)
        if m is None:
            continue
        g, _ = edgetpu_graph(r)
        points.setdefault((m.what, r.total_mib), (*totals(g), r.total_mib * MiB))
    pts = np.array(list(points.values()), dtype=float)
    grid = []
    for tap in range(0, 7):
        for ch in range(0, 25):
            pred = pts[:, 0] + tap * pts[:, 1] + ch * pts[:, 2]
            err = 100 * (pred / pts[:, 3] - 1)
            grid.append((float(np.abs(err).mean()), tap, ch, float(np.abs(err).max())))
    grid.sort()
    best = grid[0]
    before = next(g for g in grid if (g[1], g[2]) == DEPTHWISE_BEFORE)
    shipped = next(g for g in grid if (g[1], g[2]) == DEPTHWISE_BYTES)
    implied = sorted((r[3] - r[0]) / r[2] for r in pts if r[2] > 0)
    return {"points": len(pts), "best": {"tap": best[1], "channel": best[2],
                                         "mean_abs_pct": best[0], "max_abs_pct": best[3]},
            "runners_up": [{"tap": g[1], "channel": g[2], "mean_abs_pct": g[0]}
                           for g in grid[1:5]],
            "before": {"mean_abs_pct": before[0], "max_abs_pct": before[3]},
            "shipped": {"tap": DEPTHWISE_BYTES[0], "channel": DEPTHWISE_BYTES[1],
                        "mean_abs_pct": shipped[0], "max_abs_pct": shipped[3]},
            "implied_bytes_per_dw_channel": {
                "min": implied[0], "median": float(np.median(implied)), "max": implied[-1],
                "quartiles": [float(np.percentile(implied, 25)),
                              float(np.percentile(implied, 75))]}}


def _corr(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    return {"pearson": float(pearsonr(x, y)[0]),
            "pearson_log": float(pearsonr(np.log(x), np.log(y))[0]),
            "spearman": float(spearmanr(x, y)[0])}


def cycles(rows: list[CompiledRow], profile: DeviceProfile) -> dict[str, Any]:
    """Section 3: the compiler's estimated cycles against the compute term and its counts."""
    recs = []
    for r in rows:
        m = match(r)
        if m is None or r.cycles is None:
            continue
        g, _ = edgetpu_graph(r)
        f = segment_features(g, 0, len(g.ops), profile)
        macs = {k: sum(op.macs for op in g.ops if op.name == k)
                for k in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")}
        recs.append({"file": r.compiled_file, "match": m.kind, "cycles": r.cycles,
                     "device_ms": device_ms(f, profile), "conv_mpasses": f.conv_mcycles,
                     "dw_mpasses": f.dw_mcycles, "fc_ktiles": f.fc_ktiles,
                     "element_mib": f.element_mib, "conv_macs": macs["CONV_2D"],
                     "dw_macs": macs["DEPTHWISE_CONV_2D"], "fc_macs": macs["FULLY_CONNECTED"]})
    y = np.array([x["cycles"] for x in recs], dtype=float)
    col = {k: np.array([x[k] for x in recs], dtype=float)
           for k in ("device_ms", "conv_mpasses", "dw_mpasses", "conv_macs", "dw_macs")}
    passes = col["conv_mpasses"] + col["dw_mpasses"]
    macs = col["conv_macs"] + col["dw_macs"]
    out: dict[str, Any] = {"rows": recs, "n": len(recs), "correlation": {
        "device_ms": _corr(col["device_ms"], y), "conv passes": _corr(col["conv_mpasses"], y),
        "depthwise passes": _corr(col["dw_mpasses"], y),
        "conv + depthwise passes": _corr(passes, y), "MACs": _corr(macs, y)}}
    originals = np.array([x["match"] == "original" for x in recs])
    out["correlation_originals"] = {"n": int(originals.sum()),
                                    "device_ms": _corr(col["device_ms"][originals],
                                                       y[originals])}
    # What the compiler's estimate says a depthwise pass costs relative to a conv pass, and a
    # per-MAC view: cycles ~ a * count_conv + b * count_dw (relative least squares, a, b >= 0).
    fits: dict[str, dict[str, Any]] = {}
    for name, a, b in (("passes", col["conv_mpasses"], col["dw_mpasses"]),
                       ("MACs", col["conv_macs"], col["dw_macs"])):
        x = np.column_stack([a, b])
        coef, _ = nnls(x / y[:, None], np.ones(len(y)))
        pred = x @ coef
        err = 100 * (pred / y - 1)
        fits[name] = {"conv": float(coef[0]), "depthwise": float(coef[1]),
                      "depthwise_over_conv": float(coef[1] / coef[0]) if coef[0] else None,
                      "max_abs_pct": float(np.abs(err).max()),
                      "mean_abs_pct": float(np.abs(err).mean()), **_corr(pred, y)}
    out["compiler_fit"] = fits
    per_mac = fits["MACs"]
    dw_share = per_mac["depthwise"] * col["dw_macs"] / (per_mac["conv"] * col["conv_macs"]
                                                         + per_mac["depthwise"] * col["dw_macs"])
    out["depthwise_share_of_cycles"] = [float(dw_share.min()), float(dw_share.max())]
    # A depthwise pass is 64 MACs, a conv pass 4096 (the array full): the compiler's per-MAC
    # ratio gives the depthwise pass's cost relative to a conv pass.
    ratio = fits["MACs"]["depthwise_over_conv"] * 64 / 4096
    dw_rate = ratio * profile.conv_ms_per_mcycle
    dw_priced = col["device_ms"] + (dw_rate - profile.depthwise_ms_per_mcycle) * col["dw_mpasses"]
    unpadded = (dw_priced + profile.conv_ms_per_mcycle * (col["conv_macs"] / 4096 / 1e6
                                                          - col["conv_mpasses"])
                + dw_rate * (col["dw_macs"] / 64 / 1e6 - col["dw_mpasses"]))
    out["what_if"] = {"depthwise_pass_over_conv_pass": ratio,
                      "depthwise_ms_per_mcycle": dw_rate,
                      "shipped_depthwise_ms_per_mcycle": profile.depthwise_ms_per_mcycle,
                      "conv_ms_per_mcycle": profile.conv_ms_per_mcycle,
                      "correlation": _corr(dw_priced, y),
                      "correlation_unpadded": _corr(unpadded, y)}
    for rec, w, u in zip(recs, dw_priced, unpadded, strict=True):
        rec["device_ms_what_if"] = float(w)
        rec["device_ms_unpadded"] = float(u)
    return out


def plots(caching: list[dict[str, Any]], cyc: dict[str, Any], out: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    kinds = {"original": "o", "same name": "s", "stand-in": "^", "rebuild": "D"}
    for k, (kind, marker) in enumerate(kinds.items()):
        rs = [r for r in caching if r["match"] == kind]
        if not rs:
            continue
        real = [r["compiler_on_mib"] for r in rs]
        ax.scatter(real, [r["after"]["on_mib"] for r in rs], marker=marker, color=f"C{k}",
                   label=f"{kind} ({len(rs)})")
        ax.scatter(real, [r["before"]["on_mib"] for r in rs], marker=marker, facecolors="none",
                   edgecolors=f"C{k}", alpha=0.6)
    lim = [0.4, 5.0]
    ax.plot(lim, lim, "k-", lw=0.8)
    for f in (0.95, 1.05):
        ax.plot(lim, [v * f for v in lim], "k:", lw=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xticks([0.5, 1, 2, 3, 4])
    ax.set_yticks([0.5, 1, 2, 3, 4])
    ax.set_xlabel("compiler: parameters cached on chip (MiB)")
    ax.set_ylabel("caching rule: on chip (MiB)")
    ax.set_title("Real compiled files: filled = rule now, hollow = before (dotted: 5 %)",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_caching_real.png", dpi=110)
    plt.close(fig)

    rows = cyc["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for ax, key, label in ((axes[0], "device_ms", "compute term device_ms (USB 3 profile)"),
                           (axes[1], "device_ms_unpadded",
                            "what-if 2: depthwise priced, passes without padding (ms)")):
        for k, kind in enumerate(kinds):
            rs = [r for r in rows if r["match"] == kind]
            if not rs:
                continue
            ax.scatter([r[key] for r in rs], [r["cycles"] for r in rs], marker=kinds[kind],
                       color=f"C{k}", label=kind)
            if key == "device_ms":
                ax.scatter([r["device_ms_what_if"] for r in rs], [r["cycles"] for r in rs],
                           marker=kinds[kind], facecolors="none", edgecolors=f"C{k}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("compiler's estimated cycles")
        ax.grid(alpha=0.3, which="both")
    c = cyc["correlation"]
    w = cyc["what_if"]
    axes[0].set_title(f"filled: shipped (log r {c['device_ms']['pearson_log']:.3f}); hollow: "
                      f"what-if 1, depthwise priced (log r "
                      f"{w['correlation']['pearson_log']:.3f})", fontsize=8)
    axes[1].set_title(f"log r {w['correlation_unpadded']['pearson_log']:.3f}", fontsize=8)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_cycles.png", dpi=110)
    plt.close(fig)


def _f(v: float | None, fmt: str = ".3f") -> str:
    return "" if v is None else format(v, fmt)


def markdown(r: dict[str, Any]) -> str:
    rows = r["caching"]
    n = len(rows)
    ok_b = sum(x["before"]["ok"] for x in rows)
    ok_a = sum(x["after"]["ok"] for x in rows)
    orig = [x for x in rows if x["match"] == "original"]
    d = r["depthwise_refit"]
    lines = [
        "# The caching rule and the compute term on real compiled files",
        "",
        f"Data: `data/edgetpu-community/compiled_graphs.csv` ({r['csv_rows']} compiled files) and "
        "the graphs they were compiled from. Reproduce: "
        f"`{COMMAND}` ({r['seconds']:.0f} s). Capacity: the shipped profile "
        f"`{r['profile']}` ({r['cache']}).",
        "",
        "## 1. Caching: the rule vs the compiler",
        "",
        f"**{ok_a} / {n} matched rows** have both figures (on chip, off chip) within 5 % or "
        f"0.1 MiB of the compiler's ({ok_b} / {n} with the depthwise formula of before, "
        f"`(kh*kw + 8) * ceil64(ch)`); originals only: "
        f"{sum(x['after']['ok'] for x in orig)} / {len(orig)} "
        f"(before {sum(x['before']['ok'] for x in orig)}). Mean |error| of the parameter "
        f"total: {np.mean([abs(x['after']['total_err_pct']) for x in rows]):.2f} % "
        f"(before {np.mean([abs(x['before']['total_err_pct']) for x in rows]):.2f} %); within "
        f"2 %: {sum(abs(x['after']['total_err_pct']) <= 2 for x in rows)} rows "
        f"(before {sum(abs(x['before']['total_err_pct']) <= 2 for x in rows)}).",
        "",
        "Match: **original** = the uncompiled file itself; **same name** = Coral's file of that "
        "name (a copy in another repository); **stand-in** = another file of the same network "
        "(PoseNet at another input size: the original graph's Edge TPU part resized; the old "
        "compiler's PoseNet files lack the `_16` of the only uncompiled PoseNet available); "
        "**rebuild** = `tpusplit.models.slim` layer for layer, random weights.",
        "",
        "| compiled file | compiler | match | CPU ops (CSV) | compiler on / off MiB | rule "
        "on / off MiB | total err | before: on MiB, err | ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for x in rows:
        a, b = x["after"], x["before"]
        lines.append(
            f"| {x['file']} | {x['compiler']} | {x['match']} | {x['cpu_ops']} "
            f"({x['compiler_cpu_ops']}) | {x['compiler_on_mib']:.4f} / {x['compiler_off_mib']:.4f}"
            f" | {a['on_mib']:.4f} / {a['off_mib']:.4f} | {a['total_err_pct']:+.1f} % | "
            f"{b['on_mib']:.4f}, {b['total_err_pct']:+.1f} % | "
            f"{'yes' if a['ok'] else '**no**'} |")
    lines += ["", "Not compared:", "", "| compiled file | compiler | why |", "|---|---|---|"]
    for x in r["excluded"]:
        lines.append(f"| {x['file']} | {x['compiler']} | {x['why']} |")
    lines += [
        "", "CPU ops: the rule of `tpusplit.graph.edgetpu_part` (supported ops, 8-bit tensors, "
        "no large resizes, nothing downstream of a CPU op) against the compiled file's count; "
        "the old compiler left one op fewer on the CPU in DeepLab v3 (which one is not "
        "recorded; none of the candidates has parameters).",
        "",
        "## 2. Depthwise constants refitted",
        "",
        f"Integer `(tap, channel)` bytes of `(tap * kh * kw + channel) * ceil64(ch)`, minimising "
        f"the mean |relative error| of the parameter totals over {d['points']} distinct "
        f"compiled files: best `({d['best']['tap']}, {d['best']['channel']})` "
        f"(mean {d['best']['mean_abs_pct']:.2f} %, max {d['best']['max_abs_pct']:.1f} %); "
        "next: " + ", ".join(f"`({g['tap']}, {g['channel']})` {g['mean_abs_pct']:.2f} %"
                             for g in d["runners_up"]) +
        f". Shipped `({d['shipped']['tap']}, {d['shipped']['channel']})`: mean "
        f"{d['shipped']['mean_abs_pct']:.2f} %, max {d['shipped']['max_abs_pct']:.1f} %; the "
        f"formula of before `(1, 8)`: mean {d['before']['mean_abs_pct']:.2f} %, max "
        f"{d['before']['max_abs_pct']:.1f} %. Bytes per padded depthwise channel (all kernels) "
        f"each file implies if everything else in the rule is right: median "
        f"{d['implied_bytes_per_dw_channel']['median']:.1f}, quartiles "
        f"{d['implied_bytes_per_dw_channel']['quartiles'][0]:.1f} to "
        f"{d['implied_bytes_per_dw_channel']['quartiles'][1]:.1f}, range "
        f"{d['implied_bytes_per_dw_channel']['min']:.1f} to "
        f"{d['implied_bytes_per_dw_channel']['max']:.1f}.",
        "",
        "## 3. Cycles: the compiler's estimate vs the compute term",
        "",
    ]
    c = r["cycles"]
    lines += [f"{c['n']} matched rows with the compiler's estimated cycles "
              f"(originals: {c['correlation_originals']['n']}, device_ms log Pearson "
              f"{c['correlation_originals']['device_ms']['pearson_log']:.3f}).", "",
              "| count | Pearson | Pearson (log-log) | Spearman |", "|---|---|---|---|"]
    for k, v in c["correlation"].items():
        lines.append(f"| {k} | {v['pearson']:.3f} | {v['pearson_log']:.3f} | "
                     f"{v['spearman']:.3f} |")
    w = c["what_if"]
    lines.append(f"| what-if 1: device_ms, depthwise priced at {w['depthwise_ms_per_mcycle']:.3f}"
                 f" ms/M | {w['correlation']['pearson']:.3f} | "
                 f"{w['correlation']['pearson_log']:.3f} | {w['correlation']['spearman']:.3f} |")
    u = w["correlation_unpadded"]
    lines.append(f"| what-if 2: as 1, passes from MACs (no channel padding) | {u['pearson']:.3f} | "
                 f"{u['pearson_log']:.3f} | {u['spearman']:.3f} |")
    lines += ["", "What the compiler's estimate implies (cycles ~ a * conv + b * depthwise, "
              "relative least squares, a, b >= 0):", "",
              "| counts | a (conv) | b (depthwise) | b / a | mean / max error | log r |",
              "|---|---|---|---|---|---|"]
    for k, v in c["compiler_fit"].items():
        lines.append(f"| {k} | {v['conv']:.4g} | {v['depthwise']:.4g} | "
                     f"{_f(v['depthwise_over_conv'])} | {v['mean_abs_pct']:.1f} / "
                     f"{v['max_abs_pct']:.1f} % | {v['pearson_log']:.4f} |")
    sh = c["depthwise_share_of_cycles"]
    lines += ["", f"By the MAC fit, depthwise layers are {100 * sh[0]:.0f} to {100 * sh[1]:.0f} % "
              "of the compiler's cycles in these networks."]
    lines += ["", f"A depthwise pass is 64 MACs and a conv pass 4096, so the compiler's per-MAC "
              f"ratio makes a depthwise pass cost {w['depthwise_pass_over_conv_pass']:.3f} conv "
              f"passes. The shipped profile prices a depthwise pass at "
              f"{w['shipped_depthwise_ms_per_mcycle']:.3g} ms/M (conv "
              f"{w['conv_ms_per_mcycle']:.3g}); what-if 1 prices it at "
              f"{w['depthwise_ms_per_mcycle']:.3f} ms/M (that ratio times the conv rate), "
              "what-if 2 also counts passes without padding channels to 64 (MACs / 4096 and "
              "MACs / 64). Neither is shipped: the latency terms are fitted on measured times, "
              "not on the compiler's estimate.", "",
              "| compiled file | match | cycles | device_ms | what-if 1 | what-if 2 | conv "
              "Mpasses | dw Mpasses | conv MMACs | dw MMACs |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for x in c["rows"]:
        lines.append(f"| {x['file']} | {x['match']} | {x['cycles']} | {x['device_ms']:.3f} | "
                     f"{x['device_ms_what_if']:.3f} | {x['device_ms_unpadded']:.3f} | "
                     f"{x['conv_mpasses']:.4f} | "
                     f"{x['dw_mpasses']:.4f} | {x['conv_macs'] / 1e6:.1f} | "
                     f"{x['dw_macs'] / 1e6:.1f} |")
    lines += ["", "Plots: `edgetpu_caching_real.png` (on chip, rule vs compiler), "
              "`edgetpu_cycles.png` (cycles vs the compute term and vs passes).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.time()
    profile = load_profile("edgetpu-usb3")
    rows = read_compiled()
    caching = caching_rows(rows, profile)
    excluded = [{"file": r.compiled_file, "compiler": r.compiler, "why": exclusion(r)}
                for r in rows if match(r) is None]
    result: dict[str, Any] = {
        "command": COMMAND, "csv_rows": len(rows), "profile": profile.name,
        "cache": f"base {profile.cache_base_mib} MiB, in_coef {profile.cache_in_coef}, "
                 f"out_coef {profile.cache_out_coef}",
        "depthwise_bytes": list(DEPTHWISE_BYTES), "depthwise_before": list(DEPTHWISE_BEFORE),
        "caching": caching, "excluded": excluded,
        "matched": len(caching),
        "within_tolerance": {"after": sum(x["after"]["ok"] for x in caching),
                             "before": sum(x["before"]["ok"] for x in caching)},
        "depthwise_refit": refit_depthwise(rows),
        "cycles": cycles(rows, profile)}
    args.out.mkdir(parents=True, exist_ok=True)
    plots(caching, result["cycles"], args.out)
    result["seconds"] = time.time() - t0
    result["machine"] = platform.platform()
    (args.out / "edgetpu_caching_real.json").write_text(json.dumps(result, indent=1))
    (args.out / "edgetpu_caching_real.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
