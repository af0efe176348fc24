"""Bad input across every command, tried as a new user would: one line, a non-zero exit, no
traceback, no hang, nothing half-written.

Each case runs ``tpusplit`` in a fresh process (60 s timeout) and is classified: **clean**
(exit status non-zero, one ``error:`` line naming the file or option, no traceback),
**traceback**, **hang**, **not refused** (exit 0 where the input is a mistake: a silent
wrong answer), or **noisy** (refused, but in more than one line). The cases: missing,
empty, corrupt and wrong-kind files for every command that reads one; bad numbers, ranges,
names and conflicting options for every flag that takes one; plans and segment files that
do not fit together. Writes ``benchmarks/results/first_hour.{md,json}``.

Reproduce: ``python benchmarks/first_hour/run.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")


def fixtures(d: Path) -> dict[str, Path]:
    """Good and bad files the cases use."""
    from tpusplit.models.synthetic import conv, fc

    f = {"model": d / "m.tflite", "fc": d / "fc.tflite", "empty": d / "empty.tflite",
         "text": d / "text.tflite", "trunc": d / "trunc.tflite", "png": d / "x.png",
         "plan": d / "plan.json", "badplan": d / "bad.json", "otherplan": d / "other.json",
         "dir": d / "adir", "cluster_bad": d / "cluster.json", "npz_bad": d / "in.npz",
         "csv_bad": d / "meas.csv", "profile_bad": d / "profile.json"}
    f["model"].write_bytes(conv(32, layers=4, size=16))
    f["fc"].write_bytes(fc(256))
    f["empty"].write_bytes(b"")
    f["text"].write_text("hello, not a model\n")
    f["trunc"].write_bytes(conv(32, layers=4, size=16)[:500])
    f["png"].write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    f["dir"].mkdir()
    f["badplan"].write_text('{"strategy": "optimal", "cuts": "x"}')
    f["cluster_bad"].write_text('{"hosts": [{"name": "a", "devices": "gpu:2"}]}')
    f["npz_bad"].write_bytes(b"not numpy")
    f["csv_bad"].write_text("model,latency\nfoo,bar\n")
    f["profile_bad"].write_text('{"name": "x", "reread_mib": 0}')
    subprocess.run([sys.executable, "-m", "tpusplit_launch", "plan", str(f["model"]), "--tpus",
                    "2", "--replicas", "1", "-o", str(f["plan"])], check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "tpusplit_launch", "plan", str(f["fc"]), "--tpus",
                    "2", "-o", str(f["otherplan"])], check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "tpusplit_launch", "split", str(f["model"]), "--cuts",
                    "1,2", "-o", str(d / "segs")], check=True, capture_output=True)
    return f


def cases(f: dict[str, Path], d: Path) -> list[list[str]]:
    """The bad invocations (paths as strings)."""
    m, segs = str(f["model"]), sorted(str(p) for p in (d / "segs").glob("*.tflite"))
    out: list[list[str]] = []
    readers = [["inspect"], ["split", "--cuts", "1", "-o", str(d / "o")],
               ["plan", "--tpus", "2"], ["simulate"], ["run", "--random", "1"],
               ["plan", "--tpus", "2", "--split-layers"]]
    for bad in ("empty", "text", "trunc", "png", "dir"):
        for r in readers:
            out.append([r[0], str(f[bad]), *r[1:]])
        out.append(["inspect", str(d / f"missing_{bad}.tflite")])
    for flag in (["--tpus", "0"], ["--tpus", "-3"], ["--tpus", "many"], ["--tpus", "999",
                 "--replicas", "1"], ["--tpus", "2", "--strategy", "best"],
                 ["--tpus", "2", "--device", "gpu"], ["--tpus", "2", "--batch", "0"],
                 ["--tpus", "2", "--runner", "java"], ["--tpus", "2", "--clock", "fast"],
                 ["--tpus", "2", "--host-ms", "-1"], ["--tpus", "2", "--cost", "magic"],
                 ["--tpus", "2", "--coral", "maybe"], ["--devices", "gpu:2"],
                 ["--devices", "usb3:0"], ["--devices", "usb3:x"], ["--devices", ""],
                 ["--devices", "usb3:2", "--tpus", "2"], ["--devices", "usb3:2",
                 "--strategy", "balanced"], ["--tpus", "2", "--objective", "speed"],
                 ["--tpus", "auto", "--target-ips", "-5"], ["--tpus", "auto", "--max-tpus",
                 "0"], ["--tpus", "2", "-o", str(f["dir"])], ["--tpus", "2", "--replicas", "0"],
                 ["--cluster", str(f["cluster_bad"])], ["--cluster", str(d / "nope.json")],
                 ["--tpus", "2", "--device", "cpu", "--cost", "model"],
                 ["--tpus", "2", "--device", str(f["profile_bad"])],
                 ["--tpus", "2", "--device", "edgetpu", "--cost", "profile"]):
        out.append(["plan", m, *flag])
    for flag in (["--cuts", "0"], ["--cuts", "9"], ["--cuts", "2,1"], ["--cuts", "a"],
                 ["--cuts", "1,1"], ["--batch", "0"], ["--batch", "1000000000"],
                 ["--buses", "0,0"], ["--buses", "x,y"], ["--queue-size", "0"],
                 ["--plot", str(d / "g.txt")], ["--plot", str(f["dir"])],
                 ["--plan", str(f["badplan"])], ["--plan", str(f["otherplan"])],
                 ["--plan", str(f["plan"]), "--cuts", "1"],
                 ["--plan", str(f["plan"]), "--device", "edgetpu-usb2"],
                 ["--device", "null"], ["--runner", "x"], ["--clock", "std", "--device", "cpu"]):
        out.append(["simulate", m, *flag])
    for flag in (["--cuts", "0", "-o", str(d / "o1")], ["--cuts", "", "-o", str(d / "o2")],
                 ["-o", str(d / "o3")], ["--cuts", "1", "--plan", str(f["plan"]), "-o",
                 str(d / "o4")], ["--plan", str(f["otherplan"]), "-o", str(d / "o5")],
                 ["--cuts", "1", "-o", str(f["model"])],
                 ["--plan", str(f["badplan"]), "-o", str(d / "o6")]):
        out.append(["split", m, *flag])
    for flag in (["--cuts", "9"], ["--plan", str(f["otherplan"])], ["--plan", str(f["badplan"])],
                 ["--random", "0"], ["--random", "2", "--inputs", str(f["npz_bad"])],
                 ["--inputs", str(f["npz_bad"])], ["--inputs", str(d / "none.npz")],
                 ["--cuts", "1", "--device", "gpu"], ["--cuts", "1", "--threads", "0"],
                 ["--cuts", "1", "--queue-size", "0"], ["--cuts", "1", "--tpu-map", "0:usb:0"],
                 ["--cuts", "1", "--cluster-spec", str(f["cluster_bad"])],
                 ["--cuts", "1", "--hosts", "a,b"], ["--cuts", "1", "--simulate-tpu"],
                 ["--cuts", "1", "--cluster", "127.0.0.1:1"],
                 ["--cuts", "1", "--pin", "--cluster", "auto"]):
        out.append(["run", m, *flag])
    out += [["run", *segs[:2], "--random", "1"], ["run", segs[1], segs[0], segs[2], "--random",
            "1"], ["run", *segs, "--check", "--random", "1"], ["run", *segs, "--reference",
            str(f["fc"]), "--random", "1"], ["run", *segs, "--reference", str(f["text"]),
            "--random", "1"]]
    out += [["demo", "--filters", "0"], ["demo", "--filters", "100000"], ["demo", "--tpus",
            "9"], ["demo", "--device", "cpu"], ["demo", "--devices", "usb3:2", "--tpus", "2"],
            ["demo", "--devices", "gpu:1"], ["demo", "--random", "0"], ["demo", "-o",
            str(f["model"])], ["demo", "--runner", "x"], ["demo", "--clock", "slow"]]
    out += [["calibrate", str(f["csv_bad"]), "-o", str(d / "p.json")], ["calibrate",
            str(d / "none.csv"), "-o", str(d / "p.json")], ["calibrate", str(f["text"]), "-o",
            str(f["dir"])], ["zoo", "build", "NoSuchNet"], ["zoo", "frobnicate"],
            ["predictor", "train", str(f["csv_bad"]), "-o", str(d / "p.pkl")],
            ["predictor", "collect", "--device", "gpu", "-o", str(d / "c.csv")],
            ["cluster", "probe", "-o", str(f["dir"])], ["bench", "nosuch"], ["nosuchcommand"],
            ["plan"], ["inspect", m, "--cuts", "1"]]
    out += [["plan", m, "--devices", "usb3:2", "--split-layers"],
            ["plan", m, "--tpus", "2", "--cost", "profile", "--split-layers"],
            ["plan", m, "--cluster", str(f["cluster_bad"]), "--compare"],
            ["plan", m, "--tpus", "2", "--profile-cache", str(f["dir"]), "--cost", "profile"],
            ["plan", str(f["text"]), "--devices", "usb3:2"],
            ["simulate", m, "--plan", str(f["plan"]), "--plot", str(d / "g.xyz")],
            ["simulate", m, "--cuts", "1,2", "--buses", "0,1"],
            ["simulate", str(f["fc"]), "--plan", str(f["plan"])],
            ["split", m, "--cuts", "1", "--compile", "-o", str(d / "o7")],
            ["split", str(f["fc"]), "--plan", str(f["plan"]), "-o", str(d / "o8")],
            ["run", *segs, "--tpu-map", "0:usb:0", "--random", "1"],
            ["run", *segs, "--check", "--reference", str(f["dir"]), "--random", "1"],
            ["run", m, "--plan", str(f["plan"]), "--inputs", str(f["dir"])],
            ["run", m, "--plan", str(f["plan"]), "--device", "edgetpu", "--random", "1"],
            ["run", m, "--cuts", "1", "--cluster-spec", str(f["cluster_bad"])],
            ["devices", "--bogus"], ["zoo", "list", "--bogus"], ["zoo", "build", "ResNet50",
            "--samples",
            "0"], ["predictor", "eval", str(d / "none.pkl"), str(f["csv_bad"])],
            ["calibrate", str(f["csv_bad"])], ["cluster", "probe", "-o", str(d / "c.json"),
            "--sizes", "x"], ["bench", "partition", "--nonsense-flag"]]
    return out


def classify(proc: subprocess.CompletedProcess[str] | None) -> str:
    if proc is None:
        return "hang"
    err = proc.stderr
    if "Traceback (most recent call last)" in err or "Traceback" in proc.stdout:
        return "traceback"
    if proc.returncode == 0:
        return "not refused"
    lines = [line for line in err.strip().splitlines()
             if not line.startswith(("warning:", "note:"))]
    return "clean" if len(lines) == 1 and lines[0].startswith("error:") else "noisy"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        f = fixtures(d)
        for case in cases(f, d):
            start = time.perf_counter()
            try:
                proc: subprocess.CompletedProcess[str] | None = subprocess.run(
                    [sys.executable, "-m", "tpusplit_launch", *case], capture_output=True,
                    text=True, timeout=60, cwd=tmp)
            except subprocess.TimeoutExpired:
                proc = None
            kind = classify(proc)
            shown = [a.replace(tmp, "$TMP") for a in case]
            first = ("" if proc is None else (proc.stderr.strip().splitlines() or [""])[0]
                     if kind != "not refused" else proc.stdout.strip()[:120])
            rows.append({"args": shown, "outcome": kind, "exit": None if proc is None
                         else proc.returncode, "first_line": first.replace(tmp, "$TMP")[:300],
                         "seconds": round(time.perf_counter() - start, 2)})
            print(kind, " ".join(shown), flush=True)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "first_hour.json").write_text(json.dumps(
        {"counts": counts, "rows": rows, "seconds": time.perf_counter() - t0}, indent=1) + "\n")
    lines = ["# Bad input across every command", "",
             "Reproduce: `python benchmarks/first_hour/run.py`. Each case a fresh `tpusplit` "
             "process (60 s timeout); clean = non-zero exit and one `error:` line without a "
             "traceback.", "", f"Cases: {len(rows)}. " + ", ".join(
                 f"{k}: {v}" for k, v in sorted(counts.items())), "",
             "| outcome | command | first line |", "|---|---|---|"]
    for r in rows:
        cmd = " ".join(r["args"]).replace("|", "\\|")
        lines.append(f"| {r['outcome']} | `{cmd}` | {r['first_line'].replace('|', '/')} |")
    (args.results / "first_hour.md").write_text("\n".join(lines) + "\n")
    print(counts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
