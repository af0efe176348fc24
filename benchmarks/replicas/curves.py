"""Replicas, stages or both: simulated scaling from 1 to 8 Edge TPUs, and where it stops.

Usage: python benchmarks/replicas/curves.py [--models MobileNetV2,ResNet50] [--tpus 8]
       [--batch 200]

For every model (MobileNetV2, SSDMobileNetV1, SSDMobileNetV1 ending in its post-processing op
``TFLite_Detection_PostProcess`` as Coral's ``*_postprocess`` file, ResNet50, InceptionV4-slim,
conv F=682, fc N=2620; a Keras model is skipped when the zoo has not built it: ``tpusplit zoo
build``, needs TensorFlow) and N = 1..``--tpus`` Edge TPUs, three plans chosen exactly by
:func:`tpusplit.partition.replica_partition` on the Edge TPU model with the Python runner's
host time per stage (the profile's ``python_stage_ms``, serialised across stages) and, on
USB, the replicas of a stage taking turns on one link (``CostSource.shared_link``):
**pure replicas** (one stage, N copies), **pure stages** (a pipeline, one device each) and the
**best hybrid**; each is then run through the discrete-event simulator (``--batch`` inputs) on
two machines:

* ``usb3``: ``edgetpu-usb3``, every USB Accelerator on one USB 3 host controller (one shared
  link: transfers and streamed weights take turns), the usual desktop;
* ``usb3-per-stage``: ``edgetpu-usb3``, the copies of a stage on one USB link and every stage
  on a link of its own: the planner's model (stages on separate links is what the measured
  pipelines show; copies of a stage move the same traffic at once and take turns);
* ``pcie``: ``edgetpu-pcie``, every M.2 / PCIe card on its own lane.

For the SSD with post-processing (work the Edge TPU leaves to the host CPU), a fourth plan:
**host stage**, the exact hybrid of the ops before the post-processing and the post-processing
as a stage of its own on up to ``HOST_CORES`` host cores
(:func:`tpusplit.strategies.replicated.host_staged`); in the other plans every copy of the
last stage runs it after its TPU.

Replicas share the host too: the runner's host work per input (serialised by the GIL) caps
any plan at ``1 / (stages x python_stage_ms)`` inferences per second. The report names, per
model and machine, the N where adding a TPU gains less than 5% and what saturates there (the
shared link, the host, or the model itself: fewer useful splits than TPUs).

Writes benchmarks/results/replicas_curves.{md,json,png}.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.models import zoo
from tpusplit.models.slim import ssd_mobilenet_v1
from tpusplit.models.specs import build_spec
from tpusplit.partition import replica_partition
from tpusplit.sim import simulate
from tpusplit.strategies.replicated import host_staged

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
MODELS = ("MobileNetV2", "SSDMobileNetV1", "SSDMobileNetV1-postprocess", "ResNet50",
          "InceptionV4-slim", "conv-682", "fc-2620")
#: Host cores a host stage may use (a desktop or a Raspberry Pi 4 has at least 4).
HOST_CORES = 4
MACHINES = {"usb3": ("edgetpu-usb3", True), "usb3-per-stage": ("edgetpu-usb3", False),
            "pcie": ("edgetpu-pcie", False)}
KINDS = {"pure replicas": {"max_stages": 1}, "pure stages": {"max_replicas": 1},
         "best hybrid": {}}


def graph_of(name: str) -> Graph | None:
    """The model, or None for a Keras zoo model that is not built here."""
    if name == "SSDMobileNetV1-postprocess":
        return load(ssd_mobilenet_v1(postprocess=True), name=name)
    try:
        return load(build_spec(name), name=name)
    except TpusplitError as exc:
        if name in zoo.ZOO and zoo.ZOO[name].kind == "keras":
            print(f"skip {name}: {exc}", file=sys.stderr)
            return None
        raise


def curve(graph: Graph, device: str, shared: bool, tpus: int, batch: int
          ) -> list[dict[str, Any]]:
    cost = EdgeTPUCost(graph, device)
    h = cost.runner.stage_ms
    n = len(graph.ops)
    known: dict[tuple[int, int], float] = {}
    bound = cost.lower_bound()
    rows = []
    for devices in range(1, tpus + 1):
        for kind, limits in KINDS.items():
            t0 = time.perf_counter()
            try:
                part = replica_partition(n, devices, cost.latency, lower=bound, host=h,
                                         serial=h, known=known, **limits,
                                         link=cost.link_ms if cost.shared_link else None)
            except ValueError:  # e.g. more stages than ops
                continue
            solve = time.perf_counter() - t0
            sim = simulate(cost, list(part.cuts), batch=batch, replicas=list(part.replicas),
                           shared_bus=shared)
            rows.append({"devices": devices, "kind": kind, "cuts": list(part.cuts),
                         "replicas": list(part.replicas), "used": part.devices,
                         "period_ms": part.value, "solve_s": solve,
                         "time_per_inference_ms": sim.time_per_inference_ms,
                         "throughput_ips": sim.throughput_ips,
                         "host_cap_ips": 1000 / (part.stages * h) if part.devices > 1 else None})
        staged = host_staged(graph, devices, cost, host_cores=HOST_CORES, known=known)
        if staged is not None:
            reps = list(staged.replica_counts)
            sim = simulate(cost, list(staged.cuts), batch=batch, replicas=reps,
                           shared_bus=shared)
            rows.append({"devices": devices, "kind": "host stage", "cuts": list(staged.cuts),
                         "replicas": reps, "used": staged.devices_used,
                         "period_ms": staged.bottleneck_ms, "solve_s": staged.solve_seconds,
                         "time_per_inference_ms": sim.time_per_inference_ms,
                         "throughput_ips": sim.throughput_ips,
                         "host_cap_ips": 1000 / (len(reps) * h)})
    return rows


def saturation(rows: list[dict[str, Any]], shared: bool, host_ms: float) -> str:
    """Where the best hybrid stops gaining 5% per added TPU, and why."""
    best = {r["devices"]: r for r in rows if r["kind"] == "best hybrid"}
    ns = sorted(best)
    for a, b in itertools.pairwise(ns):
        if best[b]["throughput_ips"] < 1.05 * best[a]["throughput_ips"]:
            r = best[a]
            why = []
            if r["host_cap_ips"] and r["throughput_ips"] > 0.8 * r["host_cap_ips"]:
                why.append(f"the host: {len(r['replicas'])} stage(s) x {host_ms:.2f} ms of "
                           f"serialised runner work per input caps it at "
                           f"{r['host_cap_ips']:.0f}/s")
            if shared and r["throughput_ips"] < 0.9 * 1000 / r["period_ms"]:
                why.append("the shared USB link (simulated below the plan's period)")
            if r["used"] < r["devices"]:
                why.append(f"the model: the best plan uses {r['used']} of {r['devices']} TPUs")
            return (f"stops gaining 5% per TPU after {a} TPUs ("
                    + ("; ".join(why) or "diminishing returns of the split") + ")")
    return f"still gaining at {ns[-1]} TPUs"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--tpus", type=int, default=8)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.time()
    out: dict[str, Any] = {"batch": args.batch, "tpus": args.tpus, "models": {}}
    for name in args.models.split(","):
        graph = graph_of(name)
        if graph is None:
            continue
        out["models"][name] = {}
        for machine, (device, shared) in MACHINES.items():
            rows = curve(graph, device, shared, args.tpus, args.batch)
            h = EdgeTPUCost(graph, device).runner.stage_ms
            out["models"][name][machine] = {"rows": rows,
                                            "saturation": saturation(rows, shared, h)}
            best = [r for r in rows if r["kind"] == "best hybrid"]
            print(f"{name} {machine}: " + ", ".join(
                f"{r['devices']}:{r['throughput_ips']:.0f}/s {r['replicas']}" for r in best),
                flush=True)
    out["seconds"] = time.time() - t0
    out["machine"] = platform.platform()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replicas_curves.json").write_text(json.dumps(out, indent=1))
    (args.out / "replicas_curves.md").write_text(markdown(out, args))
    plot(out, args.out / "replicas_curves.png")
    print((args.out / "replicas_curves.md").read_text())
    return 0


def markdown(out: dict[str, Any], args: argparse.Namespace) -> str:
    lines = ["# Replicas, stages or both: simulated scaling on 1-8 Edge TPUs", "",
             f"Reproduce: `python benchmarks/replicas/curves.py --tpus {args.tpus} --batch "
             f"{args.batch}` ({out['seconds']:.0f} s). Edge TPU model v3, the Python runner's "
             "host time per stage (serialised), plans chosen exactly by "
             "`partition.replica_partition` (on USB the copies of a stage take turns on one "
             "link, as `plan` assumes), times from the simulator; usb3: every TPU on one "
             "shared USB 3 link; usb3-per-stage: a USB 3 link per stage, shared by its copies "
             "(the planner's model); pcie: one lane each. Throughput in inferences/s; a plan is "
             "written as the replicas of each stage. SSDMobileNetV1-postprocess ends in "
             "TFLite_Detection_PostProcess, which the Edge TPU leaves to the host CPU: in the "
             "first three plans every copy of the last stage runs it after its TPU; **host "
             "stage** runs it as a stage of its own on up to "
             f"{HOST_CORES} host cores (`strategies.replicated.host_staged`; `plan` picks it "
             "when the simulator, with the copies of a stage sharing their USB link and each "
             "stage a link of its own, says it is faster).", ""]
    for name, machines in out["models"].items():
        for machine, res in machines.items():
            rows = res["rows"]
            kinds = [*KINDS, *(["host stage"] if any(r["kind"] == "host stage"
                                                     for r in rows) else [])]
            extra = " host stage (plan) |" if len(kinds) > len(KINDS) else ""
            lines += [f"## {name}, {machine}", "",
                      "| TPUs | pure replicas | pure stages | best hybrid | hybrid plan |" + extra,
                      "|---|---|---|---|---|" + ("---|" if extra else "")]
            for d in sorted({r["devices"] for r in rows}):
                get = {r["kind"]: r for r in rows if r["devices"] == d}
                cells = [f"{get[k]['throughput_ips']:.0f}" if k in get else "" for k in KINDS]
                plan = get.get("best hybrid", {}).get("replicas", "")
                host = get.get("host stage")
                tail = (f" {host['throughput_ips']:.0f} ({host['replicas']}, last on host "
                        "cores) |" if host else (" |" if extra else ""))
                lines.append(f"| {d} | " + " | ".join(cells) + f" | {plan} |" + tail)
            lines += ["", f"Best hybrid {res['saturation']}.", ""]
    return "\n".join(lines)


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(out["models"])
    fig, axes = plt.subplots(len(MACHINES), max(1, len(names)),
                             figsize=(3.2 * max(1, len(names)), 3 * len(MACHINES)), squeeze=False)
    for col, name in enumerate(names):
        for row, machine in enumerate(MACHINES):
            ax = axes[row][col]
            rows = out["models"][name][machine]["rows"]
            for k, kind in enumerate([*KINDS, "host stage"]):
                rs = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["devices"])
                ax.plot([r["devices"] for r in rs], [r["throughput_ips"] for r in rs],
                        "-o", ms=3, color=f"C{k}", label=kind)
            ax.set_title(f"{name} ({machine})", fontsize=8)
            ax.set_xlabel("Edge TPUs", fontsize=7)
            ax.set_ylabel("inferences/s", fontsize=7)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
