"""Strategies benchmark: every strategy on the Edge TPU model, conv/fc sweeps and the zoo.

Usage: python benchmarks/strategies/run.py [--device edgetpu-usb3] [--batch 15]
       [--models ResNet50,InceptionV3] [--quick]      (or ``tpusplit bench strategies``)

For the conv family (every F of conv_1tpu.csv) on 1-4 TPUs (the model has 6 ops: 8 TPUs are
impossible), the fc family (every N of fc_1tpu.csv) on 1-4 and 8 TPUs, and every zoo model
that is built on 1, 2, 4 and 8 TPUs: compiler, profiled, balanced, optimal (and predicted /
hybrid when a predictor for the device exists). Each strategy starts with an empty cost cache,
so its evaluation count is what it needed alone. Per row: bottleneck, time per inference
(simulated pipeline, batch 15), speed-up against 1 TPU and against ``compiler``, MiB streamed,
evaluations, solve time. Checks on every row: optimal's bottleneck <= every other strategy's;
balanced streams no more than compiler. Also the real measured speed-ups of the compiler split
(conv) and the even split (fc) from data/edgetpu-measurements, next to the model's.

Writes benchmarks/results/strategies.{md,json} and strategies_{conv,fc,zoo,solve}.png
(``strategies_<device>.*`` for another device).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from tpusplit.calibration.measurements import measurements_dir
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models import zoo
from tpusplit.models.synthetic import conv, fc
from tpusplit.report.plan import speedup_plot
from tpusplit.sim import simulate
from tpusplit.strategies import plan
from tpusplit.strategies.base import rebatch
from tpusplit.units import MiB

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
DATA = measurements_dir()
CORE = ["compiler", "profiled", "balanced", "optimal"]
#: Host work per stage and input of a Python thread-and-queue pipeline (fc files' README).

OPTIONAL = ["predicted", "hybrid"]
ZOO = ["MobileNetV1", "MobileNetV2", "EfficientNetB0", "NASNetMobile", "ResNet50", "ResNet101",
       "ResNet152", "InceptionV3", "Xception", "DenseNet121", "InceptionResNetV2", "VGG16"]


def sizes(family: str) -> list[int]:
    """F (conv) or N (fc) of the measured single-TPU file, or a fixed sweep without data."""
    path = DATA / f"{family}_1tpu.csv"
    if path.exists():
        with path.open() as fh:
            return [int(r[0]) for r in list(csv.reader(fh))[1:] if r]
    return list(range(32, 703, 10)) if family == "conv" else list(range(100, 2621, 40))


def measured(family: str, tpus: int) -> dict[int, float]:
    """Measured time per inference by size: 1 TPU, or the compiler (conv)/even (fc) split."""
    if tpus == 1:
        path = DATA / f"{family}_1tpu.csv"
    else:
        kind = "compiler" if family == "conv" else "even"
        path = DATA / f"{family}_{tpus}tpu_{kind}_split.csv"
    if not path.exists():
        return {}
    with path.open() as fh:
        return {int(r[0]): float(r[-1]) for r in list(csv.reader(fh))[1:] if r}


def bench(name: str, data: Any, tpus: list[int], device: str, batch: int,
          strategies: list[str]) -> list[dict[str, Any]]:
    """Rows for one model: every strategy on every N."""
    graph = load(data, name=name)
    cost = EdgeTPUCost(graph, device)  # the profile's Python runner: its host time per stage
    bare = EdgeTPUCost(graph, device, runner="none")  # as tpusplit 0.2 reported: none
    single = rebatch(plan(graph, 1, cost, "compiler", fresh=True), cost, batch)
    single_bare = simulate(bare, [], batch)
    rows = []
    for n in tpus:
        if n > len(graph.ops):
            continue
        plans = {}
        for s in strategies:
            try:
                plans[s] = rebatch(plan(graph, n, cost, s, fresh=True), cost, batch)
            except TpusplitError as exc:
                plans[s] = None
                if s not in OPTIONAL:
                    print(f"  {name} N={n} {s}: {exc}", file=sys.stderr)
        comp = plans.get("compiler")
        opt = plans["optimal"]
        assert opt is not None
        for s, p in plans.items():
            if p is None:
                continue
            rows.append({
                "model": name, "ops": len(graph.ops), "tpus": n, "strategy": s,
                "cuts": list(p.cuts), "bottleneck_ms": p.bottleneck_ms,
                "time_per_inference_ms": p.time_per_inference_ms,
                "throughput_ips": p.throughput_ips,
                "speedup_vs_1": single.time_per_inference_ms / p.time_per_inference_ms,
                "speedup_vs_1_no_host": single_bare.time_per_inference_ms / simulate(
                    bare, list(p.cuts), batch).time_per_inference_ms,
                "speedup_vs_compiler": (comp.time_per_inference_ms / p.time_per_inference_ms
                                        if comp is not None else None),
                "streamed_mib": p.streamed_bytes / MiB,
                "evaluations": p.cost_evaluations, "solve_s": p.solve_seconds,
                "lower_bound_ms": p.lower_bound_ms,
                "optimal_le": opt.bottleneck_ms <= p.bottleneck_ms * (1 + 1e-12),
                "streams_le_compiler": (p.streamed_bytes <= comp.streamed_bytes
                                        if comp is not None else None),
            })
    return rows


def predictor_available(device: str) -> bool:
    """Whether predicted/hybrid can run (a trained predictor for ``device`` exists)."""
    try:
        from tpusplit.predictor import find_predictor

        find_predictor(device)
        return True
    except (ImportError, TpusplitError):
        return False


def _best(rows: list[dict[str, Any]], family: str, tpus: int, strategy: str, key: str
          ) -> tuple[float, str]:
    sel = [r for r in rows if r["family"] == family and r["tpus"] == tpus
           and r["strategy"] == strategy and r[key] is not None]
    if not sel:
        return float("nan"), "-"
    r = max(sel, key=lambda r: r[key])
    return r[key], r["model"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="edgetpu-usb3")
    p.add_argument("--batch", type=int, default=15)
    p.add_argument("--models", default=",".join(ZOO), help="Zoo models (comma-separated).")
    p.add_argument("--quick", action="store_true", help="Every 4th conv/fc size only.")
    args = p.parse_args(argv)
    strategies = CORE + ([s for s in OPTIONAL] if predictor_available(args.device) else [])
    t_start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    step = 4 if args.quick else 1
    for family, make, tpus in (("conv", conv, [2, 3, 4]), ("fc", fc, [2, 3, 4, 8])):
        for size in sizes(family)[::step]:
            for r in bench(f"{family}{size}", make(size), tpus, args.device, args.batch,
                           strategies):
                rows.append({"family": family, "size": size, **r})
        print(f"{family}: done", file=sys.stderr)
    for name in [m for m in args.models.split(",") if m]:
        try:
            path = zoo.zoo_path(name)
        except TpusplitError as exc:
            skipped.append(f"{name}: {exc}")
            continue
        t0 = time.perf_counter()
        for r in bench(name, path, [2, 4, 8], args.device, args.batch, strategies):
            rows.append({"family": "zoo", "size": None, **r})
        print(f"{name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    total = time.perf_counter() - t_start

    violations_opt = [r for r in rows if not r["optimal_le"]]
    violations_stream = [r for r in rows if r["strategy"] == "balanced"
                         and r["streams_le_compiler"] is False]
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "strategies" if args.device == "edgetpu-usb3" else f"strategies_{args.device}"
    meta = {"stem": stem, "device": args.device, "batch": args.batch, "strategies": strategies,
            "python": platform.python_version(), "machine": platform.machine(),
            "seconds": total, "skipped": skipped, "rows": len(rows),
            "violations": {"optimal_not_best": len(violations_opt),
                           "balanced_streams_more_than_compiler": len(violations_stream)}}
    (RESULTS / f"{stem}.json").write_text(json.dumps({"meta": meta, "rows": rows},
                                                        indent=1))
    write_markdown(rows, meta, strategies)
    plots(rows, strategies, stem)
    print(f"wrote {RESULTS / (stem + '.md')} ({len(rows)} rows, {total:.0f} s); violations: "
          f"{meta['violations']}")
    return 0 if not violations_opt and not violations_stream else 1


def write_markdown(rows: list[dict[str, Any]], meta: dict[str, Any],
                   strategies: list[str]) -> None:
    """benchmarks/results/strategies.md."""
    out = ["# Strategies benchmark", "",
           f"Cost source: the analytic Edge TPU model, profile `{meta['device']}`; time per "
           f"inference from the pipeline simulator with a batch of {meta['batch']} "
           "(PipelinedModelRunner semantics). Every strategy starts with an empty cost cache. "
           f"Reproduce: `python benchmarks/strategies/run.py` ({meta['seconds']:.0f} s here, "
           f"Python {meta['python']}, {meta['machine']}).", "",
           f"Rows: {meta['rows']}. Checks on every row: optimal's bottleneck <= every other "
           f"strategy's: **{meta['violations']['optimal_not_best']} violations**; balanced "
           "streams no more than compiler: "
           f"**{meta['violations']['balanced_streams_more_than_compiler']} violations**.", ""]
    if meta["skipped"]:
        out += ["Skipped: " + "; ".join(meta["skipped"]), ""]
    if not any(s in strategies for s in OPTIONAL):
        out += ["`predicted` and `hybrid` are not in the tables: no trained predictor for this "
                "device was found.", ""]
    out += ["## Best speed-ups (model figures)", "",
            "| family | TPUs | strategy | max x 1 TPU (model) | max x 1 TPU, no runner host "
            "time (as tpusplit 0.2 printed) | max x compiler (model) |",
            "|---|---|---|---|---|---|"]
    for fam, tp in (("conv", 4), ("fc", 4), ("fc", 8), ("zoo", 8)):
        for s in strategies:
            v1, m1 = _best(rows, fam, tp, s, "speedup_vs_1")
            vh, mh = _best(rows, fam, tp, s, "speedup_vs_1_no_host")
            vc, mc = _best(rows, fam, tp, s, "speedup_vs_compiler")
            out.append(f"| {fam} | {tp} | {s} | {v1:.2f}x ({m1}) | {vh:.2f}x ({mh}) | "
                       f"{vc:.2f}x ({mc}) |")
    out += ["", "Published (Villarrubia et al., real hardware): up to about 6x (conv) and 46x "
            "(fc) on 4 TPUs against 1 TPU with profiled segmentation; Segm_Balanced up to "
            "2.60x against the compiler split (8 TPUs, PCIe, batch 15).", ""]
    out += measured_section(rows)
    out += notes(rows, strategies)
    out += ["## Zoo models", "",
            "| model | ops | TPUs | strategy | bottleneck ms | time/inf ms | x 1 TPU | "
            "x compiler | streamed MiB | evaluations | solve s |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["family"] != "zoo":
            continue
        vc = r["speedup_vs_compiler"]
        out.append(f"| {r['model']} | {r['ops']} | {r['tpus']} | {r['strategy']} | "
                   f"{r['bottleneck_ms']:.3f} | {r['time_per_inference_ms']:.3f} | "
                   f"{r['speedup_vs_1']:.2f}x | {'-' if vc is None else f'{vc:.2f}x'} | "
                   f"{r['streamed_mib']:.2f} | {r['evaluations']} | {r['solve_s']:.3f} |")
    out += ["", "## Solving effort (all rows)", "",
            "| strategy | rows | mean evaluations | max evaluations | mean solve s | "
            "max solve s |", "|---|---|---|---|---|---|"]
    for s in strategies:
        sel = [r for r in rows if r["strategy"] == s]
        if sel:
            ev = [r["evaluations"] for r in sel]
            st = [r["solve_s"] for r in sel]
            out.append(f"| {s} | {len(sel)} | {sum(ev) / len(ev):.0f} | {max(ev)} | "
                       f"{sum(st) / len(st):.4f} | {max(st):.3f} |")
    r152 = [r for r in rows if r["model"] == "ResNet152" and r["tpus"] == 8]
    if r152:
        out += ["", "ResNet152 onto 8 TPUs: " + "; ".join(
            f"{r['strategy']} {r['solve_s']:.3f} s, {r['evaluations']} evaluations, "
            f"bottleneck {r['bottleneck_ms']:.3f} ms" for r in r152) + "."]
    stem = meta["stem"]
    out += ["", "## Sweeps", ""] + [f"![{k}]({stem}_{k}.png)\n" for k in
                                    ("conv", "fc", "zoo", "solve")]
    (RESULTS / f"{meta['stem']}.md").write_text("\n".join(out))


def notes(rows: list[dict[str, Any]], strategies: list[str]) -> list[str]:
    """What the figures mean, with the numbers that explain the gaps to the published ones."""
    by_case: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    for r in rows:
        by_case.setdefault((r["model"], r["tpus"]), {})[r["strategy"]] = r
    beaten = []
    for case in by_case.values():
        opt = case.get("optimal")
        if opt is None:
            continue
        best = min(case.values(), key=lambda r: r["time_per_inference_ms"])
        if best["time_per_inference_ms"] < opt["time_per_inference_ms"] * (1 - 1e-9):
            beaten.append(opt["time_per_inference_ms"] / best["time_per_inference_ms"] - 1)
    conv_opt, conv_m = _best(rows, "conv", 4, "optimal", "speedup_vs_1")
    fc_opt, fc_m = _best(rows, "fc", 4, "optimal", "speedup_vs_1")
    fc_bare, _ = _best(rows, "fc", 4, "optimal", "speedup_vs_1_no_host")
    zoo_c = {s: _best(rows, "zoo", 8, s, "speedup_vs_compiler") for s in strategies}
    return [
        "## Reading the figures", "",
        "- `optimal` minimises the bottleneck (steady-state throughput) exactly; the time per "
        "inference at batch 15 also pays the pipeline fill (sum of stage latencies / 15), so "
        f"in {len(beaten)} of {len(by_case)} (model, N) cases another strategy has a lower "
        f"time per inference (by at most {max(beaten, default=0):.1%}) with a higher "
        "bottleneck.",
        f"- conv, 4 TPUs: the model gives at most {conv_opt:.2f}x ({conv_m}) against 1 TPU; "
        "the published profiled figure is about 6x. The model charges every cut the crossing "
        "activation (64x64xF int8, 2.6 MiB at F = 672) over the link, plus its host-side "
        "handling, both fitted on the measured pipelines; its compiler-split speed-ups stay "
        "close to the measured ones (table above: real hardware never exceeds 1.9x with the "
        "compiler's cuts). Once the best split removes all streaming, each 1-layer stage "
        "still pays tens of ms of boundary copies, so 6x would need far cheaper copies than "
        "these measurements show; we cannot check it without hardware.",
        f"- fc, 4 TPUs: the model now charges every stage the Python runner's host time "
        f"(profile python_stage_ms, serialised by the GIL, as the measured fc pipelines show) "
        f"and gives at most {fc_opt:.1f}x ({fc_m}); without it, as tpusplit 0.2 printed, "
        f"{fc_bare:.0f}x. The measured even split reaches 35.9x and the published profiled "
        "figure is about 46x.",
        "- What changed with the Edge TPU model v3: (1) plans and simulations charge the "
        "pipeline runner's host time per stage by default, so more stages are never free "
        "(the fc family's 100-290x became the figures above); (2) a stage that streams "
        "weights pays more reads when its activations and its own input and output overflow "
        "the on-chip memory, so the compiler's split of the conv family, whose last stage "
        "streams, is dearer and `optimal`'s gain over it larger; (3) depthwise passes are "
        "priced (the clock sweep identifies them) and x86 hosts pay a fixed cost per invoke "
        "from the x86 hosts with small models.",
        "- What changed with the Edge TPU model v2 (tpusplit 0.1 gave 2.78x for conv, 158x for "
        "fc, 24.8x for ResNet152 on 8 TPUs against one, 2.06x against the compiler split): v1 "
        "charged streamed convolution weights about 10 ms/MiB everywhere, fitted on 64x64 "
        "layers that re-read their weights; deep layers of real CNNs read them once at the "
        "link rate (about 2 ms/MiB on Coral's USB 3 host). One TPU running a big real CNN is "
        "therefore 2-4x faster than v1 said, and splitting it to stop the streaming gains "
        "less: ResNet152 on 8 TPUs is now about 11x one TPU. v1 also over-charged small "
        "activations (its element-wise and activation-write guesses), so cheap MobileNets "
        "looked splittable; v2 says a stage of a MobileNet costs about as much as the whole "
        "model on one TPU (input copy and invoke dominate), and splitting one gains at most "
        "about 1.1x. The 64x64 conv family goes the other way (3.1x, re-reads made its streaming "
        "dearer).",
        "- Against the compiler split (zoo, 8 TPUs): " + ", ".join(
            f"{s} up to {v:.2f}x ({m})" for s, (v, m) in zoo_c.items() if s != "compiler")
        + "; the published Segm_Balanced figure is up to 2.60x (real PCIe board, its own "
        "models). Our `balanced` follows the paper's steps but refuses any streaming when "
        "the caches allow it; under this model a little streaming is sometimes cheaper than "
        "the extra boundary copies, which `optimal` and `profiled` exploit.",
        "- `profiled` is Coral's algorithm on the model: its longest-first search evaluates "
        "most segments on large models (each a compile + benchmark on real hardware). "
        "`optimal` is never worse; on large models it needs fewer evaluations than "
        "`profiled` thanks to the model's lower bound, on small ones more (it proves "
        "optimality): see the effort table.", ""]


def measured_section(rows: list[dict[str, Any]]) -> list[str]:
    """Real measured speed-ups (compiler split for conv, even split for fc) next to the
    model's prediction for the same split (compiler rows; fc: not the same split)."""
    out = ["## Real hardware vs the model (compiler split)", "",
           "| family | TPUs | measured max x 1 TPU (size) | model compiler max x 1 TPU (size) |",
           "|---|---|---|---|"]
    for fam in ("conv", "fc"):
        one = measured(fam, 1)
        for tp in (2, 3, 4):
            multi = measured(fam, tp)
            common = [k for k in multi if k in one]
            if not common:
                continue
            k = max(common, key=lambda k: one[k] / multi[k])
            vm, mm = _best(rows, fam, tp, "compiler", "speedup_vs_1")
            what = "compiler split" if fam == "conv" else "even split"
            out.append(f"| {fam} | {tp} | {one[k] / multi[k]:.2f}x ({what}, {k}) | "
                       f"{vm:.2f}x ({mm}) |")
    return [*out, ""]


def plots(rows: list[dict[str, Any]], strategies: list[str], stem: str) -> None:
    """Speed-up sweeps (conv, fc at 4 TPUs), zoo speed-ups at 8 TPUs, solve time vs ops."""
    for fam in ("conv", "fc"):
        series: dict[str, tuple[list[float], list[float]]] = {}
        for s in strategies:
            sel = [r for r in rows if r["family"] == fam and r["tpus"] == 4
                   and r["strategy"] == s]
            series[f"{s} (model)"] = ([r["size"] for r in sel], [r["speedup_vs_1"] for r in sel])
        one, four = measured(fam, 1), measured(fam, 4)
        ks = sorted(k for k in four if k in one)
        if ks:
            label = "compiler split (measured)" if fam == "conv" else "even split (measured)"
            series[label] = (ks, [one[k] / four[k] for k in ks])
        speedup_plot(series, RESULTS / f"{stem}_{fam}.png",
                     f"{fam} family on 4 Edge TPUs: speed-up against 1 TPU",
                     "F (filters)" if fam == "conv" else "N (neurons)", "x 1 TPU",
                     logy=fam == "fc")
    models = sorted({r["model"] for r in rows if r["family"] == "zoo"})
    if models:
        series = {}
        for s in strategies:
            vals = []
            for m in models:
                sel = [r for r in rows if r["model"] == m and r["tpus"] == 8
                       and r["strategy"] == s]
                vals.append(sel[0]["speedup_vs_compiler"] if sel and
                            sel[0]["speedup_vs_compiler"] is not None else float("nan"))
            series[s] = (list(range(len(models))), vals)
        speedup_plot(series, RESULTS / f"{stem}_zoo.png",
                     "Zoo on 8 Edge TPUs: speed-up against the compiler split (model)",
                     "", "x compiler", xticks=models)
        series = {}
        for s in strategies:
            sel = sorted((r for r in rows if r["family"] == "zoo" and r["strategy"] == s
                          and r["tpus"] == 8), key=lambda r: r["ops"])
            series[s] = ([r["ops"] for r in sel], [max(r["solve_s"], 1e-5) for r in sel])
        speedup_plot(series, RESULTS / f"{stem}_solve.png",
                     "Solve time on 8 TPUs (zoo, Edge TPU model)", "ops", "seconds", logy=True)


if __name__ == "__main__":
    sys.exit(main())
