"""Split benchmark: load and split time per model, and bit-exactness of every single cut.

Usage: python benchmarks/split/run.py [--models ResNet50,InceptionV3] [--multi 20]
       (or ``tpusplit bench split``)

For each model (zoo models that are built, and the synthetic conv F=682): time to load the
graph, time to split it into 2, 4 and 8 segments (even parameter split), and for EVERY single cut
k in 1..n-1 whether the two segments, run one after the other on LiteRT, give byte-identical
outputs AND boundary tensors to the whole model (LiteRT preserve_all_tensors) on a
random input; then ``--multi`` random multi-cut splits.
Writes benchmarks/results/split.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from tpusplit.graph import load, split
from tpusplit.models import zoo
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import LiteRTStage, random_inputs, run_sequential
from tpusplit.pipeline.litert import all_tensors
from tpusplit.units import MiB

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")


def even_param_cuts(graph, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Cuts that give each segment about 1/n of the parameters (for split timing only)."""
    cum = graph.cumulative_param_bytes
    cuts = sorted({int(np.searchsorted(cum, graph.param_bytes * i / n)) for i in range(1, n)})
    cuts = [c for c in cuts if 0 < c < len(graph.ops)]
    return cuts


def bit_exact(graph, cuts: list[int], feeds, expected, reference) -> bool:  # type: ignore[no-untyped-def]
    """Outputs AND every tensor crossing a cut equal the whole model's, byte for byte."""
    env = run_sequential([LiteRTStage(s) for s in split(graph, cuts)], feeds)
    crossing = {graph.tensors[t].name for c in cuts for t in graph.crossing(c)}
    return (all(np.array_equal(env[k], v) for k, v in expected.items())
            and all(np.array_equal(env[k], reference[k]) for k in crossing))


def bench_model(name: str, data: bytes, multi: int) -> dict[str, object]:
    t0 = time.perf_counter()
    graph = load(data, name=name)
    load_s = time.perf_counter() - t0
    split_s = {}
    for n in (2, 4, 8):
        cuts = even_param_cuts(graph, n)
        t0 = time.perf_counter()
        split(graph, cuts)
        split_s[n] = time.perf_counter() - t0
    whole = LiteRTStage(data)
    feeds = random_inputs(whole, seed=0)
    expected = whole.run(feeds)
    reference = all_tensors(data, feeds)
    n_ops = len(graph.ops)
    single_ok = [k for k in range(1, n_ops) if bit_exact(graph, [k], feeds, expected, reference)]
    rng = np.random.default_rng(0)
    multi_ok = 0
    for _ in range(multi):
        m = int(rng.integers(2, min(8, n_ops - 1) + 1))
        cuts = sorted(int(c) for c in rng.choice(np.arange(1, n_ops), size=m, replace=False))
        multi_ok += bit_exact(graph, cuts, feeds, expected, reference)
    return {
        "model": name, "ops": n_ops, "param_mib": graph.param_bytes / MiB,
        "load_s": load_s, "split_s": split_s,
        "single_cuts": n_ops - 1, "single_cuts_bit_exact": len(single_ok),
        "multi_cut_splits": multi, "multi_cut_bit_exact": multi_ok,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(zoo.ZOO), help="zoo models to try")
    p.add_argument("--multi", type=int, default=20, help="random multi-cut splits per model")
    args = p.parse_args(argv)
    models: list[tuple[str, bytes]] = [("conv_F682", conv(682))]
    skipped = []
    for name in args.models.split(","):
        if name in zoo.available():
            models.append((name, zoo.zoo_path(name).read_bytes()))
        else:
            skipped.append(name)
    rows = []
    for name, data in models:
        print(f"{name} ...", flush=True)
        rows.append(bench_model(name, data, args.multi))
        print(f"  {rows[-1]}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"command": " ".join(["python benchmarks/split/run.py", *(argv or sys.argv[1:])]),
            "machine": f"{platform.machine()} python {platform.python_version()}",
            "skipped_not_built": skipped}
    (RESULTS / "split.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    lines = ["# Split: load and split time, bit-exactness of every cut", "",
             f"Command: `{meta['command']}`", "",
             "| model | ops | params MiB | load s | split 2/4/8 s | single cuts bit-exact | "
             "random multi-cut splits bit-exact |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        s = r["split_s"]
        lines.append(f"| {r['model']} | {r['ops']} | {r['param_mib']:.1f} | {r['load_s']:.3f} | "
                     f"{s[2]:.3f} / {s[4]:.3f} / {s[8]:.3f} | "
                     f"{r['single_cuts_bit_exact']}/{r['single_cuts']} | "
                     f"{r['multi_cut_bit_exact']}/{r['multi_cut_splits']} |")
    if skipped:
        lines += ["", f"Not built (run `tpusplit zoo build`): {', '.join(skipped)}"]
    (RESULTS / "split.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    bad = [r for r in rows if r["single_cuts_bit_exact"] != r["single_cuts"]
           or r["multi_cut_bit_exact"] != r["multi_cut_splits"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
