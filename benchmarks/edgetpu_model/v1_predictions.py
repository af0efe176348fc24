"""Predictions of tpusplit 0.1's Edge TPU model (commit 4639155) for every observation of data/.

Usage: python benchmarks/edgetpu_model/v1_predictions.py   (about 1 minute; needs git)

The benchmark keeps the old model's figures next to the new one's so the change is visible.
This script checks the old code out into a temporary git worktree, writes every real model as
a .tflite file, and runs the old ``EdgeTPUCost`` (and, for pipelines, the old simulator) on
them with the old shipped profiles: ``edgetpu-usb3`` for the USB 3 hosts, ``edgetpu-pcie`` for
the Dev Board, ``edgetpu-usb2`` for the Raspberry Pi 3. Writes
benchmarks/edgetpu_model/v1_predictions.json: ``{"host|model|cuts|batch": ms}``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from tpusplit.calibration.measurements import coral_observations, sweep_observations
from tpusplit.models.specs import build_spec

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("v1_predictions.json")
OLD = "4639155"
OLD_PROFILE = {"usb3-x86": "edgetpu-usb3", "devboard": "edgetpu-pcie",
               "rpi4-usb3": "edgetpu-usb3", "rpi3-usb2": "edgetpu-usb2",
               "usb3-sweeps": "edgetpu-usb3"}

RUNNER = r'''
import json, sys
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.graph import load
from tpusplit.sim import simulate
jobs = json.load(open(sys.argv[1]))
graphs = {}
out = {}
for key, path, profile, cuts, batch, python in jobs:
    g = graphs.get(path) or graphs.setdefault(path, load(path))
    cost = EdgeTPUCost(g, profile)
    if not cuts:
        out[key] = cost.latency(0, len(g.ops))
    else:
        kw = {"host_ms": 0.25, "host_workers": 1} if python else {}
        out[key] = simulate(cost, cuts, batch=batch, **kw).time_per_inference_ms
json.dump(out, open(sys.argv[2], "w"))
'''


def key(host: str, model: str, cuts: tuple[int, ...], batch: int) -> str:
    """The JSON key of one observation."""
    return f"{host}|{model}|{','.join(map(str, cuts))}|{batch}"


def main() -> int:
    observations = sweep_observations() + coral_observations()
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(t / "old"),
                        OLD], check=True, capture_output=True)
        try:
            paths: dict[str, str] = {}
            jobs = []
            for o in observations:
                if o.model not in paths:
                    p = t / f"{o.model}.tflite"
                    p.write_bytes(build_spec(o.model))
                    paths[o.model] = str(p)
                jobs.append((key(o.host, o.model, o.cuts, o.batch), paths[o.model],
                             OLD_PROFILE[o.host], list(o.cuts), o.batch, o.runner == "python"))
            (t / "jobs.json").write_text(json.dumps(jobs))
            (t / "run.py").write_text(RUNNER)
            subprocess.run([sys.executable, str(t / "run.py"), str(t / "jobs.json"),
                            str(t / "out.json")], check=True,
                           env={"PYTHONPATH": str(t / "old" / "src"), "PATH": "/usr/bin:/bin"})
            OUT.write_text(json.dumps(json.loads((t / "out.json").read_text()), indent=0) + "\n")
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(t / "old")], check=False, capture_output=True)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
