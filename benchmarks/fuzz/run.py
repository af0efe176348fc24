"""The model reader under fuzz: inputs tried, clean errors, tracebacks by kind, crashes, hangs.

Drives ``tests/helpers/fuzzing.py`` (seeded byte and structure mutations of Coral's small
graphs and built models; load, inspect, split and simulate on each, every run in a forked
child under a 1 GiB memory cap and a timeout) and summarises it. With ``--before REV``, the
same inputs also go through the source of git revision ``REV`` (``git archive``), side by
side. Writes ``benchmarks/results/fuzz.{md,json}``.

Reproduce: ``python benchmarks/fuzz/run.py --inputs 5000 --seed 0 --before REV``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "tests" / "helpers" / "fuzzing.py"
#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS") or ROOT / "benchmarks" / "results")


def fuzz(inputs: int, seed: int, src: Path | None) -> dict[str, Any]:
    """Run the harness (on ``src`` instead of the installed tpusplit when given)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HARNESS), "--inputs", str(inputs), "--seed",
                           str(seed)], capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"fuzz harness failed: {proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    runs = rows[:-1]
    per_input: dict[int, str] = {}
    order = ["ok", "clean", "hang", "crash", "traceback"]
    for r in runs:  # an input's worst outcome over the commands
        prev = per_input.get(r["input"], "ok")
        per_input[r["input"]] = max(prev, r["outcome"], key=order.index)
    kinds: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r["outcome"] in ("traceback", "crash", "hang"):
            kind = re.sub(r": .*", "", r["detail"]) if r["outcome"] == "traceback" else r[
                "outcome"] + " " + r["detail"]
            k = kinds.setdefault(kind, {"inputs": set(), "runs": 0, "example": r})
            k["inputs"].add(r["input"])
            k["runs"] += 1
    return {
        "seconds": time.perf_counter() - t0,
        "inputs": inputs,
        "runs": len(runs),
        "by_run": dict(collections.Counter(r["outcome"] for r in runs)),
        "by_input": dict(collections.Counter(per_input.values())),
        "by_command": {c: dict(collections.Counter(r["outcome"] for r in runs
                                                   if r["command"] == c))
                       for c in sorted({r["command"] for r in runs})},
        "kinds": {k: {"inputs": len(v["inputs"]), "runs": v["runs"],
                      "example": {x: v["example"][x] for x in ("input", "mutation", "command",
                                                                 "detail")}}
                  for k, v in sorted(kinds.items(), key=lambda kv: -len(kv[1]["inputs"]))},
        "slowest": sorted(runs, key=lambda r: -r["seconds"])[:5],
    }


def old_source(rev: str, into: Path) -> Path:
    """The ``src`` tree of git revision ``rev``, with this checkout's data folder."""
    tar = into / "src.tar"
    with tar.open("wb") as f:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], stdout=f, check=True)
    with tarfile.open(tar) as t:
        t.extractall(into, filter="data")
    data = into / "src" / "tpusplit" / "data"
    if not data.exists():
        data.symlink_to(ROOT / "src" / "tpusplit" / "data")
    return into / "src"


def table(result: dict[str, Any], title: str) -> list[str]:
    b = result["by_input"]
    lines = [f"### {title}", "",
             f"{result['inputs']} inputs, {result['runs']} runs, {result['seconds']:.0f} s.",
             "", "| outcome | inputs (worst command) | runs |", "|---|---|---|"]
    for k in ("traceback", "crash", "hang", "clean", "ok"):
        lines.append(f"| {k} | {b.get(k, 0)} | {result['by_run'].get(k, 0)} |")
    lines += ["", "| kind | inputs | runs | example (input, mutation, command) |",
              "|---|---|---|---|"]
    for k, v in result["kinds"].items():
        e = v["example"]
        lines.append(f"| {k} | {v['inputs']} | {v['runs']} | {e['input']}, {e['mutation']}, "
                     f"{e['command']} |")
    if not result["kinds"]:
        lines.append("| (none) | 0 | 0 | |")
    lines += ["", "Slowest runs: " + ", ".join(
        f"{r['seconds']:.2f} s ({r['command']}, input {r['input']})" for r in result["slowest"]),
        ""]
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--inputs", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--before", help="a git revision to fuzz side by side (its src/)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True, check=False).stdout.strip()
    after = fuzz(args.inputs, args.seed, ROOT / "src")
    before = None
    if args.before:
        with tempfile.TemporaryDirectory() as tmp:
            before = fuzz(args.inputs, args.seed, old_source(args.before, Path(tmp)))
    out = {"commit": rev, "seed": args.seed, "python": platform.python_version(),
           "after": after, "before": before, "before_rev": args.before,
           "command": f"python benchmarks/fuzz/run.py --inputs {args.inputs} --seed "
                      f"{args.seed}" + (f" --before {args.before}" if args.before else "")}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "fuzz.json").write_text(json.dumps(out, indent=1) + "\n")
    lines = ["# The model reader under fuzz", "",
             f"Reproduce: `{out['command']}` (commit {rev}, Python {out['python']}). Seeded "
             "byte mutations (bit flips, edge-value words over offsets, vtables and vector "
             "lengths, truncation, duplicated and zeroed chunks) and structure mutations "
             "(non-UTF-8 text, missing inputs, absent outputs, missing options, bad shapes "
             "and indices, tensors written twice, ops writing inputs, emptied weights, "
             "reordered ops) of Coral's small graphs and built models, one to three per "
             "input; every input through load, inspect, split and simulate, each run in a "
             "forked child under a 1 GiB memory cap and a 20 s timeout. A clean error is a "
             "one-line tpusplit error naming the file.", ""]
    lines += table(after, f"Now ({rev})")
    if before is not None:
        lines += table(before, f"Before ({args.before}, the same inputs)")
    (args.results / "fuzz.md").write_text("\n".join(lines))
    print("\n".join(lines[:20]))


if __name__ == "__main__":
    main()
