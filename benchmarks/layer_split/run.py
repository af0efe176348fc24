"""Cut inside a layer: predicted gain over the best whole-layer plan, where it helps, solve time.

For the conv family (F = 442..702), the fc family and the zoo, on 2-4 (families) and 2-8
(zoo) Edge TPUs of the USB 3 and PCIe profiles: ``optimal`` (a pure pipeline, as published
plans) with and without cuts inside layers (:func:`tpusplit.strategies.split_layers.
plan_split_layers`), its bottleneck, how many bytes stream, what was split, and the solve
time; a plot of one conv plan's caches. Model figures (the Edge TPU model v3), not
measurements. Writes ``benchmarks/results/layer_split.{md,json,png}``.

Reproduce: ``python benchmarks/layer_split/run.py`` (about a minute here).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import tpusplit
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.models import zoo
from tpusplit.models.synthetic import conv, fc
from tpusplit.strategies import get
from tpusplit.strategies.split_layers import plan_split_layers
from tpusplit.units import MiB

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
DEVICES = ("edgetpu-usb3", "edgetpu-pcie")


def one(name: str, graph: tpusplit.Graph, n: int, device: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    found = plan_split_layers(graph, n, lambda g: EdgeTPUCost(g, device), get("optimal"))
    seconds = time.perf_counter() - t0
    p, w = found.plan, found.whole
    return {"model": name, "tpus": n, "device": device, "whole_ms": w.bottleneck_ms,
            "split_ms": p.bottleneck_ms, "ratio": p.bottleneck_ms / w.bottleneck_ms,
            "whole_streamed_mib": w.streamed_bytes / MiB,
            "split_streamed_mib": p.streamed_bytes / MiB,
            "layers_split": len(p.layer_splits), "ops": len(graph.ops),
            "solve_s": seconds}


def cache_plot(graph: tpusplit.Graph, n: int, device: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = plan_split_layers(graph, n, lambda g: EdgeTPUCost(g, device), get("optimal"))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
    for ax, plan, title in ((axes[0], found.whole, "whole layers"),
                            (axes[1], found.plan, "large layers sliced")):
        xs = range(plan.num_segments)
        on = [s.on_chip_bytes / MiB for s in plan.segments]
        off = [s.off_chip_bytes / MiB for s in plan.segments]
        ax.bar(xs, on, label="cached on chip")
        ax.bar(xs, off, bottom=on, label="streamed every inference")
        ax.axhline(7.76, color="k", ls="--", lw=0.8, label="on-chip memory")
        ax.set_xticks(list(xs), [f"TPU {i}" for i in xs])
        ax.set_title(f"{title}: bottleneck {plan.bottleneck_ms:.1f} ms")
    axes[0].set_ylabel("parameters, MiB")
    axes[1].legend(loc="upper right", fontsize=8)
    fig.suptitle(f"{graph.name} on {n} x {device} (optimal, Edge TPU model)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    families = {f"conv{f}": conv(f) for f in range(442, 703, 20)}
    families.update({f"fc{f}": fc(f) for f in (1024, 1536, 2048, 2380, 2620)})
    for name, data in families.items():
        graph = tpusplit.load(data, name=name)
        rows += [one(name, graph, n, d) for d in DEVICES for n in (2, 3, 4)]
    for name in zoo.available():
        graph = tpusplit.load(zoo.zoo_path(name), name=name)
        rows += [one(name, graph, n, d) for d in DEVICES for n in range(2, 9)]
    args.results.mkdir(parents=True, exist_ok=True)
    cache_plot(tpusplit.load(conv(682), name="conv682"), 3, "edgetpu-usb3",
               args.results / "layer_split.png")
    seconds = time.perf_counter() - t0
    (args.results / "layer_split.json").write_text(json.dumps(
        {"rows": rows, "seconds": seconds, "python": platform.python_version()}, indent=1) + "\n")
    lines = ["# Cut inside a layer: predicted gain over the best whole-layer plan", "",
             f"Reproduce: `python benchmarks/layer_split/run.py` ({seconds:.0f} s, Python "
             f"{platform.python_version()}). `optimal` as a pure pipeline, on the Edge TPU "
             "model v3, with and without cuts inside layers (conv, depthwise, fully connected "
             ">= 1 MiB, sliced by 64 output channels, up to 16 slices); bottleneck in ms, "
             "ratio = with / without (< 1: faster); streamed = parameter MiB read from the host "
             "per inference. Model figures: the compiler's treatment of slices (each cached "
             "as a layer of its own) is the documented rule, not checked against a compiler "
             "here.", ""]
    helped = [r for r in rows if r["ratio"] < 0.99]
    lines += [f"Rows: {len(rows)}; faster by more than 1%: {len(helped)}; never slower "
              f"(by construction): {all(r['ratio'] <= 1 + 1e-9 for r in rows)}.", ""]
    for title, pick in (("Families", lambda r: r["model"].startswith(("conv", "fc"))),
                        ("Zoo", lambda r: not r["model"].startswith(("conv", "fc")))):
        lines += [f"## {title}", "", "| model | TPUs | device | whole ms | split ms | ratio | "
                  "streamed MiB whole -> split | layers split | solve s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            if pick(r):
                lines.append(f"| {r['model']} | {r['tpus']} | {r['device']} | "
                             f"{r['whole_ms']:.2f} | {r['split_ms']:.2f} | {r['ratio']:.3f} | "
                             f"{r['whole_streamed_mib']:.2f} -> {r['split_streamed_mib']:.2f} | "
                             f"{r['layers_split']} | {r['solve_s']:.2f} |")
        lines.append("")
    slowest = max(rows, key=lambda r: r["solve_s"])
    lines += [f"Slowest solve: {slowest['model']} onto {slowest['tpus']} x {slowest['device']}, "
              f"{slowest['solve_s']:.2f} s (whole-layer plan, refined chain and rewrite "
              "included).", "", "![caches](layer_split.png)", ""]
    (args.results / "layer_split.md").write_text("\n".join(lines))
    print("\n".join(lines[:8]))


if __name__ == "__main__":
    main()
