"""Replica benchmark: how fast ``partition.replica_partition`` plans stages and replicas.

Usage: python benchmarks/replicas/run.py [--models ResNet152,NASNetMobile] [--tpus 8]
       [--repeats 3]

On the chains of the partition benchmark (``benchmarks/partition``: ResNet152 and
NASNetMobile on 8 TPUs, Edge TPU model) when they are built (``tpusplit zoo build``, needs
TensorFlow), and always on two stand-ins built without TensorFlow: InceptionV4-slim (203
ops, like ResNet152's 211) and a seeded random branching net of about NASNetMobile's size
(``random_net``, 567 ops, 5.5 MiB of parameters, like NASNetMobile's 5.3 M), and the same
net four times wider (49 MiB: it does not fit one TPU, so stages matter: the hard case, no
target). Per chain and cost source (the Edge TPU model on USB 3, PCIe,
USB 2 with its lower bound; ``additive`` with a link cost and its exact bound), with an empty
cost cache each run, best of ``--repeats``:

* the hybrid optimum (stages and replicas), pure replicas (``max_stages=1``), the pure
  pipeline (``max_replicas=1``) and the hybrid with a Python runner's host time (1 ms per
  stage, serialised), their solve seconds, evaluations, period and plan;
* ``minmax`` for the pure pipeline at exactly N stages (today's ``optimal``), for the
  solve time it is compared with;
* the checks: the hybrid is never worse than pure replicas or the pure pipeline, and the pure
  pipeline equals the best ``minmax`` over 1..N stages, for every N = 1..``--tpus``.

Writes benchmarks/results/replicas.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tpusplit.costs.additive import AdditiveCost
from tpusplit.costs.base import CostSource
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.graph import Graph, load
from tpusplit.models import zoo
from tpusplit.models.random_net import random_net
from tpusplit.partition import minmax, replica_partition

#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS")
               or Path(__file__).resolve().parents[1] / "results")
SOURCES = ("edgetpu-usb3", "edgetpu-pcie", "edgetpu-usb2", "additive")
#: The partition benchmark's targets: (chain, source kind, seconds); the stand-ins are held
#: to their model's target.
TARGETS = (("ResNet152", "edgetpu", 0.1), ("InceptionV4-slim", "edgetpu", 0.1),
           ("NASNetMobile", "any", 1.0), ("random_net-567", "any", 1.0))
#: The variants: name and keyword arguments of replica_partition.
VARIANTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("hybrid", {}), ("replicas", {"max_stages": 1}), ("pipeline", {"max_replicas": 1}),
    ("hybrid+python-host", {"host": 1.0, "serial": 1.0}))


def chains(names: list[str]) -> list[tuple[str, Graph]]:
    """The zoo models of ``names`` that are built, then the two stand-ins."""
    out = [(m, load(zoo.zoo_path(m), name=m)) for m in names if m in set(zoo.available())]
    out.append(("InceptionV4-slim", load(zoo.model_bytes("InceptionV4-slim"),
                                         name="InceptionV4-slim")))
    for channels, tag in ((32, ""), (96, "-49MiB")):
        net = load(random_net(0, size=64, channels=channels, stages=3, blocks_per_stage=54),
                   name="random_net")
        out.append((f"random_net-{len(net.ops)}{tag}", net))
    return out


def make(graph: Graph, source: str) -> CostSource:
    """A fresh cost source (empty cache)."""
    if source == "additive":
        return AdditiveCost(graph, fixed_ms=0.1, link_ms_per_mib=10.0)
    return EdgeTPUCost(graph, source)


def timed(graph: Graph, source: str, solve: Callable[[CostSource], Any], repeats: int
          ) -> tuple[float, int, Any]:
    """Best-of-``repeats`` seconds, evaluations of the fastest run and its result."""
    best: tuple[float, int, Any] | None = None
    for _ in range(repeats):
        cost = make(graph, source)
        t0 = time.perf_counter()
        got = solve(cost)
        dt = time.perf_counter() - t0
        if best is None or dt < best[0]:
            best = (dt, cost.evaluations, got)
    assert best is not None
    return best


def checks(graph: Graph, source: str, tpus: int) -> dict[str, Any]:
    """For N = 1..tpus: hybrid <= min(replicas, pipeline); pipeline == min over k minmax."""
    n = len(graph.ops)
    cost = make(graph, source)
    known: dict[tuple[int, int], float] = {}
    bound = cost.lower_bound()
    never_worse = pipeline_exact = True
    for devices in range(1, tpus + 1):
        got = {name: replica_partition(n, devices, cost.latency, lower=bound, known=known,
                                       **kw).value for name, kw in VARIANTS[:3]}
        never_worse &= got["hybrid"] <= min(got["replicas"], got["pipeline"])
        best_k = min(minmax(n, k, cost.latency, lower=bound, known=known).value
                     for k in range(1, min(n, devices) + 1))
        pipeline_exact &= got["pipeline"] == best_k
    return {"never_worse": bool(never_worse), "pipeline_equals_minmax": bool(pipeline_exact)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="ResNet152,NASNetMobile", help="zoo models, if built")
    p.add_argument("--tpus", type=int, default=8, help="devices")
    p.add_argument("--repeats", type=int, default=3, help="runs of each, the best is kept")
    args = p.parse_args(argv)
    names = args.models.split(",") if args.models else []
    skipped = [m for m in names if m not in set(zoo.available())]
    rows = []
    for name, graph in chains(names):
        n = len(graph.ops)
        for source in SOURCES:
            row: dict[str, Any] = {"chain": name, "ops": n, "tpus": args.tpus,
                                   "source": source}
            for variant, kw in VARIANTS:
                s, ev, plan = timed(graph, source, lambda c, kw=kw: replica_partition(
                    len(c.graph.ops), args.tpus, c.latency, lower=c.lower_bound(), **kw),
                    args.repeats)
                row[variant] = {"s": s, "evaluations": ev, "period_ms": plan.value,
                                "latency_ms": plan.latency, "cuts": list(plan.cuts),
                                "replicas": list(plan.replicas)}
            s, ev, part = timed(graph, source, lambda c: minmax(
                len(c.graph.ops), args.tpus, c.latency, lower=c.lower_bound(), fill=True),
                args.repeats)
            row["minmax"] = {"s": s, "evaluations": ev, "period_ms": part.value}
            row.update(checks(graph, source, args.tpus))
            rows.append(row)
            h = row["hybrid"]
            print(f"{name:18s} {source:13s} hybrid {h['s']:.3f} s ({h['evaluations']:4d} ev) "
                  f"{h['period_ms']:8.3f} ms {h['replicas']}  pipeline "
                  f"{row['pipeline']['period_ms']:8.3f}  replicas "
                  f"{row['replicas']['period_ms']:8.3f}  minmax {s:.3f} s  "
                  f"checks {row['never_worse']} {row['pipeline_equals_minmax']}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"command": " ".join(["python benchmarks/replicas/run.py", *(argv or sys.argv[1:])]),
            "machine": f"{platform.machine()} python {platform.python_version()}",
            "tpus": args.tpus, "repeats": args.repeats, "skipped_not_built": skipped}
    (RESULTS / "replicas.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1)
                                           + "\n")
    (RESULTS / "replicas.md").write_text(report(meta, rows))
    return 0 if all(r["never_worse"] and r["pipeline_equals_minmax"] for r in rows) else 1


def _plan(v: dict[str, Any]) -> str:
    return "x".join(str(r) for r in v["replicas"]) + f" ({len(v['replicas'])} st.)"


def report(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The markdown page."""
    lines = [f"# Replicas: stages and replica counts on {meta['tpus']} devices, solve time", "",
             f"Command: `{meta['command']}` ({meta['machine']}, best of {meta['repeats']} runs, "
             "empty cost cache every run; 2 shared cores).", "",
             "`tpusplit.partition.replica_partition` (exact; lazy evaluation on the cost "
             "source's lower bound). Variants: hybrid (stages and replicas), pure replicas "
             "(`max_stages=1`), pure pipeline (`max_replicas=1`), hybrid with a Python "
             "runner's host time (`host=serial=1` ms per stage). `minmax`: today's pure "
             "pipeline at exactly N stages, for comparison. Plans as replicas per stage.", "",
             "| chain | ops | cost source | hybrid s | evals | period ms | plan | pipeline s | "
             "pipeline ms | replicas ms | +host s | +host ms | +host plan | minmax s | "
             "never worse (N=1..8) | pipeline = minmax |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        h, pl, rp, hh, mm = (r[k] for k in ("hybrid", "pipeline", "replicas",
                                            "hybrid+python-host", "minmax"))
        lines.append(f"| {r['chain']} | {r['ops']} | {r['source']} | {h['s']:.3f} | "
                     f"{h['evaluations']} | {h['period_ms']:.3f} | {_plan(h)} | {pl['s']:.3f} | "
                     f"{pl['period_ms']:.3f} | {rp['period_ms']:.3f} | {hh['s']:.3f} | "
                     f"{hh['period_ms']:.3f} | {_plan(hh)} | {mm['s']:.3f} | "
                     f"{'yes' if r['never_worse'] else 'NO'} | "
                     f"{'yes' if r['pipeline_equals_minmax'] else 'NO'} |")
    lines += ["", "## The partition benchmark's targets", ""]
    for chain, kind, limit in TARGETS:
        sel = [r for r in rows if r["chain"] == chain
               and (r["source"].startswith("edgetpu") if kind == "edgetpu" else True)]
        for r in sel:
            worst = max(r[v]["s"] for v, _ in VARIANTS)
            ok = "met" if worst < limit else "NOT met"
            lines.append(f"- {r['chain']} on {r['source']}: slowest variant {worst:.3f} s "
                         f"(target < {limit} s: {ok})")
        if not sel:
            lines.append(f"- {chain}: not built, not measured")
    if meta["skipped_not_built"]:
        lines += ["", f"Not built here (no TensorFlow; skipped): "
                  f"{', '.join(meta['skipped_not_built'])}; the stand-ins are measured instead."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
