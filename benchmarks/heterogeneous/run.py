"""Heterogeneous benchmark: zoo models on mixes of Edge TPUs and CPU cores, and energy.

Usage: python benchmarks/heterogeneous/run.py [--models ResNet50,MobileNetV2]
       (or ``tpusplit bench heterogeneous``; needs the Keras zoo: ``tpusplit zoo build``)

For every model and device mix (2 USB 3 TPUs + 1 PCIe TPU; 1 USB 3 TPU + 2 CPU cores; 4 USB 3
TPUs), in one run:

- ``devices-throughput`` (:func:`tpusplit.strategies.heterogeneous.plan_devices`: the exact
  best contiguous pipeline) against ``devices-as-slowest`` (cuts planned as if every device
  were the slowest kind, then the best assignment): bottleneck, time per inference at batch
  15 (simulated), the gain, the solve time;
- energy per inference of each plan, and of ``devices-energy`` (the plan minimising active
  energy);
- per-layer placement (Mensa-style, one input at a time) against the best contiguous pipeline
  for latency (``devices-latency``): latency of one input;
- the CPU cost model (:class:`tpusplit.profiling.cpu_ops.CPUOpCost`, fitted here) against the
  profiler on random segments of each model: how far its sums land.

TPU figures come from the Edge TPU model (no TPU here); CPU figures from this machine's
cores, timed while the benchmark runs. Writes benchmarks/results/heterogeneous.{md,json,png}.
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

from tpusplit.accuracy import mape
from tpusplit.devices.kinds import parse_devices
from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models import zoo
from tpusplit.profiling.cpu import ProfilerCost
from tpusplit.profiling.cpu_ops import CPUOpCost
from tpusplit.profiling.sources import kind_cost
from tpusplit.strategies.heterogeneous import (
    place_layers,
    plan_as_slowest,
    plan_devices,
)

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
MIXES = ("usb3:2,pcie:1", "usb3:1,cpu:2", "usb3:4")
MODELS = ("MobileNetV2", "EfficientNetB0", "ResNet50", "InceptionV3", "DenseNet121")


def cpu_check(graph: Any, cpu: CPUOpCost, count: int, seed: int) -> dict[str, float]:
    """CPUOpCost against fresh profiler timings of ``count`` random segments (>= 2 ops)."""
    rng = np.random.default_rng(seed)
    n = len(graph.ops)
    prof = ProfilerCost(graph, statistic="p10")
    pred, real = [], []
    tries = 0
    while len(real) < count and tries < 10 * count:
        tries += 1
        a = int(rng.integers(0, n - 2))
        b = int(rng.integers(a + 2, n + 1))
        try:
            real.append(prof.latency(a, b))
        except (RuntimeError, TpusplitError):
            continue  # cut inside a computed-shape chain: random inputs cannot feed it
        pred.append(cpu.latency(a, b))
    return {"segments": len(real), "mape": mape(pred, real)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t_start = time.time()
    rows: list[dict[str, Any]] = []
    cpu_models: dict[str, Any] = {}
    for name in args.models.split(","):
        try:
            graph = load(zoo.zoo_path(name))
        except TpusplitError as exc:
            print(f"skipped: {exc}", flush=True)
            continue
        t0 = time.perf_counter()
        cpu = CPUOpCost(graph)
        cpu_models[name] = {"profile_seconds": time.perf_counter() - t0,
                            "profile_runs": cpu.profile_runs,
                            "overhead_ms": cpu.overhead_ms,
                            **cpu_check(graph, cpu, 8, seed=len(name))}
        print(f"{name}: CPU op model in {cpu_models[name]['profile_seconds']:.1f} s, "
              f"{100 * cpu_models[name]['mape']:.1f}% on random segments", flush=True)
        for mix in MIXES:
            kinds = parse_devices(mix)
            costs = [cpu if k.backend == "cpu" else kind_cost(k, graph) for k in kinds]
            plans = {"devices-throughput": plan_devices(graph, kinds, "throughput", costs=costs),
                     "devices-as-slowest": plan_as_slowest(graph, kinds, costs=costs),
                     "devices-latency": plan_devices(graph, kinds, "latency", costs=costs),
                     "devices-energy": plan_devices(graph, kinds, "energy", costs=costs)}
            layers = place_layers(graph, kinds, "latency", costs=costs)
            layers_e = place_layers(graph, kinds, "energy", costs=costs)
            row: dict[str, Any] = {"model": name, "ops": len(graph.ops), "mix": mix}
            for key, p in plans.items():
                row[key] = {"cuts": list(p.cuts), "devices": [s.device for s in p.segments],
                            "bottleneck_ms": p.bottleneck_ms,
                            "time_per_inference_ms": p.time_per_inference_ms,
                            "one_input_ms": sum(s.latency_ms for s in p.segments),
                            "energy_mj": p.energy_mj, "solve_s": p.solve_seconds}
            row["gain"] = (plans["devices-as-slowest"].time_per_inference_ms
                           / plans["devices-throughput"].time_per_inference_ms)
            row["per_layer"] = {"latency_ms": layers.cost, "runs": len(layers.runs),
                                "active_energy_mj": layers_e.cost,
                                "kinds": sorted({r[2] for r in layers.runs})}
            rows.append(row)
            print(f"  {mix:14s} gain {row['gain']:.2f}x; one input: pipeline "
                  f"{row['devices-latency']['one_input_ms']:.2f} ms, per-layer "
                  f"{layers.cost:.2f} ms", flush=True)
    out = {"rows": rows, "cpu_model": cpu_models, "seconds": time.time() - t_start,
           "machine": platform.platform()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "heterogeneous.json").write_text(json.dumps(out, indent=1))
    (args.out / "heterogeneous.md").write_text(markdown(out))
    plot(rows, args.out / "heterogeneous.png")
    print(markdown(out))
    return 0


def markdown(r: dict[str, Any]) -> str:
    rows = r["rows"]
    lines = ["# Heterogeneous devices and energy", "",
             f"Reproduce: `python benchmarks/heterogeneous/run.py` ({r['seconds']:.0f} s). TPU "
             "figures from the Edge TPU model (profiles `edgetpu-usb3`, `edgetpu-pcie`), CPU "
             "figures from this machine's cores (`CPUOpCost`, timed during the run); energy "
             "from `tpusplit.devices.energy` (Edge TPU 2 W busy from Coral's datasheets; its idle "
             "power and the CPU's are assumptions).", "",
             "## Mixed pipelines: exact planning vs every device treated as the slowest", "",
             "| model | mix | exact: cuts (devices) | bottleneck ms | time/inf ms | as slowest: "
             "time/inf ms | gain | solve s |", "|---|---|---|---|---|---|---|---|"]
    for x in rows:
        p, b = x["devices-throughput"], x["devices-as-slowest"]
        where = ", ".join(p["devices"])
        lines.append(f"| {x['model']} | {x['mix']} | {p['cuts']} ({where}) | "
                     f"{p['bottleneck_ms']:.3f} | {p['time_per_inference_ms']:.3f} | "
                     f"{b['time_per_inference_ms']:.3f} | {x['gain']:.2f}x | "
                     f"{p['solve_s']:.2f} |")
    gains = [x["gain"] for x in rows]
    lines += ["", f"Gain of exact heterogeneous planning: {min(gains):.2f}x to {max(gains):.2f}x "
              f"(geometric mean {float(np.exp(np.mean(np.log(gains)))):.2f}x) over "
              f"{len(rows)} (model, mix) pairs; 1.00x where the mix is homogeneous or the "
              "slowest kind's cuts happen to be right.", "",
              "## Energy per inference (mJ, busy + idle) per strategy", "",
             "The energy plan minimises the devices' *active* energy (additive over stages); "
             "its total can exceed another plan's when it leaves devices idle longer. "
             "Per-layer placement runs one input at a time: its column is active energy.", "",
              "| model | mix | throughput plan | as slowest | latency plan | energy plan | "
              "per-layer (active only) |", "|---|---|---|---|---|---|---|"]
    for x in rows:
        lines.append(f"| {x['model']} | {x['mix']} | {x['devices-throughput']['energy_mj']:.2f} "
                     f"| {x['devices-as-slowest']['energy_mj']:.2f} | "
                     f"{x['devices-latency']['energy_mj']:.2f} | "
                     f"{x['devices-energy']['energy_mj']:.2f} | "
                     f"{x['per_layer']['active_energy_mj']:.2f} |")
    lines += ["", "## One input at a time: per-layer placement vs the best contiguous pipeline",
              "", "| model | mix | pipeline (latency plan) ms | per-layer ms | runs | devices "
              "used |",
              "|---|---|---|---|---|---|"]
    for x in rows:
        lines.append(f"| {x['model']} | {x['mix']} | {x['devices-latency']['one_input_ms']:.2f}"
                     f" | {x['per_layer']['latency_ms']:.2f} | {x['per_layer']['runs']} | "
                     f"{', '.join(x['per_layer']['kinds'])} |")
    lines += ["", "Per-layer placement may return to a device (CPU, TPU, CPU), so it is never "
              "slower than the contiguous pipeline for one input; it assumes a TPU keeps every "
              "run's parameters as it would alone (optimistic when a TPU is revisited). A "
              "pipeline's throughput is set by its bottleneck, a placement's by its whole "
              "latency.", "",
              "## The CPU cost model against the profiler", "",
              "| model | profiling runs | seconds | fitted invoke overhead ms | random segments | "
              "MAPE |", "|---|---|---|---|---|---|"]
    for m, v in r["cpu_model"].items():
        lines.append(f"| {m} | {v['profile_runs']} | {v['profile_seconds']:.1f} | "
                     f"{v['overhead_ms']:.4f} | {v['segments']} | {100 * v['mape']:.1f}% |")
    lines += ["", "![gain and energy](heterogeneous.png)", ""]
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    labels = [f"{x['model']}\n{x['mix']}" for x in rows]
    xs = np.arange(len(rows))
    axes[0].bar(xs, [x["gain"] for x in rows], color="C0")
    axes[0].axhline(1.0, color="k", lw=0.8)
    axes[0].set_xticks(xs, labels, fontsize=6, rotation=90)
    axes[0].set_ylabel("x time per inference")
    axes[0].set_title("exact mixed planning vs all-as-slowest", fontsize=9)
    keys = ("devices-throughput", "devices-as-slowest", "devices-energy")
    for k, key in enumerate(keys):
        axes[1].bar(xs + (k - 1) * 0.27, [x[key]["energy_mj"] for x in rows], width=0.27,
                    label=key, color=f"C{k + 1}")
    axes[1].set_xticks(xs, labels, fontsize=6, rotation=90)
    axes[1].set_ylabel("mJ per inference")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=7)
    axes[1].set_title("energy per inference", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
