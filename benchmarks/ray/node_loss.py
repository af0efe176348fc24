"""How long the Ray runner takes to report a node that freezes mid-run, against Ray alone.

Usage: python benchmarks/ray/node_loss.py [--answer-timeout 10]   (about 90 s; needs Ray)

A local Ray cluster (``ray.cluster_utils.Cluster`` on loopback): a head with resource
``hostA`` and a second node ``hostD`` that runs stage 1 of a 3-stage pipeline (conv F=8,
stages paced at 1, 25 and 1 ms). After 4 results the second node's raylet and the stage's
actor process are stopped with SIGSTOP, as when a host hangs or its network goes: nothing
closes a connection, so only timeouts can tell. Measured, one after the other in one run:
the seconds from the freeze to the pipeline's one-line StageError with the runner's
liveness call (``--answer-timeout``, the default 10 s), and with it out of the way
(``answer_timeout`` = 1e9: Ray's own node failure detection).

Writes benchmarks/results/ray_node_loss.{md,json} (``$TPUSPLIT_RESULTS`` when set).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")


def freeze_once(answer_timeout: float) -> dict[str, Any]:
    """One cluster, one pipeline, one frozen node: seconds until the StageError."""
    import ray
    from ray.cluster_utils import Cluster

    from tpusplit.graph import load, split
    from tpusplit.models.synthetic import conv
    from tpusplit.pipeline import StageError
    from tpusplit.pipeline.inputs import random_feeds
    from tpusplit.pipeline.paced import PacedBackend
    from tpusplit.pipeline.ray_runner import ActorPlacement, RayPipeline, connect, disconnect

    store = 80 << 20
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 2, "resources": {"hostA": 4}, "object_store_memory": store})
    node = cluster.add_node(num_cpus=1, resources={"hostD": 4}, object_store_memory=store)
    cluster.wait_for_nodes()
    connect(cluster.address)
    graph = load(conv(8, layers=4, size=16))
    feeds = random_feeds(graph, 400)
    places = [ActorPlacement(resources={n: 1}, label=n) for n in ("hostA", "hostD", "hostA")]
    frozen: list[int] = []
    out: dict[str, Any] = {"answer_timeout_s": answer_timeout}
    try:
        with RayPipeline(split(graph, [2, 4]), backend=PacedBackend([1.0, 25.0, 1.0]),
                         max_in_flight=4, placements=places,
                         answer_timeout=answer_timeout) as pipe:
            pid = ray.get(pipe.actors[1].__ray_call__.remote(lambda self: os.getpid()))
            raylet = node.all_processes["raylet"][0].process.pid
            t0 = time.perf_counter()
            try:
                for k, _ in enumerate(pipe.run(feeds)):
                    if k == 3:
                        for p in (raylet, pid):
                            os.kill(p, signal.SIGSTOP)
                            frozen.append(p)
                        t0 = time.perf_counter()
                out["error"] = None
            except StageError as exc:
                out["error"] = str(exc)
            out["seconds"] = time.perf_counter() - t0
    finally:
        for p in frozen:
            os.kill(p, signal.SIGKILL)
        disconnect()
        cluster.shutdown()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answer-timeout", type=float, default=10.0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    os.environ.setdefault("RAY_TMPDIR", tempfile.mkdtemp(prefix="tpusplit-ray-", dir="/tmp"))
    rows = [freeze_once(args.answer_timeout), freeze_once(1e9)]
    res = {"rows": rows, "machine": platform.platform()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ray_node_loss.json").write_text(json.dumps(res, indent=1))
    lines = ["# A node that freezes mid-run: how long until the one-line error", "",
             f"Reproduce: `python benchmarks/ray/node_loss.py --answer-timeout "
             f"{args.answer_timeout:g}` (one run, both rows). The node running stage 1 is "
             "stopped with SIGSTOP (raylet and actor process) after 4 results.", "",
             "| liveness call | seconds to the error | error |", "|---|---|---|"]
    for r in rows:
        what = ("none (Ray's own detection)" if r["answer_timeout_s"] >= 1e8
                else f"answer within {r['answer_timeout_s']:g} s")
        lines.append(f"| {what} | {r['seconds']:.1f} | {r['error'] or 'no error'} |")
    (args.out / "ray_node_loss.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
