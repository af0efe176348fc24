"""Runtime benchmark: pipelines on this machine's CPU cores vs whole-model baselines.

Usage: python benchmarks/runtime/run.py [--models ResNet50,MobileNetV2,conv] [--inputs 60]
       [--rounds 5]        (or ``tpusplit bench runtime``; run it under
       ``flock /tmp/tpusplit-heavy.lock`` on a shared machine)

For each model (zoo ResNet50 and MobileNetV2 when built, else skipped with a note; the
synthetic conv family model F=256 on 64x64 always), side by side and interleaved over
``--rounds`` rounds (medians reported):

* whole model, LiteRT with 1 and with 2 threads (inputs one after another);
* data parallel: two whole 1-thread interpreters in two threads, each on half the inputs;
* 2-stage pipelines (:class:`tpusplit.pipeline.Pipeline`) cut by the ``optimal`` and
  ``profiled`` strategies planning with the CPU profiler (:class:`ProfilerCost`) as cost
  source, unpinned and with stage i pinned to core i.

For each pipeline: throughput, ideal throughput = 1 / slowest stage with the stage times
measured (a) inside the pipeline run (busy time per item) and (b) alone, right before, and the
ratio of each. Then the cost of one hop: a tiny fc model (N=8) cut into K = 1..5 trivial
segments, one input in flight at a time, pipeline latency minus the same segments run
sequentially in one thread, per queue transfer (K + 1 per input).

Writes benchmarks/results/runtime.{md,json,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.graph import Graph, load, split
from tpusplit.models import zoo
from tpusplit.models.synthetic import conv, fc
from tpusplit.pipeline import LiteRTStage, measure_pipeline, run_sequential
from tpusplit.pipeline.assemble import io_names, random_feeds
from tpusplit.pipeline.runner import Pipeline
from tpusplit.profiling.cpu import ProfilerCost

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
Feeds = dict[str, np.ndarray]


def two_stage_plan(graph: Graph, cost: ProfilerCost, strategy: str) -> dict[str, Any]:
    """Cuts from the strategy registry; the exact 2-stage optimum computed here if absent."""
    t0 = time.perf_counter()
    before = cost.evaluations
    try:
        from tpusplit.strategies import plan

        p = plan(graph, 2, cost, strategy)
        cuts = list(p.cuts)
        how = f"tpusplit.strategies {strategy}"
    except ImportError:
        n = len(graph.ops)
        k = min(range(1, n), key=lambda c: max(cost.latency(0, c), cost.latency(c, n)))
        cuts = [k]
        how = "exact 2-stage min-max over the profiler (strategies not importable)"
    n = len(graph.ops)
    return {"strategy": strategy, "cuts": cuts, "how": how,
            "predicted_ms": [cost.latency(0, cuts[0]), cost.latency(cuts[0], n)],
            "evaluations": cost.evaluations - before,
            "solve_s": time.perf_counter() - t0}


def cpu_idle(seconds: float = 0.5) -> float:
    """Share of the machine's CPU time that was idle over ``seconds`` (Linux /proc/stat)."""
    def read() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            vals = [int(x) for x in fh.readline().split()[1:]]
        return vals[3] + vals[4], sum(vals)

    try:
        i0, t0 = read()
        time.sleep(seconds)
        i1, t1 = read()
    except OSError:
        return float("nan")
    return (i1 - i0) / max(1, t1 - t0)


def wait_quiet(max_wait_s: float, threshold: float = 0.9) -> tuple[float, float]:
    """Wait (at most ``max_wait_s``) until the cores are ``threshold`` idle; (idle, waited)."""
    t0 = time.perf_counter()
    idle = cpu_idle()
    while not idle >= threshold and time.perf_counter() - t0 < max_wait_s:
        idle = cpu_idle()
    return idle, time.perf_counter() - t0


def whole_throughput(stage: LiteRTStage, feeds: Sequence[Feeds]) -> float:
    t0 = time.perf_counter()
    for f in feeds:
        stage.run(f)
    return len(feeds) / (time.perf_counter() - t0)


def data_parallel_throughput(stages: Sequence[LiteRTStage], feeds: Sequence[Feeds]) -> float:
    halves = [feeds[i::len(stages)] for i in range(len(stages))]
    threads = [threading.Thread(target=lambda s=s, h=h: [s.run(f) for f in h])
               for s, h in zip(stages, halves, strict=True)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(feeds) / (time.perf_counter() - t0)


def alone_ms(stages: Sequence[LiteRTStage], feeds: Feeds, runs: int) -> list[float]:
    """Median time of each stage run alone (its inputs from a sequential run)."""
    env = dict(feeds)
    out = []
    for st in stages:
        x = {n: env[n] for n in st.input_names}
        st.run(x)
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            env.update(st.run(x))
            ts.append(time.perf_counter() - t0)
        out.append(1e3 * float(np.median(ts)))
    return out


def bench_model(name: str, data: bytes, n_inputs: int, rounds: int,
                log: Callable[[str], None], statistic: str = "p10",
                quiet_wait_s: float = 0.0) -> dict[str, Any]:
    graph = load(data, name=name)
    n = len(graph.ops)
    feeds = random_feeds(graph, n_inputs, seed=0)
    cost = ProfilerCost(graph, warmup=2, repeats=10, min_seconds=0.05, statistic=statistic)
    plans = {s: two_stage_plan(graph, cost, s) for s in ("optimal", "profiled")}
    log(f"{name}: {n} ops, plans " + ", ".join(f"{s} {p['cuts']}" for s, p in plans.items())
        + f" ({cost.evaluations} profiled segments, {cost.seconds:.1f} s)")
    whole1 = LiteRTStage(data, num_threads=1)
    whole2 = LiteRTStage(data, num_threads=2)
    pair = [LiteRTStage(data, num_threads=1) for _ in range(2)]
    outputs = io_names(graph)[1]
    pipes = {s: [LiteRTStage(b) for b in split(graph, p["cuts"])] for s, p in plans.items()}
    for st in [whole1, whole2, *pair]:
        st.run({k: feeds[0][k] for k in st.input_names})
    for stages in pipes.values():
        run_sequential(stages, feeds[0])
    samples: dict[str, list[float]] = {}
    extra: dict[str, list[dict[str, Any]]] = {}

    def add(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    idle_log: list[tuple[float, float]] = []
    for r in range(rounds):
        if quiet_wait_s > 0:
            idle_log.append(wait_quiet(quiet_wait_s))
        add("whole, 1 thread", whole_throughput(whole1, feeds))
        add("whole, 2 threads", whole_throughput(whole2, feeds))
        add("data parallel, 2 x 1 thread", data_parallel_throughput(pair, feeds))
        for s, stages in pipes.items():
            for pinned in (False, True):
                key = f"pipeline {s}{' pinned' if pinned else ''}"
                alone = alone_ms(stages, feeds[0], runs=7)
                m = measure_pipeline(stages, feeds, outputs=outputs, queue_size=4,
                                     cores=[0, 1] if pinned else None, warmup=0)
                in_run = [1e3 * st.busy_s / st.items for st in m.stages]
                add(key, m.throughput_ips)
                extra.setdefault(key, []).append({
                    "alone_ms": alone, "in_run_ms": in_run,
                    "ideal_alone": 1e3 / max(alone), "ideal_in_run": 1e3 / max(in_run),
                    "first_result_ms": m.first_result_ms,
                    "p50_ms": m.percentile(50), "utilisation": m.utilisation()})
        log(f"  round {r + 1}/{rounds}: " + ", ".join(f"{k} {v[-1]:.1f}"
                                                       for k, v in samples.items()))
    base = float(np.median(samples["whole, 1 thread"]))
    configs = []
    for key, vals in samples.items():
        row: dict[str, Any] = {"config": key, "throughput": float(np.median(vals)),
                               "best": float(max(vals)), "samples": vals}
        row["speedup_vs_1_thread"] = row["throughput"] / base
        row["paired_speedup"] = float(np.median(
            [v / w for v, w in zip(vals, samples["whole, 1 thread"], strict=True)]))
        row["best_speedup"] = row["best"] / float(max(samples["whole, 1 thread"]))
        if key in extra:
            ex = extra[key]
            ideal_alone = float(np.median([e["ideal_alone"] for e in ex]))
            ideal_in_run = float(np.median([e["ideal_in_run"] for e in ex]))
            row.update({
                "ideal_alone": ideal_alone, "ideal_in_run": ideal_in_run,
                "ratio_ideal_alone": float(np.median([s / e["ideal_alone"]
                                                      for s, e in zip(vals, ex, strict=True)])),
                "ratio_ideal_in_run": float(np.median([s / e["ideal_in_run"]
                                                       for s, e in zip(vals, ex,
                                                                       strict=True)])),
                "stage_alone_ms": np.median([e["alone_ms"] for e in ex], axis=0).tolist(),
                "stage_in_run_ms": np.median([e["in_run_ms"] for e in ex], axis=0).tolist(),
                "first_result_ms": float(np.median([e["first_result_ms"] for e in ex])),
                "p50_latency_ms": float(np.median([e["p50_ms"] for e in ex])),
                "utilisation": np.median([e["utilisation"] for e in ex], axis=0).tolist(),
            })
        configs.append(row)
    return {"model": name, "ops": n, "inputs": n_inputs, "rounds": rounds,
            "profiler_statistic": statistic,
            "plans": plans, "profiled_segments": cost.evaluations,
            "idle_before_rounds": [i for i, _ in idle_log],
            "waited_s": [w for _, w in idle_log],
            "profiling_s": cost.seconds, "configs": configs}


def hop_cost(rounds: int, items: int = 400) -> dict[str, Any]:
    """Per-hop overhead: trivial segments, one input in flight, pipeline minus sequential."""
    data = fc(8)
    graph = load(data, name="fc_N8")
    n = len(graph.ops)
    feeds = random_feeds(graph, 1, seed=0)[0]
    outputs = io_names(graph)[1]
    rows = []
    for k in (1, 2, 3, 5):
        cuts = [round(i * n / k) for i in range(1, k)]
        stages = [LiteRTStage(b) for b in split(graph, cuts)]
        pipe_us: list[float] = []
        seq_us: list[float] = []
        for _ in range(rounds):
            for _ in range(20):
                run_sequential(stages, feeds)
            t0 = time.perf_counter()
            for _ in range(items):
                run_sequential(stages, feeds)
            seq_us.append(1e6 * (time.perf_counter() - t0) / items)
            with Pipeline(stages, outputs=outputs, queue_size=1) as p:
                for _ in range(20):
                    p.push(feeds)
                    p.pop()
                t0 = time.perf_counter()
                for _ in range(items):
                    p.push(feeds)
                    p.pop()
                pipe_us.append(1e6 * (time.perf_counter() - t0) / items)
        pipe, seq = float(np.median(pipe_us)), float(np.median(seq_us))
        rows.append({"segments": k, "cuts": cuts, "pipeline_latency_us": pipe,
                     "sequential_us": seq, "queue_transfers": k + 1,
                     "per_hop_us": (pipe - seq) / (k + 1)})
    ks = np.array([r["segments"] for r in rows], float)
    slope = float(np.polyfit(ks, [r["pipeline_latency_us"] for r in rows], 1)[0])
    return {"model": "fc N=8 (10 ops)", "items": items, "rows": rows,
            "per_hop_us": float(np.median([r["per_hop_us"] for r in rows])),
            "latency_slope_us_per_segment": slope}


def write_markdown(result: dict[str, Any], path: Path) -> None:
    lines = ["# Runtime benchmark: pipelines on CPU cores", "",
             f"Machine: {result['machine']}. Command: `{result['command']}`. "
             f"{result['date']}. 1-minute load average before/after: "
             f"{result['load_average_1min'][0]:.2f} / {result['load_average_1min'][1]:.2f} "
             "(other work on the 2 shared cores depresses every figure).", "",
             "Throughput in inferences/s, median over interleaved rounds; `x 1 thread` = median "
             "/ median of the whole model on 1 thread; `paired x` = median over rounds of the "
             "ratio to the 1-thread whole model of the same round; `best` = the best round "
             "(the least disturbed by other work). Ideal = 1 / slowest "
             "stage, with stage times measured alone (right before each pipeline run) and "
             "inside the run (busy time per item). Plans: 2 stages, the CPU profiler as cost "
             f"source (statistic: {result['statistic']}, 10+ runs per segment).", ""]
    for note in result["skipped"]:
        lines.append(f"- skipped: {note}")
    if result["skipped"]:
        lines.append("")
    for m in result["models"]:
        lines += [f"## {m['model']} ({m['ops']} ops, {m['inputs']} inputs x {m['rounds']} rounds)",
                  ""]
        for s, p in m["plans"].items():
            lines.append(f"- `{s}` cut at {p['cuts']}, predicted stages "
                         f"{', '.join(f'{x:.2f}' for x in p['predicted_ms'])} ms "
                         f"({p['evaluations']} new profiled segments, {p['solve_s']:.1f} s)")
        if m["idle_before_rounds"]:
            lines.append(f"- CPU idle before each round: "
                         f"{', '.join(f'{x:.0%}' for x in m['idle_before_rounds'])} "
                         f"(waited up to {max(m['waited_s']):.0f} s for >= 90%)")
        lines += ["", "| config | inf/s | x 1 thread | paired x | best round inf/s | best x "
                  "| ideal (alone) | share | ideal (in run) | share | stages alone ms "
                  "| stages in run ms |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for c in m["configs"]:
            head = (f"| {c['config']} | {c['throughput']:.1f} | {c['speedup_vs_1_thread']:.2f} "
                    f"| {c['paired_speedup']:.2f} | {c['best']:.1f} | {c['best_speedup']:.2f} ")
            if "ideal_alone" in c:
                lines.append(
                    head + f"| {c['ideal_alone']:.1f} | {c['ratio_ideal_alone']:.0%} "
                    f"| {c['ideal_in_run']:.1f} | {c['ratio_ideal_in_run']:.0%} "
                    f"| {' / '.join(f'{x:.2f}' for x in c['stage_alone_ms'])} "
                    f"| {' / '.join(f'{x:.2f}' for x in c['stage_in_run_ms'])} |")
            else:
                lines.append(head + "| | | | | | |")
        lines.append("")
    h = result["hop"]
    lines += ["## Cost of one hop between stages", "",
              f"{h['model']} cut into K trivial segments; one input in flight; "
              f"{h['items']} inputs x rounds, medians.", "",
              "| K | pipeline latency us | same segments sequential us | per queue transfer us |",
              "|---:|---:|---:|---:|"]
    for r in h["rows"]:
        lines.append(f"| {r['segments']} | {r['pipeline_latency_us']:.1f} | "
                     f"{r['sequential_us']:.1f} | {r['per_hop_us']:.1f} |")
    lines += ["", f"Per hop (median over K): **{h['per_hop_us']:.1f} us**; pipeline latency "
              f"grows by {h['latency_slope_us_per_segment']:.1f} us per extra segment.", ""]
    lines += ["## Targets", ""]
    for t in result["targets"]:
        lines.append(f"- {t}")
    path.write_text("\n".join(lines) + "\n")


def plot(result: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    models = result["models"]
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4), squeeze=False)
    for ax, m in zip(axes[0], models, strict=True):
        names = [c["config"] for c in m["configs"]]
        vals = [c["speedup_vs_1_thread"] for c in m["configs"]]
        ax.barh(names, vals, color=["#888" if "pipeline" not in x else "#2a7" for x in names])
        ax.axvline(1.0, color="k", lw=0.5)
        ax.set_title(m["model"])
        ax.set_xlabel("throughput / whole model 1 thread")
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def targets(result: dict[str, Any]) -> list[str]:
    out = []
    for m in result["models"]:
        for c in m["configs"]:
            if c["config"].startswith("pipeline"):
                ok = c["ratio_ideal_in_run"] >= 0.9
                out.append(f"{m['model']} {c['config']}: {c['ratio_ideal_in_run']:.0%} of ideal "
                           f"(in run), {c['ratio_ideal_alone']:.0%} of ideal (alone); target "
                           f">= 90%: {'met' if ok else 'NOT met'} (in run)")
        if m["model"] == "ResNet50":
            best = max((c for c in m["configs"] if c["config"].startswith("pipeline")),
                       key=lambda c: c["paired_speedup"])
            out.append(f"ResNet50 best pipeline ({best['config']}): "
                       f"{best['speedup_vs_1_thread']:.2f}x the 1-thread whole model (medians), "
                       f"{best['paired_speedup']:.2f}x paired by round, "
                       f"{best['best_speedup']:.2f}x best round vs best round; target >= 1.8x: "
                       f"{'met' if best['paired_speedup'] >= 1.8 else 'NOT met'} (paired)")
    hop = result["hop"]["per_hop_us"]
    out.append(f"per-hop overhead {hop:.1f} us; target well under 100 us: "
               f"{'met' if hop < 100 else 'NOT met'}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tpusplit bench runtime", description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="ResNet50,MobileNetV2,conv")
    ap.add_argument("--inputs", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--quiet-wait", type=float, default=60.0,
                    help="before each round wait up to this many seconds for >= 90%% idle "
                         "CPU (0: do not wait)")
    ap.add_argument("--statistic", default="p10", choices=["median", "p10", "min"],
                    help="profiler statistic the strategies plan with (p10: robust to other "
                         "work on shared cores)")
    args = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    models: list[dict[str, Any]] = []
    skipped: list[str] = []
    load_before = os.getloadavg()[0]
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        if name == "conv":
            data, label = conv(256, size=64), "conv F=256 64x64 (synthetic)"
        else:
            try:
                data, label = zoo.zoo_path(name).read_bytes(), name
            except Exception as exc:  # the zoo is optional: say so and go on
                skipped.append(f"{name}: {exc}")
                log(f"skip {name}: {exc}")
                continue
        models.append(bench_model(label, data, args.inputs, args.rounds, log, args.statistic,
                                  args.quiet_wait))
    hop = hop_cost(args.rounds)
    log(f"hop: {hop['per_hop_us']:.1f} us")
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                   f"{platform.python_version()}, {platform.system()}",
        "command": "python benchmarks/runtime/run.py " + " ".join(argv or sys.argv[1:]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "skipped": skipped, "models": models, "hop": hop,
        "load_average_1min": [load_before, os.getloadavg()[0]], "statistic": args.statistic}
    result["targets"] = targets(result)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "runtime.json").write_text(json.dumps(result, indent=1))
    write_markdown(result, args.out / "runtime.md")
    plot(result, args.out / "runtime.png")
    for t in result["targets"]:
        log(t)
    log(f"wrote {args.out / 'runtime.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
