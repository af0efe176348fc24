"""Edge TPU model benchmark: caching, single-TPU latency and pipeline simulation vs real TPUs.

Usage: python benchmarks/edgetpu_model/run.py [--quick]   (or ``tpusplit bench edgetpu_model``)

Against every row of every file of ../shared/data/edgetpu-measurements:

1. caching model: compiler-reported on/off-chip MiB of the single-TPU model and of every
   segment of the split files, matched within 0.05 MiB; capacity rule re-fitted from scratch;
2. single TPU (shipped profile ``edgetpu-usb3``): MAPE per file, the spill cliffs, and
   cross-validation (fit on one family, test on the other; fit on even-indexed sizes, test on
   the odd ones);
3. pipelines: conv 2/3/4 TPUs (compiler split, PipelinedModelRunner, batch 100), fc 2/3/4 TPUs
   (even split, Python thread pipeline, batch 50; its per-stage host cost fitted on the 2-TPU
   file only), and the F=672 batch sweeps: MAPE per file.

Writes benchmarks/results/edgetpu_model.{md,json} and edgetpu_model_{conv,fc,sweep,gantt}.png.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.costs.calibrate import (
    Case,
    cases,
    check_caching,
    compiler_cuts,
    fit_capacity,
    fit_latency,
    mape,
)
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.measurements import load_all, measurements_dir
from tpusplit.costs.profile import COSTED_OPS, DeviceProfile, load_profile
from tpusplit.graph import load
from tpusplit.models.synthetic import conv
from tpusplit.report.sim import family_plot, gantt_plot
from tpusplit.sim import simulate

RESULTS = Path(__file__).resolve().parents[1] / "results"
FIXED = ("in_ms_per_mib", "out_ms_per_mib", "element_ms_per_mop")
#: How each split file was run (README of the measurements).
RUNNER: dict[str, tuple[int, int | None]] = {"conv": (100, None), "fc": (50, 1)}


def single_pred(c: Case, p: DeviceProfile) -> float:
    return EdgeTPUCost(c.graph, p).latency(0, len(c.graph.ops))


def pipe_pred(c: Case, p: DeviceProfile, host_ms: float) -> float:
    batch, workers = RUNNER[c.family]
    return simulate(EdgeTPUCost(c.graph, p), c.cuts, batch=batch,
                    host_ms=host_ms if c.family == "fc" else 0.0,
                    host_workers=workers).time_per_inference_ms


def alike(p: DeviceProfile, op_type: str) -> DeviceProfile:
    """``p`` with every op type costed like ``op_type`` (the prior when a type is unseen)."""
    c, st = p.compute(op_type), p.stream(op_type)
    return replace(p, compute_ms_per_gmac={t: c for t in COSTED_OPS},
                   stream_ms_per_mib={t: st for t in COSTED_OPS})


def cliff(cs: list[Case], p: DeviceProfile) -> dict[str, Any]:
    """First size that streams parameters: measured vs predicted (the spill cliff)."""
    meas = next((c.size for c in cs if c.off_chip_mib[0] > 0), None)
    pred = next((c.size for c in cs
                 if EdgeTPUCost(c.graph, p).segment(0, len(c.graph.ops)).off_chip_bytes > 0),
                None)
    return {"measured_first_spill": meas, "predicted_first_spill": pred}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every third row only")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.time()
    step = 3 if args.quick else 1
    tables, sweeps = load_all()
    by: dict[tuple[str, int], list[Case]] = {}
    for m in tables:
        by[(m.family, m.tpus)] = cases(m)[::step]
    everything = [c for cs in by.values() for c in cs]
    shipped = load_profile("edgetpu-usb3")
    out: dict[str, Any] = {"data": str(measurements_dir()), "profile": shipped.to_json(),
                           "quick": args.quick}

    # 1. caching
    chk = check_caching(everything, shipped.cache_base_mib, shipped.cache_in_coef,
                        shipped.cache_out_coef)
    b, i, o, refit = fit_capacity(everything)
    out["caching"] = {"figures": chk.figures, "matched": chk.matched, "share": chk.share,
                      "worst_mib": chk.worst_mib, "worst_where": chk.worst_where,
                      "mismatches": list(chk.mismatches[:20]),
                      "refit": {"base_mib": b, "in_coef": i, "out_coef": o,
                                "matched": refit.matched, "figures": refit.figures},
                      "constant_capacity_best": max(
                          (check_caching(everything, float(x), 0, 0).matched, float(x))
                          for x in np.arange(6.8, 8.0, 0.02))}

    # 2. single TPU
    rows: list[dict[str, Any]] = []
    single: dict[str, Any] = {}
    for fam in ("conv", "fc"):
        cs = by[(fam, 1)]
        pred = [single_pred(c, shipped) for c in cs]
        single[fam] = {"mape": mape(pred, [c.time_ms for c in cs]), **cliff(cs, shipped)}
        rows += [{"family": fam, "size": c.size, "tpus": 1, "measured_ms": c.time_ms,
                  "predicted_ms": p} for c, p in zip(cs, pred, strict=True)]
    allsingle = by[("conv", 1)] + by[("fc", 1)]
    single["both"] = {"mape": mape([r["predicted_ms"] for r in rows],
                                   [r["measured_ms"] for r in rows])}
    cv: dict[str, float] = {}
    for train, test in (("conv", "fc"), ("fc", "conv")):
        seen = "CONV_2D" if train == "conv" else "FULLY_CONNECTED"
        p = alike(fit_latency(by[(train, 1)], shipped, fixed=FIXED), seen)
        cv[f"fit_{train}_test_{test}"] = mape([single_pred(c, p) for c in by[(test, 1)]],
                                              [c.time_ms for c in by[(test, 1)]])
    even = by[("conv", 1)][::2] + by[("fc", 1)][::2]
    odd = by[("conv", 1)][1::2] + by[("fc", 1)][1::2]
    p = fit_latency(even, shipped, fixed=FIXED)
    cv["fit_even_sizes_test_odd"] = mape([single_pred(c, p) for c in odd],
                                         [c.time_ms for c in odd])
    p = fit_latency(allsingle, shipped, fixed=FIXED)
    cv["refit_all_single"] = mape([single_pred(c, p) for c in allsingle],
                                  [c.time_ms for c in allsingle])
    single["cv"] = cv
    out["single"] = single

    # 3. pipelines
    fc2 = by[("fc", 2)]
    grid = np.arange(0.0, 0.5001, 0.01)
    errs = [mape([pipe_pred(c, shipped, float(h)) for c in fc2], [c.time_ms for c in fc2])
            for h in grid]
    host_ms = float(grid[int(np.argmin(errs))])
    pipes: dict[str, Any] = {"fc_host_ms_fitted_on_fc_2tpu": host_ms}
    for (fam, tpus), cs in sorted(by.items()):
        if tpus == 1:
            continue
        pred = [pipe_pred(c, shipped, host_ms) for c in cs]
        errors = [(p - c.time_ms) / c.time_ms * 100 for c, p in zip(cs, pred, strict=True)]
        worst = int(np.argmax(np.abs(errors)))
        pipes[f"{fam}_{tpus}tpu"] = {"mape": mape(pred, [c.time_ms for c in cs]),
                                     "worst_size": cs[worst].size,
                                     "worst_error_pct": errors[worst], "rows": len(cs)}
        rows += [{"family": fam, "size": c.size, "tpus": tpus, "measured_ms": c.time_ms,
                  "predicted_ms": p} for c, p in zip(cs, pred, strict=True)]
    sweep_out = {}
    for s in sweeps:
        g = load(conv(s.size), name=f"conv_F{s.size}")
        cost = EdgeTPUCost(g, shipped)
        cuts = compiler_cuts(g, s.tpus)
        pred = [simulate(cost, cuts, batch=bb).time_per_inference_ms for bb in s.batches]
        sweep_out[s.path.name] = {"mape": mape(pred, s.time_ms), "batches": list(s.batches),
                                  "measured_ms": list(s.time_ms), "predicted_ms": pred}
    pipes["sweeps"] = sweep_out
    out["pipelines"] = pipes
    out["rows"] = rows
    out["disagreements"] = disagreements(rows)

    args.out.mkdir(parents=True, exist_ok=True)
    for fam in ("conv", "fc"):
        family_plot(rows, fam, args.out / f"edgetpu_model_{fam}.png")
    _sweep_plot(sweep_out, args.out / "edgetpu_model_sweep.png")
    g = load(conv(672), name="conv_F672")
    gantt_plot(simulate(EdgeTPUCost(g, shipped), compiler_cuts(g, 3), batch=15),
               args.out / "edgetpu_model_gantt.png", "conv F=672, compiler split, 3 TPUs, "
                                                     "batch 15 (simulated)")
    out["seconds"] = time.time() - t0
    out["machine"] = platform.platform()
    (args.out / "edgetpu_model.json").write_text(json.dumps(out, indent=1))
    (args.out / "edgetpu_model.md").write_text(markdown(out))
    print(markdown(out))
    return 0


def disagreements(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Figures (from the data and the predictions) behind the "where and why" section."""
    def get(fam: str, tpus: int, size: int) -> dict[str, Any] | None:
        return next((r for r in rows if (r["family"], r["tpus"], r["size"]) == (fam, tpus, size)),
                    None)

    def err(r: dict[str, Any]) -> float:
        return 100 * (r["predicted_ms"] - r["measured_ms"]) / r["measured_ms"]

    out: dict[str, Any] = {}
    heavy = [r for r in rows if r["family"] == "conv" and r["tpus"] == 1 and r["size"] >= 642]
    light = [r for r in rows if r["family"] == "conv" and r["tpus"] == 1
             and 452 <= r["size"] <= 632]
    if heavy and light:
        out["conv_1tpu_3_streamed_layers_mean_error_pct"] = float(np.mean([err(r) for r in heavy]))
        out["conv_1tpu_1_2_streamed_layers_mean_error_pct"] = float(np.mean([err(r)
                                                                            for r in light]))
    for size in (32, 392):
        r3, r4 = get("conv", 3, size), get("conv", 4, size)
        if r3 and r4:
            out[f"conv_F{size}_3tpu_vs_4tpu_measured_ms"] = [r3["measured_ms"], r4["measured_ms"]]
            out[f"conv_F{size}_3tpu_vs_4tpu_predicted_ms"] = [r3["predicted_ms"],
                                                               r4["predicted_ms"]]
    heavy_pipe = [r for r in rows if r["family"] == "conv" and r["tpus"] > 1 and r["size"] >= 602]
    if heavy_pipe:
        out["conv_pipelines_F602plus_mean_error_pct"] = float(np.mean([err(r)
                                                                      for r in heavy_pipe]))
    return out


def _sweep_plot(sweeps: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, (name, s) in enumerate(sweeps.items()):
        ax.plot(s["batches"], s["measured_ms"], "-o", ms=3, color=f"C{k}", label=f"{name} meas.")
        ax.plot(s["batches"], s["predicted_ms"], "--", color=f"C{k}", label="predicted")
    ax.set_xlabel("batch size")
    ax.set_ylabel("time per inference (ms)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(r: dict[str, Any]) -> str:
    c = r["caching"]
    s = r["single"]
    p = r["pipelines"]
    lines = [
        "# Edge TPU performance model vs real measurements",
        "",
        f"Data: `{r['data']}`. Profile: shipped `edgetpu-usb3`. "
        f"{'QUICK run (every third row). ' if r['quick'] else ''}"
        f"Reproduce: `python benchmarks/edgetpu_model/run.py` ({r['seconds']:.0f} s).",
        "",
        "## 1. Caching model (target: >= 95% of figures within 0.05 MiB)",
        "",
        f"- {c['matched']} / {c['figures']} compiler on/off-chip figures within 0.05 MiB "
        f"({100 * c['share']:.1f}%); worst error {c['worst_mib']:.4f} MiB ({c['worst_where']}).",
        f"- Capacity rule refitted from scratch: base {c['refit']['base_mib']} MiB, in_coef "
        f"{c['refit']['in_coef']}, out_coef {c['refit']['out_coef']} "
        f"({c['refit']['matched']} / {c['refit']['figures']}).",
        f"- Best constant capacity (no activation term) matches only "
        f"{c['constant_capacity_best'][0]} / {c['figures']} (at "
        f"{c['constant_capacity_best'][1]:.2f} MiB): mid-model conv segments, whose 2 MiB input "
        f"and output activations cross the link, hold less than the first segment.",
        "",
        "## 2. Single TPU (target: MAPE <= 10% over both sweeps, cliffs at the right size)",
        "",
        "| file | MAPE % | first spill measured | first spill predicted |",
        "|---|---|---|---|",
    ]
    for fam in ("conv", "fc"):
        lines.append(f"| {fam}_1tpu.csv | {s[fam]['mape']:.1f} | {s[fam]['measured_first_spill']}"
                     f" | {s[fam]['predicted_first_spill']} |")
    lines += [f"| both | {s['both']['mape']:.1f} | | |", "",
              "Cross-validation (MAPE % on the held-out rows):", ""]
    lines += [f"- {k}: {v:.1f}" for k, v in s["cv"].items()]
    lines += ["", "Fitting on one family cannot learn the other family's op-type parameters "
              "(the conv data has no FULLY_CONNECTED layer and vice versa): the held-out family is "
              "costed like the seen one (same ms per GMAC and per streamed MiB). Those two "
              "numbers measure how much op types differ (the reason the model has per-type "
              "terms), not fit noise; the split by sizes is the real cross-validation.", "",
              "## 3. Pipelines (target: MAPE <= 15% per split file)", "",
              f"fc pipelines ran in a Python thread-and-queue pipeline: per-stage host cost "
              f"{p['fc_host_ms_fitted_on_fc_2tpu']:.2f} ms, serialised (GIL), fitted on "
              f"fc_2tpu only.", "",
              "| file | rows | MAPE % | worst row (size, error %) |", "|---|---|---|---|"]
    for k, v in p.items():
        if isinstance(v, dict) and "mape" in v:
            lines.append(f"| {k} | {v['rows']} | {v['mape']:.1f} | {v['worst_size']}, "
                         f"{v['worst_error_pct']:+.1f} |")
    lines += ["", "Batch sweeps (conv F=672, compiler split, Coral runner):", ""]
    for k, v in p["sweeps"].items():
        lines.append(f"- {k}: MAPE {v['mape']:.1f}%")
    dis = r["disagreements"]
    lines += ["", "## Where the model and the data disagree, and why", ""]
    if "conv_1tpu_3_streamed_layers_mean_error_pct" in dis:
        lines.append(
            f"- **conv on one TPU, F >= 642** (three layers streamed): mean error "
            f"{dis['conv_1tpu_3_streamed_layers_mean_error_pct']:+.1f}% vs "
            f"{dis['conv_1tpu_1_2_streamed_layers_mean_error_pct']:+.1f}% for F = 452..632 "
            f"(one or two layers streamed). The data implies about 8 ms per streamed MiB of conv "
            f"weights in the second regime and about 13 ms/MiB in the first; one linear "
            f"streaming term per op type must compromise. A per-byte cost that depends on how "
            f"the compiler tiles a streamed layer would be needed; with two regimes in the "
            f"data it cannot be identified.")
    if "conv_F392_3tpu_vs_4tpu_measured_ms" in dis:
        m3, m4 = dis["conv_F392_3tpu_vs_4tpu_measured_ms"]
        q3, q4 = dis["conv_F392_3tpu_vs_4tpu_predicted_ms"]
        lines.append(
            f"- **conv pipelines, small and medium F**: the compiler gives the 3- and 4-TPU "
            f"splits the *same* last segment (conv4+conv5, same input and output), yet at "
            f"F=392 3 TPUs measure {m3:.1f} ms and 4 TPUs {m4:.1f} ms (predicted {q3:.1f} and "
            f"{q4:.1f}). No model in which a stage's time depends only on the stage can fit "
            f"both; the 4-TPU file is consistently faster than its last stage allows (host "
            f"threads, USB topology or the runner's queues are not in the data). The link "
            f"terms are therefore a compromise between the 2-, 3- and 4-TPU files.")
    if "conv_pipelines_F602plus_mean_error_pct" in dis:
        lines.append(
            f"- **conv pipelines that stream (F >= 602)**: mean error "
            f"{dis['conv_pipelines_F602plus_mean_error_pct']:+.1f}%. A segment that receives a "
            f"2.3+ MiB activation from the host *and* streams weights is slower per streamed "
            f"MiB than the single-TPU fit says (the batch sweeps at F=672 show the same): the "
            f"input activation and the streamed weights compete for on-chip buffer space.")
    lines += ["", "Plots: `edgetpu_model_conv.png`, `edgetpu_model_fc.png` (predicted dashed, "
              "measured solid, one colour per TPU count), `edgetpu_model_sweep.png`, "
              "`edgetpu_model_gantt.png`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
