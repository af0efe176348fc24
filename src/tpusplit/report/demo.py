"""What ``tpusplit demo`` prints at its planning and splitting steps."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console

from tpusplit.graph import Graph, segments
from tpusplit.report.format import op_range
from tpusplit.report.plan import compare_table, plan_summary, plan_table
from tpusplit.strategies import Plan
from tpusplit.strategies.base import DEFAULT_BATCH
from tpusplit.strategies.outcome import Planning
from tpusplit.units import MiB


def show_strategies(out: Console, found: Planning) -> Plan:
    """Step 2 with ``--tpus``: every strategy on N identical simulated TPUs; returns the best
    plan (smallest bottleneck, ``optimal`` first among equals)."""
    comparison = found.comparison
    assert comparison is not None and found.cost is not None
    n, device = found.target.count, found.cost.device
    out.rule(f"2. plan: every strategy, {n} x {device} (performance model)")
    if comparison.skipped:
        why = next(iter(comparison.skipped.values()))
        if "no latency predictor" in why:
            why = (f"no trained latency predictor for {device} (see `tpusplit predictor "
                   "-h`)")
        print(f"note: {', '.join(comparison.skipped)} skipped: {why}", file=sys.stderr)
    out.print(compare_table(comparison.plans, comparison.single,
                            title=f"{found.graph.name} on {n} simulated TPUs"))
    overall = min(comparison.plans, key=lambda p: (p.bottleneck_ms, p.strategy != "optimal"))
    # the tour splits a model: the best pipeline of single copies (stages)
    piped = [p for p in comparison.plans if not p.replicas and p.num_segments > 1]
    best = min(piped or comparison.plans,
               key=lambda p: (p.bottleneck_ms, p.strategy not in ("optimal", "stages")))
    comp = comparison.plan("compiler")
    vs_compiler = (f", {comp.time_per_inference_ms / best.time_per_inference_ms:.2f}x the "
                   "compiler split" if comp is not None else "")
    single = comparison.single.time_per_inference_ms / best.time_per_inference_ms
    out.print(f"{best.strategy}: cuts {list(best.cuts)}, slowest stage "
              f"{best.bottleneck_ms:.1f} ms; a batch of {DEFAULT_BATCH} inputs in flight takes "
              f"{best.time_per_inference_ms:.1f} ms per inference ({best.throughput_ips:.1f} "
              f"inferences/s: the pipeline fills and drains), {single:.2f}x one TPU"
              f"{vs_compiler}")
    out.print(f"{best.runner.describe()}; {best.expected_error}" if best.expected_error
              else best.runner.describe())
    if overall.replicas and overall is not best:
        out.print(f"with copies of stages (replicas {list(overall.replica_counts)}, cuts "
                  f"{list(overall.cuts)}): {overall.time_per_inference_ms:.1f} ms per "
                  f"inference, {best.time_per_inference_ms / overall.time_per_inference_ms:.2f}x "
                  "this pipeline (tpusplit plan --tpus N plans both; --replicas 1: stages only)")
    return best


def show_mix(out: Console, found: Planning) -> Plan:
    """Step 2 with ``--devices``: the exact heterogeneous plan, next to the plan that treats
    every device as the slowest; returns the plan."""
    best, slowest = found.plan, found.others[0]
    assert best is not None
    out.rule(f"2. plan: exact heterogeneous pipeline on {found.target.describe()} "
             "(cost models)")
    out.print(plan_table(best))
    out.print(plan_summary(best))
    out.print(f"{slowest.strategy}: time per inference {slowest.time_per_inference_ms:.1f} ms "
              f"({slowest.notes[0]}); the heterogeneous plan is "
              f"{slowest.time_per_inference_ms / best.time_per_inference_ms:.2f}x faster")
    return best


def show_split(out: Console, graph: Graph, cuts: list[int], files: Mapping[Path, bytes]
               ) -> None:
    """Step 3: one line per segment file, its ops and parameter MiB."""
    for seg, path in zip(segments(graph, cuts), files, strict=True):
        out.print(f"{path.name}: ops {op_range(seg.start, seg.end)}, "
                  f"{graph.segment_param_bytes(seg.start, seg.end) / MiB:.2f} MiB parameters")
