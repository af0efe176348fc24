"""Predictor benchmark: learned segment latency vs profiling, on held-out NASBench-101 models.

Usage: python benchmarks/predictor/run.py [--models 120] [--train-models 300] [--quick]
       (or ``tpusplit bench predictor``); run it under ``flock /tmp/tpusplit-heavy.lock``.

1. Training set: ``--train-models`` generated models (NASBench-101-space networks at a
   32x32 input with a 32-channel stem, every 10th a synthetic conv/fc model), 20 random
   segments each, labelled by the real CPU profiler (LiteRT, 1 thread). Test set: the
   ``--models`` held-out NASBench-101-space models (seeds from 100000, never in training), 10
   labelled segments each. Datasets are cached under ``--cache``.
2. Predictors: ``gbt`` (scikit-learn) and ``transformer`` (PyTorch, when installed), trained
   on the training set; accuracy (RMSE, RMSPE, share within +-10%) on the held-out segments.
3. Partitioning on this CPU, 2 stages, per held-out model: ``profiled`` (Coral's algorithm on
   the profiler), ``optimal`` on the profiler, ``predicted`` and ``hybrid`` per predictor.
   For each: profiling runs (distinct segments measured), solving time (wall, measurement
   included), and the TRUE bottleneck: every plan's segments measured by one shared profiler
   per model (so identical segments get identical figures).
4. More stages on the Edge TPU cost model (when installed): the same strategies with the model
   as the "device" (profiling runs are model evaluations there; solve times are not
   comparable to real profiling and are reported only for completeness).

Writes benchmarks/results/predictor.{md,json} and predictor_scatter.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.costs.base import CostSource
from tpusplit.graph import Graph, load
from tpusplit.partition import bottleneck
from tpusplit.predictor import Predictor, evaluate, predictor_class
from tpusplit.predictor.dataset import (
    Dataset,
    build_model,
    collect,
    model_specs,
)
from tpusplit.profiling.sources import cost_factory
from tpusplit.strategies.hybrid import plan_hybrid
from tpusplit.strategies.predicted import plan_predicted

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
TEST_SEED = 100_000


def strategy(name: str) -> Callable[[Graph, int, CostSource], Any]:
    """A registered strategy (``tpusplit.strategies.get``), else its module's function."""
    try:
        get = import_module("tpusplit.strategies").get
        return get(name)  # type: ignore[no-any-return]
    except (ImportError, AttributeError):
        return getattr(import_module(f"tpusplit.strategies.{name}"), name)  # type: ignore[no-any-return]


def dataset(path: Path, specs: list[str], device: str, segments: int, seed: int,
            log: Callable[[str], None]) -> Dataset:
    """Load the cached dataset at ``path`` or collect (and cache) it."""
    if path.is_file():
        log(f"reuse {path}")
        return Dataset.load(path)
    log(f"collect {len(specs)} models x {segments} segments on {device} -> {path}")
    t0 = time.perf_counter()
    done = [0]

    def progress(k: int) -> None:
        if k % 20 == 0 or k == len(specs):
            log(f"  {k}/{len(specs)} models, {time.perf_counter() - t0:.0f} s")
        done[0] = k

    data = collect(specs, cost_factory(device), segments_per_model=segments, seed=seed,
                   progress=progress)
    path.parent.mkdir(parents=True, exist_ok=True)
    data.save(path)
    log(f"  {len(data)} segments in {time.perf_counter() - t0:.0f} s")
    return data


def train(kinds: list[str], data: Dataset, epochs: int, log: Callable[[str], None]
          ) -> dict[str, tuple[Predictor, float]]:
    """Train every available predictor kind; returns kind -> (predictor, seconds)."""
    out = {}
    for kind in kinds:
        try:
            cls = predictor_class(kind)
        except Exception as exc:  # an optional dependency is missing: say so, go on
            log(f"skip {kind}: {exc}")
            continue
        t0 = time.perf_counter()
        pred = cls(**({"epochs": epochs} if kind == "transformer" else {}))
        pred.fit(data)
        out[kind] = (pred, time.perf_counter() - t0)
        log(f"trained {kind} on {len(data)} segments in {out[kind][1]:.1f} s")
    return out


def partition_rows(graph: Graph, spec: str, stages: int, make: Callable[[Graph], CostSource],
                   predictors: dict[str, tuple[Predictor, float]],
                   threshold_ms: float | None = None) -> list[dict[str, Any]]:
    """Every strategy on one model; true bottleneck from one shared truth source.

    ``threshold_ms`` overrides ``profiled``'s bisection threshold (libcoral: 1 ms).
    """
    truth = make(graph)
    n = len(graph.ops)
    rows = []

    def add(name: str, cuts: tuple[int, ...], runs: int, seconds: float) -> None:
        true = bottleneck(n, cuts, truth.latency)
        rows.append({"model": spec, "ops": n, "stages": stages, "strategy": name,
                     "cuts": list(cuts), "profiling_runs": runs, "solve_seconds": seconds,
                     "true_bottleneck_ms": true})

    for name in ("profiled", "optimal"):
        cost = make(graph)
        t0 = time.perf_counter()
        if name == "profiled" and threshold_ms is not None:
            plan = strategy(name)(graph, stages, cost, diff_threshold_ms=threshold_ms)
        else:
            plan = strategy(name)(graph, stages, cost)
        add(name, tuple(plan.cuts), cost.evaluations, time.perf_counter() - t0)
    for kind, (pred, _) in predictors.items():
        t0 = time.perf_counter()
        p = plan_predicted(graph, stages, pred)
        add(f"predicted-{kind}", p.cuts, 0, time.perf_counter() - t0)
        cost = make(graph)
        t0 = time.perf_counter()
        h = plan_hybrid(graph, stages, pred, cost)
        add(f"hybrid-{kind}", h.cuts, cost.evaluations, time.perf_counter() - t0)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (device, stages, strategy): totals and ratios against ``profiled``."""
    out = []
    keys = sorted({(r["device"], r["stages"]) for r in rows})
    for device, stages in keys:
        sub = [r for r in rows if r["device"] == device and r["stages"] == stages]
        base = {r["model"]: r for r in sub if r["strategy"] == "profiled"}
        best = {r["model"]: r for r in sub if r["strategy"] == "optimal"}
        names = list(dict.fromkeys(r["strategy"] for r in sub))
        for name in names:
            rs = [r for r in sub if r["strategy"] == name and r["model"] in base]
            if not rs:
                continue
            ratio = np.array([r["true_bottleneck_ms"] / base[r["model"]]["true_bottleneck_ms"]
                              for r in rs])
            vs_opt = np.array([r["true_bottleneck_ms"] / best[r["model"]]["true_bottleneck_ms"]
                               for r in rs if r["model"] in best])
            runs = np.array([r["profiling_runs"] for r in rs], dtype=float)
            base_runs = np.array([base[r["model"]]["profiling_runs"] for r in rs], dtype=float)
            secs = sum(r["solve_seconds"] for r in rs)
            base_secs = sum(base[r["model"]]["solve_seconds"] for r in rs)
            out.append({
                "device": device, "stages": stages, "strategy": name, "models": len(rs),
                "solve_seconds_total": secs,
                "speedup_vs_profiled": base_secs / secs if secs > 0 else math.inf,
                "solve_time_reduction": 1 - secs / base_secs if base_secs > 0 else 0.0,
                "profiling_runs_mean": float(runs.mean()),
                "runs_share_of_profiled": float(runs.sum() / max(base_runs.sum(), 1)),
                "bottleneck_ratio_geomean": float(np.exp(np.mean(np.log(ratio)))),
                "bottleneck_ratio_median": float(np.median(ratio)),
                "bottleneck_ratio_max": float(ratio.max()),
                "share_within_2pct": float(np.mean(ratio <= 1.02)),
                "share_within_5pct": float(np.mean(ratio <= 1.05)),
                "vs_optimal_geomean": (float(np.exp(np.mean(np.log(vs_opt))))
                                       if len(vs_opt) else math.nan),
            })
    return out


def scatter(path: Path, curves: dict[str, tuple[np.ndarray, np.ndarray]]) -> bool:
    """Predicted vs measured latency per predictor (log-log); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4.5), squeeze=False)
    for ax, (kind, (pred, true)) in zip(axes[0], curves.items(), strict=True):
        ax.loglog(true, pred, ".", ms=3, alpha=0.5)
        lo, hi = float(min(true.min(), pred.min())), float(max(true.max(), pred.max()))
        xs = np.array([lo, hi])
        ax.plot(xs, xs, "k-", lw=0.8)
        ax.fill_between(xs, xs * 0.9, xs * 1.1, color="k", alpha=0.1, label="±10%")
        ax.set_xlabel("measured latency (ms)")
        ax.set_ylabel("predicted latency (ms)")
        ax.set_title(f"{kind}: held-out models")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _fmt_pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def write_markdown(path: Path, meta: dict[str, Any], accuracy: list[dict[str, Any]],
                   summary: list[dict[str, Any]], plot: str | None) -> None:
    lines = [
        "# Learned segment-latency predictor vs profiling",
        "",
        f"Machine: {meta['machine']}. Command: `{meta['command']}`. "
        f"Wall time {meta['wall_seconds']:.0f} s.",
        "",
        f"Models: NASBench-101 space (notes §4) at a {meta['scale']}. Training: "
        f"{meta['train_models']} models ({meta['train_segments']} labelled segments, every "
        f"10th model a synthetic conv/fc one); held-out: {meta['test_models']} models never "
        f"seen in training ({meta['test_segments']} labelled segments). CPU labels and true "
        "bottlenecks: the real profiler (LiteRT, 1 thread, >= 15 runs and >= 20 ms per "
        "segment), reporting the 10th percentile of the runs (device `cpu-p10`): on 2 shared "
        "cores the median moves with other processes' load.",
        "",
        "## Accuracy on held-out models (CPU)",
        "",
        "| predictor | segments | RMSE (ms) | RMSPE | MAPE | within ±10% | within ±5% | "
        "train s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in accuracy:
        lines.append(f"| {a['predictor']} | {a['count']} | {a['rmse_ms']:.4f} | "
                     f"{_fmt_pct(a['rmspe'])} | {_fmt_pct(a['mape'])} | "
                     f"{_fmt_pct(a['within_10'])} | {_fmt_pct(a['within_5'])} | "
                     f"{a['train_seconds']:.1f} |")
    if "label_repeatability_within_10" in meta:
        lines += ["", f"Measurement noise bound: re-measuring {meta['label_repeat_count']} "
                  "held-out segments with a fresh profiler agrees with the first measurement "
                  f"within ±10% for {_fmt_pct(meta['label_repeatability_within_10'])} of them."]
    if plot:
        lines += ["", f"![predicted vs measured]({plot})"]
    lines += [
        "",
        "## Partitioning",
        "",
        "Ratios are against `profiled` on the same model: bottleneck = true (measured) "
        "bottleneck of the strategy's plan / that of `profiled`'s plan (below 1: better); "
        "'within 2%' = share of models where it is <= 1.02; runs = profiling runs "
        "(distinct segments measured); solve time includes every measurement.",
        "",
        "| device | stages | strategy | models | solve s (total) | speed-up vs profiled | "
        "solve-time reduction | runs/model | runs vs profiled | bottleneck ratio (geomean) "
        "| median | max | within 2% | within 5% | vs optimal (geomean) |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summary:
        lines.append(
            f"| {s['device']} | {s['stages']} | {s['strategy']} | {s['models']} | "
            f"{s['solve_seconds_total']:.2f} | {s['speedup_vs_profiled']:.1f}x | "
            f"{_fmt_pct(s['solve_time_reduction'])} | {s['profiling_runs_mean']:.1f} | "
            f"{_fmt_pct(s['runs_share_of_profiled'])} | {s['bottleneck_ratio_geomean']:.3f} | "
            f"{s['bottleneck_ratio_median']:.3f} | {s['bottleneck_ratio_max']:.3f} | "
            f"{_fmt_pct(s['share_within_2pct'])} | {_fmt_pct(s['share_within_5pct'])} | "
            f"{s['vs_optimal_geomean']:.3f} |")
    lines += ["", *meta.get("notes", [])]
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=120, help="held-out test models")
    ap.add_argument("--train-models", type=int, default=300)
    ap.add_argument("--segments", type=int, default=20, help="training segments per model")
    ap.add_argument("--test-segments", type=int, default=10)
    ap.add_argument("--kinds", default="gbt,transformer")
    ap.add_argument("--epochs", type=int, default=60, help="Transformer epochs")
    ap.add_argument("--stages", default="2", help="CPU stage counts (measured for real)")
    ap.add_argument("--tpu-stages", default="2,3,4", help="stage counts on the Edge TPU model "
                    "('' to skip)")
    ap.add_argument("--cpu-threshold", type=float, default=0.01, help="profiled's bisection "
                    "threshold on the CPU (ms); libcoral's 1 ms exceeds these models' whole "
                    "latency and would stop the search at once")
    ap.add_argument("--cache", type=Path,
                    default=Path.home() / ".cache" / "tpusplit" / "bench-predictor")
    ap.add_argument("--quick", action="store_true", help="tiny run (8 test, 40 train models, "
                    "gbt only) that writes predictor_quick.{md,json}")
    args = ap.parse_args(argv)
    if args.quick:
        args.models, args.train_models, args.kinds, args.tpu_stages = 8, 40, "gbt", "2"
    prefix = "predictor_quick" if args.quick else "predictor"
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.0f} s] {msg}", file=sys.stderr, flush=True)

    kinds = [k for k in args.kinds.split(",") if k]
    train_specs = model_specs(args.train_models)
    test_specs = model_specs(args.models, first_seed=TEST_SEED, synthetic_every=0)
    assert not set(train_specs) & set(test_specs)
    tag = f"{args.train_models}x{args.segments}"
    train_cpu = dataset(args.cache / f"cpu-p10-train-{tag}.csv", train_specs, "cpu-p10",
                        args.segments, 0, log)
    test_cpu = dataset(args.cache / f"cpu-p10-test-{args.models}x{args.test_segments}.csv",
                       test_specs, "cpu-p10", args.test_segments, 1, log)
    predictors = train(kinds, train_cpu, args.epochs, log)
    accuracy, curves = [], {}
    for kind, (pred, secs) in predictors.items():
        p = pred.predict(test_cpu)
        m = evaluate(p, test_cpu.y)
        accuracy.append({"predictor": kind, "train_seconds": secs, **m.as_dict()})
        curves[kind] = (p, test_cpu.y)
        log(f"{kind}: within ±10% {m.within_10:.1%}, RMSPE {m.rmspe:.1%}")
    # measurement noise: re-measure some held-out segments with a fresh profiler
    make_cpu = cost_factory("cpu-p10")
    rep_rows = list(range(0, len(test_cpu), max(1, len(test_cpu) // 200)))
    again = []
    graphs: dict[str, Graph] = {}
    for i in rep_rows:
        spec = test_cpu.models[i]
        g = graphs.setdefault(spec, load(build_model(spec)))
        again.append(make_cpu(g).latency(test_cpu.start[i], test_cpu.end[i]))
    rep = evaluate(np.array(again), test_cpu.y[rep_rows])
    log(f"label repeatability within ±10%: {rep.within_10:.1%}")

    rows: list[dict[str, Any]] = []
    for stages in [int(s) for s in args.stages.split(",") if s]:
        for k, spec in enumerate(test_specs):
            graph = load(build_model(spec))
            if len(graph.ops) < stages:
                continue
            for r in partition_rows(graph, spec, stages, make_cpu, predictors,
                                    threshold_ms=args.cpu_threshold):
                rows.append({"device": "cpu-p10", **r})
            if (k + 1) % 10 == 0:
                log(f"cpu {stages} stages: {k + 1}/{len(test_specs)} models")
    notes = [f"`profiled` on the CPU uses a bisection threshold of {args.cpu_threshold} ms: "
             "libcoral's 1 ms default exceeds the whole latency of these models "
             "(0.05-0.6 ms) and stops the search at once (2 profiling runs, the compiler's "
             "split). On the Edge TPU model it keeps the 1 ms default."]
    tpu_stages = [int(s) for s in args.tpu_stages.split(",") if s]
    if tpu_stages:
        try:
            make_tpu = cost_factory("edgetpu")
            train_tpu = collect(train_specs, make_tpu, segments_per_model=args.segments)
            tpu_preds = train(["gbt"], train_tpu, args.epochs, log)
            test_tpu = collect(test_specs, make_tpu, segments_per_model=args.test_segments,
                               seed=1)
            for kind, (pred, secs) in tpu_preds.items():
                m = evaluate(pred.predict(test_tpu), test_tpu.y)
                accuracy.append({"predictor": f"{kind} (Edge TPU model labels)",
                                 "train_seconds": secs, **m.as_dict()})
            for stages in tpu_stages:
                for spec in test_specs:
                    graph = load(build_model(spec))
                    for r in partition_rows(graph, spec, stages, make_tpu, tpu_preds):
                        rows.append({"device": train_tpu.devices[0], **r})
                log(f"edgetpu model {stages} stages done")
            notes.append("On the Edge TPU cost model a 'profiling run' is one model "
                         "evaluation (microseconds), so its solve times say nothing about "
                         "real profiling, where each run compiles and benchmarks segments on "
                         "real TPUs; compare profiling runs there.")
        except Exception as exc:  # the Edge TPU model is optional here: say why it is absent
            notes.append(f"Edge TPU model part skipped: {type(exc).__name__}: {exc}")
            log(notes[-1])
    summary = summarize(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot = f"{prefix}_scatter.png" if scatter(RESULTS / f"{prefix}_scatter.png", curves) else None
    meta = {
        "machine": f"{platform.machine()} {platform.processor()} python "
                   f"{platform.python_version()}",
        "command": "python benchmarks/predictor/run.py " + " ".join(argv or sys.argv[1:]),
        "wall_seconds": time.perf_counter() - t_start,
        "scale": "32x32x3 input with a 32-channel stem (the space has 128; 4x fewer channels "
                 "keep CPU profiling of thousands of segments to minutes)",
        "train_models": args.train_models, "train_segments": len(train_cpu),
        "test_models": args.models, "test_segments": len(test_cpu),
        "label_repeatability_within_10": rep.within_10, "label_repeat_count": rep.count,
        "notes": notes,
    }
    (RESULTS / f"{prefix}.json").write_text(json.dumps(
        {"meta": meta, "accuracy": accuracy, "summary": summary, "rows": rows}, indent=1))
    write_markdown(RESULTS / f"{prefix}.md", meta, accuracy, summary, plot)
    log(f"wrote {RESULTS / prefix}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
