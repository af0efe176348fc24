"""Long chains: time and memory of ``optimal`` and ``balanced`` on models of thousands of ops.

Usage: python benchmarks/partition/long_chain.py [--ops 1000,3000,6000] [--tpus 8]

Each size runs in a fresh process (so the peak resident memory is the plan's own): the conv
family with that many 3x3 layers at 8x8 (``tpusplit.models.synthetic.conv(16, layers=n,
size=8)``), planned onto ``--tpus`` TPUs on the Edge TPU model (USB 3). Reported: seconds,
the process's peak resident memory before and after planning (MiB, ``ru_maxrss``), and the
peak of Python allocations during planning (``tracemalloc``, in a second run, which it slows
down). Target (issue 19): a 3,000-op model under 2 s and 300 MB.

Writes benchmarks/results/partition_long_chain.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")

CHILD = r"""
import json, resource, sys, time, tracemalloc
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.graph import load
from tpusplit.models.synthetic import conv
from tpusplit.strategies import plan
n, tpus, strategy, trace = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
g = load(conv(16, layers=n, size=8))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if trace:
    tracemalloc.start()
t0 = time.perf_counter()
p = plan(g, tpus, EdgeTPUCost(g), strategy)
seconds = time.perf_counter() - t0
print(json.dumps({"ops": len(g.ops), "seconds": seconds, "rss_before_mib": before,
                  "rss_after_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "traced_peak_mib": tracemalloc.get_traced_memory()[1] / 2**20 if trace
                  else None, "bottleneck_ms": p.bottleneck_ms, "cuts": list(p.cuts)}))
"""


def run(n: int, tpus: int, strategy: str, trace: bool) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(tpus), strategy,
                          "1" if trace else "0"], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ops", default="1000,3000,6000")
    ap.add_argument("--tpus", type=int, default=8)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows = []
    for n in (int(x) for x in args.ops.split(",")):
        for strategy in ("optimal", "balanced"):
            r = run(n, args.tpus, strategy, trace=False)
            r["traced_peak_mib"] = run(n, args.tpus, strategy, trace=True)["traced_peak_mib"]
            r.update(strategy=strategy, layers=n)
            rows.append(r)
            print(f"{n} layers ({r['ops']} ops), {strategy}: {r['seconds']:.2f} s, rss "
                  f"{r['rss_before_mib']:.0f} -> {r['rss_after_mib']:.0f} MiB, traced peak "
                  f"{r['traced_peak_mib']:.0f} MiB", flush=True)
    lines = ["# Long chains: time and memory of the exact planners", "",
             f"Reproduce: `python benchmarks/partition/long_chain.py --ops {args.ops} --tpus "
             f"{args.tpus}` ({platform.platform()}, Python {platform.python_version()}). Each "
             "row is a fresh process; memory is the process's peak resident set before and "
             "after planning, and the peak of Python allocations while planning (a second "
             "run under tracemalloc).", "",
             "| ops | strategy | seconds | RSS before MiB | RSS after MiB | allocations peak MiB |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['ops']} | {r['strategy']} | {r['seconds']:.2f} | "
                     f"{r['rss_before_mib']:.0f} | {r['rss_after_mib']:.0f} | "
                     f"{r['traced_peak_mib']:.0f} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "partition_long_chain.md").write_text("\n".join(lines) + "\n")
    (args.out / "partition_long_chain.json").write_text(json.dumps(rows, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
