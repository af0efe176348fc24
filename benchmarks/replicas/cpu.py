"""Replicas vs stages on this machine's CPU cores, measured side by side.

Usage: python benchmarks/replicas/cpu.py [--models MobileNetV2,ResNet50] [--inputs 60]
       [--rounds 3]    (run it alone: it uses both cores)

For each model (the zoo's Keras MobileNetV2 and ResNet50 when built, else the slim
MobileNetV2 and InceptionV1 rebuilt without TensorFlow), interleaved over ``--rounds`` rounds
(medians reported), on the same random inputs:

* **whole model, 2 threads**: one LiteRT interpreter with ``num_threads=2``;
* **2 replicas x 1 stage**: tpusplit's threaded runner with the whole model loaded twice
  (one thread each), inputs dealt to the free replica;
* **1 replica x 2 stages**: the runner with two segments cut where the CPU profiler
  (``ProfilerCost``, measured here) says the exact 2-stage optimum is.

Every result of every run is checked bit-exact against the whole model. Writes
benchmarks/results/replicas_cpu.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load, split
from tpusplit.models import zoo
from tpusplit.models.specs import build_spec
from tpusplit.pipeline import LiteRTStage, measure_pipeline
from tpusplit.pipeline.assemble import io_names, random_feeds, whole_model
from tpusplit.profiling.cpu import ProfilerCost
from tpusplit.strategies import plan

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
FALLBACK = {"MobileNetV2": "MobileNetV2-slim", "ResNet50": "InceptionV1-slim"}


def graph_of(name: str) -> Graph:
    """The zoo model, or its stand-in built without TensorFlow when it is not built here."""
    try:
        return load(build_spec(name), name=name)
    except TpusplitError:
        if name in FALLBACK and zoo.ZOO[name].kind == "keras":
            print(f"{name} not built: using {FALLBACK[name]}", file=sys.stderr)
            return load(build_spec(FALLBACK[name]), name=FALLBACK[name])
        raise


def whole_2threads(model: bytes, feeds: list[dict[str, np.ndarray]], outputs: list[str]
                   ) -> tuple[float, list[dict[str, np.ndarray]]]:
    stage = LiteRTStage(model, num_threads=2)
    stage.run(feeds[0])
    t0 = time.perf_counter()
    results = [stage.run(f) for f in feeds]
    return (time.perf_counter() - t0) * 1000 / len(feeds), [
        {n: r[n] for n in outputs} for r in results]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="MobileNetV2,ResNet50")
    ap.add_argument("--inputs", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for name in args.models.split(","):
        graph = graph_of(name)
        whole = whole_model(graph)
        outputs = io_names(graph)[1]
        feeds = random_feeds(graph, args.inputs, seed=0)
        reference = whole_2threads(whole, feeds, outputs)[1]
        cost = ProfilerCost(graph)
        cuts = list(plan(graph, 2, cost, "optimal").cuts)
        segments = split(graph, cuts)
        times: dict[str, list[float]] = {"whole model, 2 threads": [],
                                         "2 replicas x 1 stage": [],
                                         "1 replica x 2 stages": []}
        exact = True
        for _ in range(args.rounds):
            ms, got = whole_2threads(whole, feeds, outputs)
            times["whole model, 2 threads"].append(ms)
            for label, stages in (
                    ("2 replicas x 1 stage", [[LiteRTStage(whole), LiteRTStage(whole)]]),
                    ("1 replica x 2 stages", [LiteRTStage(s) for s in segments])):
                m = measure_pipeline(stages, feeds, outputs=outputs, keep_results=True)
                times[label].append(m.time_per_inference_ms)
                got = m.results
                exact &= all(all(np.array_equal(a[n], b[n]) for n in outputs)
                             for a, b in zip(got, reference, strict=True))
        row = {"model": graph.name, "ops": len(graph.ops), "cuts": cuts, "bit_exact": exact,
               **{k: statistics.median(v) for k, v in times.items()}}
        rows.append(row)
        print(json.dumps(row), flush=True)
    lines = ["# Replicas vs stages on this machine's 2 CPU cores (measured)", "",
             f"Reproduce: `python benchmarks/replicas/cpu.py --models {args.models} --inputs "
             f"{args.inputs} --rounds {args.rounds}` ({platform.platform()}, Python "
             f"{platform.python_version()}). Medians of {args.rounds} interleaved rounds of "
             f"{args.inputs} inputs; ms per inference (lower is better); every output "
             "compared with the whole model.", "",
             "| model | whole model, 2 threads | 2 replicas x 1 stage | 1 replica x 2 stages "
             "(cut) | bit-exact |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['whole model, 2 threads']:.2f} | "
                     f"{r['2 replicas x 1 stage']:.2f} | {r['1 replica x 2 stages']:.2f} "
                     f"({r['cuts'][0]}) | {'yes' if r['bit_exact'] else 'NO'} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "replicas_cpu.md").write_text("\n".join(lines) + "\n")
    (args.out / "replicas_cpu.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
