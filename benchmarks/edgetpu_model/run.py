"""Edge TPU model benchmark: every measured row of data/, fitted and held out, old models beside.

Usage: python benchmarks/edgetpu_model/run.py [--quick]   (or ``tpusplit bench edgetpu_model``)

1. caching: the compiler's on/off-chip figures of every synthetic file reproduced by the caching
   rule (the real compiled graphs: ``benchmarks/edgetpu_model/compiled_graphs.py``);
2. the fit (:func:`tpusplit.calibration.fit.fit`) on every observation: synthetic sweeps
   (single TPU, conv and fc pipelines, batch sweeps), Coral's real CNNs on four hosts and the
   community's single-TPU latencies (several hosts, Edge TPU clocks from 62.5 to 500 MHz);
3. leave one model out: each real CNN predicted by a fit that never saw it, on every host;
4. every row through the public API with the shipped profiles (pipelines through the
   discrete-event simulator with the measured runner: PyCoral's for the conv files, a Python
   thread pipeline for the fc files), next to tpusplit 0.2's figures (the model v2,
   ``v2_predictions.json``, this benchmark's committed results before the v3 change) and
   tpusplit 0.1's (``v1_predictions.json``);
5. pipelines by TPU count, before and after; what the runner's host time does to the fc
   pipelines; the streaming reads against the on-chip memory; the clock sweep; each host's
   fixed cost per invoke;
6. plots.

Writes benchmarks/results/edgetpu_model.{md,json} and edgetpu_model_*.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.accuracy import mape
from tpusplit.calibration.fit import (
    REAL_GROUPS,
    Fit,
    SegmentSummary,
    check_caching,
    fit,
    leave_one_model_out,
    small_model,
    summaries,
)
from tpusplit.calibration.measurements import (
    HOSTS,
    Observation,
    community_observations,
    coral_observations,
    data_dir,
    held_out_observations,
    sweep_observations,
)
from tpusplit.costs.edgetpu import CLOCK_TERMS, EdgeTPUCost, EdgeTPUSegmentCost, stream_reads
from tpusplit.devices.profiles import DEVICES, DeviceProfile, load_profile
from tpusplit.graph import Graph, load
from tpusplit.models.specs import build_spec
from tpusplit.report.sim import family_plot, gantt_bars
from tpusplit.sim import simulate
from tpusplit.units import MiB

HERE = Path(__file__).resolve().parent
#: Where results go: ``$TPUSPLIT_RESULTS`` (``tpusplit bench`` sets it), else the
#: committed ``benchmarks/results/``.
RESULTS = Path(os.environ.get("TPUSPLIT_RESULTS") or HERE.parents[0] / "results")
PROFILE = {"usb3-x86": "edgetpu-usb3", "devboard": "edgetpu-devboard",
           "rpi4-usb3": "edgetpu-rpi4-usb3", "rpi3-usb2": "edgetpu-rpi3-usb2",
           "usb3-sweeps": "edgetpu-usb3-sweeps"}
REAL_HOSTS = ("usb3-x86", "devboard", "rpi4-usb3", "rpi3-usb2")
TERMS = ("fixed", "input", "compute", "stream", "output", "host CPU")
PIPELINE_FILES = ("conv_2tpu", "conv_3tpu", "conv_4tpu", "fc_2tpu", "fc_3tpu", "fc_4tpu",
                  "sweep_2tpu", "sweep_3tpu")


def key(o: Observation) -> str:
    """Key of an observation in v1_predictions.json and v2_predictions.json."""
    return f"{o.host}|{o.model}|{','.join(map(str, o.cuts))}|{o.batch}"


class Models:
    """Graphs built once per model spec (the synthetic files reuse each size several times)."""

    def __init__(self) -> None:
        self.graphs: dict[str, Graph] = {}

    def __call__(self, spec: str) -> Graph:
        if spec not in self.graphs:
            if len(self.graphs) > 8:
                self.graphs.clear()
            self.graphs[spec] = load(build_spec(spec), name=spec)
        return self.graphs[spec]


def profile_of(o: Observation, result: Fit) -> DeviceProfile:
    """The shipped profile of the observation's host, else the fit's profile of that host."""
    if o.host in PROFILE:
        return load_profile(PROFILE[o.host])
    return result.profile(o.host, o.host)


def shipped(o: Observation, graph: Graph, profile: DeviceProfile, runner: str | None = None
            ) -> tuple[float, Any]:
    """Time per inference the profile predicts through the public API, with the runner the
    measurement used (or ``runner``); for one TPU also the breakdown."""
    cost = EdgeTPUCost(graph, profile, runner=runner or o.runner, clock=o.clock_mhz)
    if not o.cuts:
        seg = cost.segment(0, len(graph.ops))
        assert isinstance(seg, EdgeTPUSegmentCost)
        host = profile.cpu_factor * o.host_cpu_ms
        return seg.latency_ms + host, dict(zip(TERMS, (seg.fixed_ms, seg.in_ms, seg.compute_ms,
                                                       seg.stream_ms, seg.out_ms, host),
                                               strict=True))
    return simulate(cost, list(o.cuts), batch=o.batch).time_per_inference_ms, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every third synthetic row only")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.time()
    every = 3 if args.quick else 1
    sweeps = sweep_observations(every=every)
    obs = sweeps + coral_observations() + community_observations()
    v1 = json.loads((HERE / "v1_predictions.json").read_text())
    v2 = json.loads((HERE / "v2_predictions.json").read_text())
    out: dict[str, Any] = {"data": str(data_dir()), "quick": args.quick}

    # 1. caching
    usb3 = load_profile("edgetpu-usb3")
    cache = usb3.cache
    chk = check_caching(sweeps, *cache)
    out["caching"] = {"figures": chk.figures, "matched": chk.matched, "worst_mib": chk.worst_mib,
                      "worst_where": chk.worst_where}
    real_file = args.out / "edgetpu_caching_real.json"
    if real_file.is_file():
        out["caching_real"] = json.loads(real_file.read_text()).get("summary")
    print(f"caching: {chk.matched}/{chk.figures}", flush=True)

    # 2. the fit, 3. leave one model out
    stages_of = summaries(obs, cache)
    result = fit(obs, cache, stages_of=stages_of)
    held = leave_one_model_out(obs, cache, reads=result.reads,
                               progress=lambda m: print(f"held out: {m}", flush=True))
    out["fit"] = {"hosts": result.hosts, "tpu": result.tpu, "reads": vars(result.reads),
                  "python_stage_ms": result.python_stage_ms,
                  "coral_stage_ms": result.coral_stage_ms,
                  "link_efficiency": result.link_efficiency,
                  "tied_hosts": sorted(h for h in result.hosts
                                       if not any(o.host == h and small_model(o) for o in obs))}

    # 4. every row through the public API
    models = Models()
    rows: list[dict[str, Any]] = []
    for k, ob in enumerate(obs):
        graph = models(ob.model)
        prof = profile_of(ob, result)
        ms, parts = shipped(ob, graph, prof)
        row = {"group": ob.group, "host": ob.host, "model": ob.model, "cuts": list(ob.cuts),
               "batch": ob.batch, "clock_mhz": ob.clock_mhz, "measured_ms": ob.ms,
               "fit_ms": result.predicted_ms[k], "shipped_ms": ms, "lomo_ms": held.get(k),
               "v1_ms": v1.get(key(ob)), "v2_ms": (v2.get(key(ob)) or {}).get("shipped_ms"),
               "v2_lomo_ms": (v2.get(key(ob)) or {}).get("lomo_ms"), "terms": parts,
               "family": ob.model.split("-")[0], "size": _size(ob.model), "tpus": ob.tpus}
        if ob.tpus > 1 and ob.runner == "python":
            row["no_runner_ms"] = shipped(ob, graph, prof, runner="none")[0]
        rows.append(row)
    out["rows"] = rows
    out["never_seen"] = never_seen(result, models)
    out["summary"] = summary(rows)
    out["reads"] = reads_rows(obs, stages_of, result)
    out["default_profile"] = default_profile_rows(sweeps, models)
    out["same_stage"] = same_stage_floor()
    out["profiles"] = {n: {"expected_error_pct": load_profile(n).expected_error_pct,
                           "pipeline_error_pct": load_profile(n).pipeline_error_pct,
                           "fixed_ms": load_profile(n).fixed_ms,
                           "python_stage_ms": load_profile(n).python_stage_ms}
                       for n in DEVICES}
    args.out.mkdir(parents=True, exist_ok=True)
    plots(rows, out["reads"], result, args.out, models)
    out["seconds"] = time.time() - t0
    out["machine"] = platform.platform()
    (args.out / "edgetpu_model.json").write_text(json.dumps(out, indent=1))
    (args.out / "edgetpu_model.md").write_text(markdown(out))
    print(markdown(out))
    return 0


#: The shipped profile a user of each held-out row's host would take.
USER_PROFILE = {"devboard-p95": "edgetpu-devboard", "i9-13900k-usb3": "edgetpu-usb3"}


def never_seen(result: Fit, models: Models) -> list[dict[str, Any]]:
    """The rows no fit sees (``held out`` in ``single_tpu_used.csv``): each predicted by the
    fit's profile of its host and by the shipped profile its user would take, at the measured
    clock, with the terms of the host's prediction."""
    out = []
    facts: dict[str, dict[str, float]] = {}  # per model: weights and what the rule streams
    for o in held_out_observations():
        graph = models(o.model)
        if o.model not in facts:
            off = EdgeTPUCost(graph, load_profile("edgetpu-usb3")).segment(
                0, len(graph.ops)).off_chip_bytes
            facts[o.model] = {
                "weights_m": sum(graph.tensors[t].nbytes for op in graph.ops
                                 for t in op.inputs[1:2] if graph.tensors[t].constant) / 1e6,
                "off_chip_mib": off / MiB}
        ms, parts = shipped(o, graph, result.profile(o.host, o.host))
        user = USER_PROFILE.get(o.host)
        out.append({"host": o.host, "model": o.model, "clock_mhz": o.clock_mhz,
                    **facts[o.model],
                    "measured_ms": o.ms, "host_ms": ms, "terms": parts, "user_profile": user,
                    "user_ms": shipped(o, graph, load_profile(user))[0] if user else None,
                    "source": o.source})
    return out


def default_profile_rows(sweeps: list[Observation], models: Models) -> dict[str, Any]:
    """MAPE per synthetic file of the profile a new user gets on an x86 USB 3 host
    (``edgetpu-usb3``, fitted to Coral's reference host and the community's x86 hosts) and of
    the profile of the host that measured the files (``edgetpu-usb3-sweeps``)."""
    out: dict[str, Any] = {}
    for name in ("edgetpu-usb3", "edgetpu-usb3-sweeps"):
        p = load_profile(name)
        errs: dict[str, list[float]] = {}
        for o in sweeps:
            ms = shipped(o, models(o.model), p)[0]
            errs.setdefault(o.group, []).append(abs(ms - o.ms) / o.ms)
        out[name] = {g: 100 * sum(v) / len(v) for g, v in sorted(errs.items())}
    return out


def same_stage_floor() -> dict[str, Any]:
    """The conv family's 3- and 4-TPU compiler splits end in the same segment (its last two
    layers, the bottleneck while nothing streams: the other segments hold one layer each), so
    any model in which a pipeline's time follows from its stages predicts them alike; the
    measured ratio of the two files, where no segment streams, bounds how close one model can
    come to both."""
    import csv

    def read(n: int) -> dict[int, tuple[float, bool]]:
        path = data_dir() / "edgetpu-measurements" / f"conv_{n}tpu_compiler_split.csv"
        with path.open(newline="") as fh:
            return {int(r["Num filters"]): (float(r["Inference time"]),
                                            all(float(x) == 0 for x in
                                                r["Off chip mem used"].strip("[]").split(",")))
                    for r in csv.DictReader(fh)}

    three, four = read(3), read(4)
    ratios = sorted(three[f][0] / four[f][0] for f in sorted(set(three) & set(four))
                    if three[f][1] and four[f][1])
    within = sum(1 for r in ratios if r <= 1.1 / 0.9)  # one value within 10% of both
    return {"rows": len(ratios), "median": ratios[len(ratios) // 2], "min": ratios[0],
            "max": ratios[-1], "both_within_10pct": within,
            # whatever x, the two errors add up to at least 1 - 1 / r
            "sum_floor_pct": 100 * sum(1 - 1 / r for r in ratios) / len(ratios),
            # x = 2ab / (a + b) is off by (r - 1) / (r + 1) on both files
            "best_mean_error_pct": 100 * sum((r - 1) / (r + 1) for r in ratios) / len(ratios)}


def reads_rows(obs: list[Observation], stages_of: list[list[SegmentSummary]], result: Fit
               ) -> list[dict[str, Any]]:
    """For every synthetic conv row whose bottleneck stage streams weights: the reads the
    measurement implies (what the stage's streaming must cost, given the fit's other terms,
    over the link rate) and the demand on the on-chip memory of its streamed layers."""
    p = result.profile("usb3-sweeps", "sweeps")
    out = []
    for o, segs in zip(obs, stages_of, strict=True):
        if not o.group.startswith("conv") or o.batch not in (1, 100):
            continue
        k = max(range(len(segs)), key=lambda i: segs[i].off_chip_mib)
        s = segs[k]
        if not s.streamed:
            continue
        f = s.features(result.reads)
        rest = (p.fixed_ms + f.in_mib * (p.link_ms_per_mib + p.act_in_ms_per_mib)
                + f.out_mib * (p.link_ms_per_mib + p.act_out_ms_per_mib)
                + f.conv_mcycles * p.conv_ms_per_mcycle + f.element_mib * p.element_ms_per_mib
                + f.ops * p.op_ms + (p.python_stage_ms if o.tpus > 1 and o.runner == "python"
                                     else p.coral_stage_ms if o.tpus > 1 else 0.0))
        streamed = sum(m for m, _ in s.streamed)
        ws = max(w for _, w in s.streamed)
        out.append({"group": o.group, "model": o.model, "stage": k, "streamed_mib": streamed,
                    "working_set_mib": ws, "demand_mib": ws + s.staged_mib,
                    "implied_reads": (o.ms - rest) / streamed / p.link_ms_per_mib,
                    "model_reads": stream_reads(ws, s.staged_mib, result.reads)})
    return out


def _size(model: str) -> int:
    tail = model.split("-")[-1]
    return int(tail) if tail.isdigit() else 0


def _err(rows: list[dict[str, Any]], key_: str) -> float:
    keep = [r for r in rows if r.get(key_) is not None]
    if not keep:
        return float("nan")
    return 100 * mape([r[key_] for r in keep], [r["measured_ms"] for r in keep])


KINDS = ("fit_ms", "lomo_ms", "shipped_ms", "v2_ms", "v2_lomo_ms", "v1_ms", "no_runner_ms")


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """MAPE per group (synthetic files) and per host (real CNNs), for each prediction kind."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["host"] if r["group"] in REAL_GROUPS else r["group"]].append(r)
    synthetic_single = groups["conv_1tpu"] + groups["fc_1tpu"]
    real = [r for r in rows if r["group"] in REAL_GROUPS]
    out = {g: {k: _err(rs, k) for k in KINDS} for g, rs in groups.items()}
    out["synthetic single TPU"] = {k: _err(synthetic_single, k) for k in KINDS}
    out["real CNNs, Coral's hosts"] = {k: _err([r for r in real if r["host"] in REAL_HOSTS], k)
                                       for k in KINDS}
    out["real CNNs, community hosts"] = {
        k: _err([r for r in real if r["host"] not in REAL_HOSTS and r["lomo_ms"] is not None
                 and _host_keeps_data(rows, r)], k) for k in KINDS}
    for tpus in (2, 3, 4):
        sel = [r for r in rows if r["tpus"] == tpus and r["group"].startswith(("conv", "fc"))]
        out[f"pipelines on {tpus} TPUs"] = {k: _err(sel, k) for k in KINDS}
    return out


def _host_keeps_data(rows: list[dict[str, Any]], r: dict[str, Any]) -> bool:
    """Whether ``r``'s host has another model left when ``r``'s model is held out (a host
    measured on one model only cannot be tested by leaving it out)."""
    return any(x["host"] == r["host"] and x["model"] != r["model"] for x in rows)


def plots(rows: list[dict[str, Any]], reads: list[dict[str, Any]], result: Fit, out: Path,
          models: Models) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = [r for r in rows if r["group"] in REAL_GROUPS]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    for k, host in enumerate(REAL_HOSTS):
        rs = [r for r in real if r["host"] == host]
        ax.scatter([r["measured_ms"] for r in rs], [r["shipped_ms"] for r in rs], color=f"C{k}",
                   label=f"{host} (fit)")
        ax.scatter([r["measured_ms"] for r in rs], [r["lomo_ms"] for r in rs], color=f"C{k}",
                   marker="x", label=f"{host} (model held out)")
    rs = [r for r in real if r["host"] not in REAL_HOSTS and r["lomo_ms"] is not None]
    ax.scatter([r["measured_ms"] for r in rs], [r["lomo_ms"] for r in rs], color="grey",
               marker="x", s=12, label="community hosts (held out)")
    lim = [0.5, 5000]
    ax.plot(lim, lim, "k-", lw=0.8)
    for f in (0.85, 1.15):
        ax.plot(lim, [v * f for v in lim], "k:", lw=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured ms")
    ax.set_ylabel("predicted ms")
    ax.set_title("Real CNNs on one Edge TPU", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_real.png", dpi=110)
    plt.close(fig)

    picks = ("InceptionV1-slim", "coral-mobilenet_v2_1.0_224", "SSDMobileNetV1",
             "InceptionV4-slim")
    fig, axes = plt.subplots(1, len(picks), figsize=(13, 3.8))
    for ax, model in zip(axes, picks, strict=True):
        rs = [next(r for r in real if r["model"] == model and r["host"] == h)
              for h in REAL_HOSTS if any(r["model"] == model and r["host"] == h for r in real)]
        bottom = np.zeros(len(rs))
        for k, term in enumerate(TERMS):
            vals = np.array([r["terms"][term] for r in rs])
            ax.bar(range(len(rs)), vals, bottom=bottom, color=f"C{k}", label=term)
            bottom += vals
        ax.scatter(range(len(rs)), [r["measured_ms"] for r in rs], color="k", marker="_", s=300,
                   zorder=3, label="measured")
        ax.set_xticks(range(len(rs)), [r["host"] for r in rs], fontsize=7, rotation=20)
        ax.set_title(model, fontsize=9)
        ax.set_ylabel("ms")
        if model == "InceptionV4-slim":
            ax.set_yscale("log")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_terms.png", dpi=110)
    plt.close(fig)

    for fam in ("conv", "fc"):
        frows = [{**r, "predicted_ms": r["shipped_ms"]} for r in rows
                 if r["family"] == fam and r["group"].startswith(fam)]
        family_plot(frows, fam, out / f"edgetpu_model_{fam}.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    for k, tpus in enumerate((2, 3)):
        rs = [r for r in rows if r["group"] == f"sweep_{tpus}tpu"]
        ax.plot([r["batch"] for r in rs], [r["measured_ms"] for r in rs], "-o", ms=3,
                color=f"C{k}", label=f"F=672, {tpus} TPUs, measured")
        ax.plot([r["batch"] for r in rs], [r["shipped_ms"] for r in rs], "--", color=f"C{k}",
                label="predicted (v3)")
        ax.plot([r["batch"] for r in rs], [r["v2_ms"] for r in rs], ":", color=f"C{k}",
                label="predicted (v2)")
    ax.set_xlabel("batch size")
    ax.set_ylabel("time per inference (ms)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_sweep.png", dpi=110)
    plt.close(fig)

    # the physical quantity that separates the streaming stages: demand on the on-chip memory
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for k, group in enumerate(sorted({r["group"] for r in reads})):
        rs = [r for r in reads if r["group"] == group]
        ax.scatter([r["demand_mib"] for r in rs], [r["implied_reads"] for r in rs], s=14,
                   color=f"C{k}", label=f"{group}: implied by the measurement")
        ax.scatter([r["demand_mib"] for r in rs], [r["model_reads"] for r in rs], s=30,
                   color=f"C{k}", marker="_")
    ax.axvline(result.reads.onchip_mib, color="k", lw=0.8, ls=":")
    ax.text(result.reads.onchip_mib, ax.get_ylim()[1] * 0.95, " on-chip memory", fontsize=7,
            va="top")
    ax.set_xlabel("demand: streamed layer's activations + the stage's input and output "
                  "(MiB, channels padded to 64)", fontsize=8)
    ax.set_ylabel("reads of the streamed weights per inference")
    ax.set_title("Streaming stages of the conv family (dashes: the model's reads)", fontsize=9)
    ax.legend(fontsize=6)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_reads.png", dpi=110)
    plt.close(fig)

    # the clock sweep
    sweep = [r for r in rows if r["host"] == "devboard-p95"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for k, model in enumerate(sorted({r["model"] for r in sweep})):
        rs = sorted((r for r in sweep if r["model"] == model), key=lambda r: r["clock_mhz"])
        ax.plot([r["clock_mhz"] for r in rs], [r["measured_ms"] for r in rs], "-o", ms=3,
                color=f"C{k}", label=f"{model}, measured (p95)")
        ax.plot([r["clock_mhz"] for r in rs], [r["fit_ms"] for r in rs], "--", color=f"C{k}",
                label="model")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("Edge TPU clock (MHz)")
    ax.set_ylabel("ms")
    ax.set_title("Dev Board at four Edge TPU clocks", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_clock.png", dpi=110)
    plt.close(fig)

    gantt_pair(rows, out, models)


def gantt_pair(rows: list[dict[str, Any]], out: Path, models: Models) -> None:
    """Predicted Gantt charts of a conv and an fc pipeline, the measured rate marked: where
    the k-th result would leave if the pipeline ran at the measured time per inference."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = [("conv_4tpu", "conv-682"), ("fc_3tpu", "fc-2020")]
    fig, axes = plt.subplots(2, 1, figsize=(10, 6.5))
    colours = {"host": "#bbbbbb", "in": "C0", "compute": "C2", "stream": "C3", "out": "C1"}
    for ax, (group, model) in zip(axes, picks, strict=True):
        r = next(x for x in rows if x["group"] == group and x["model"] == model)
        prof = load_profile("edgetpu-usb3-sweeps")
        runner = "coral" if group.startswith("conv") else "python"
        res = simulate(EdgeTPUCost(models(model), prof, runner=runner), r["cuts"], batch=8)
        chart = gantt_bars(res)
        n = len(chart.labels)
        for row, start, length, phase in chart.bars:
            ax.barh(n - 1 - row, length, left=start, height=0.7, color=colours[phase])
        first = res.completion_ms[0]
        for k in range(8):
            t = first + k * r["measured_ms"]
            ax.axvline(t, color="k", lw=0.7, ls=":")
        ax.set_yticks(range(n), chart.labels[::-1], fontsize=7)
        ax.set_title(f"{model}, {len(r['cuts']) + 1} TPUs ({group} file), {runner} runner: "
                     f"predicted {r['shipped_ms']:.2f} ms per inference, measured "
                     f"{r['measured_ms']:.2f} (dotted: results at the measured rate)",
                     fontsize=8)
        ax.set_xlabel("ms")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours.values()]
    fig.legend(handles, list(colours), loc="lower center", ncol=5, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    fig.savefig(out / "edgetpu_model_gantt.png", dpi=110)
    plt.close(fig)


def _f(v: float | None, fmt: str = ".1f") -> str:
    return "" if v is None or v != v else format(v, fmt)


def markdown(r: dict[str, Any]) -> str:
    c = r["caching"]
    s = r["summary"]
    f = r["fit"]
    rows = r["rows"]
    lines = [
        "# Edge TPU performance model vs real measurements (model v3)",
        "",
        "Data: `data/` of the repository. "
        f"{'QUICK run (every third synthetic row). ' if r['quick'] else ''}"
        f"Reproduce: `python benchmarks/edgetpu_model/run.py` ({r['seconds']:.0f} s); the shipped "
        f"profiles: `python benchmarks/edgetpu_model/make_profiles.py`.",
        "",
        "Columns: **fit** = the joint fit on every row; **held out** = predicted by a fit that "
        "never saw that model (leave one model out: the error on networks the model was not "
        "fitted on); **shipped** = the shipped profile through `EdgeTPUCost` and the simulator "
        "(the measured runner, the measured clock); **v2** = tpusplit 0.2's model (this "
        "benchmark's results before the v3 change: its pipelines charged the Python runner's "
        "host time, which tpusplit 0.2's commands did not); **v1** = tpusplit 0.1. MAPE in %.",
        "",
        "## 1. Real CNNs on one TPU",
        "",
        "| host | rows | fit | held out | shipped | v2 | v2 held out | v1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for h in REAL_HOSTS:
        v = s[h]
        n = sum(1 for x in rows if x["host"] == h)
        lines.append(f"| {h} | {n} | {_f(v['fit_ms'])} | {_f(v['lomo_ms'])} | "
                     f"{_f(v['shipped_ms'])} | {_f(v['v2_ms'])} | {_f(v['v2_lomo_ms'])} | "
                     f"{_f(v['v1_ms'])} |")
    for label in ("real CNNs, Coral's hosts", "real CNNs, community hosts"):
        v = s[label]
        lines.append(f"| {label} | | {_f(v['fit_ms'])} | {_f(v['lomo_ms'])} | "
                     f"{_f(v['shipped_ms'])} | {_f(v['v2_ms'])} | {_f(v['v2_lomo_ms'])} | |")
    lines += ["", "Community hosts (`data/edgetpu-community`, one host per machine, link and "
              "method; hosts measured on one model only cannot be tested by leaving it out):",
              "", "| host | rows | fit | held out |", "|---|---|---|---|"]
    for h in sorted({x["host"] for x in rows if x["group"] == "community"}):
        v = s[h]
        n = sum(1 for x in rows if x["host"] == h)
        lines.append(f"| {h} | {n} | {_f(v['fit_ms'])} | {_f(v['lomo_ms'])} |")
    lines += ["", "| host | model | clock MHz | measured ms | fit | held out |",
              "|---|---|---|---|---|---|"]
    for x in rows:
        if x["group"] in REAL_GROUPS:
            held = (f"{x['lomo_ms']:.2f} ({100 * (x['lomo_ms'] / x['measured_ms'] - 1):+.0f}%)"
                    if x["lomo_ms"] is not None else "")
            lines.append(f"| {x['host']} | {x['model']} | {x['clock_mhz']:g} | "
                         f"{x['measured_ms']:.2f} | {x['fit_ms']:.2f} "
                         f"({100 * (x['fit_ms'] / x['measured_ms'] - 1):+.0f}%) | {held} |")
    ns = r.get("never_seen") or []
    if ns:
        lines += ["", "**A network no fit has seen.** EfficientNet-EdgeTPU-L (Coral's "
                  "`efficientnet-edgetpu-L_quant`, rebuilt layer for layer by "
                  f"`tpusplit.models.slim.efficientnet_edgetpu`: {ns[0]['weights_m']:.1f} M "
                  f"weights, of which the caching rule streams {ns[0]['off_chip_mib']:.2f} MiB) "
                  "is kept out of every fit (`held out` in "
                  "`data/edgetpu-community/single_tpu_used.csv`). Predicted by the fit's profile "
                  "of the measuring host and by the shipped profile a user of that host would "
                  "take, at the measured clock:", "",
                  "| host | clock MHz | measured ms | host's profile | shipped profile | "
                  "streaming ms (host's) | source |", "|---|---|---|---|---|---|---|"]
        for x in ns:
            user = (f"{x['user_profile']}: {x['user_ms']:.2f} "
                    f"({100 * (x['user_ms'] / x['measured_ms'] - 1):+.0f}%)"
                    if x["user_ms"] is not None else "")
            lines.append(f"| {x['host']} | {x['clock_mhz']:g} | {x['measured_ms']:.2f} | "
                         f"{x['host_ms']:.2f} ({100 * (x['host_ms'] / x['measured_ms'] - 1):+.0f}%)"
                         f" | {user} | {x['terms']['stream']:.2f} ms | {x['source']} |")
        err = [abs(x["host_ms"] / x["measured_ms"] - 1) for x in ns]
        uerr = [abs(x["user_ms"] / x["measured_ms"] - 1) for x in ns if x["user_ms"]]
        lines += ["", f"MAPE {100 * sum(err) / len(err):.1f}% with the hosts' profiles, "
                  f"{100 * sum(uerr) / max(1, len(uerr)):.1f}% with the shipped ones. The Dev "
                  "Board rows are 95th percentiles (the host's profile carries that in its "
                  "fixed cost; the shipped Dev Board profile was fitted on Coral's means)."]
    lines += ["", "## 2. Synthetic sweeps (host usb3-sweeps)", "",
              "| file | rows | fit | shipped | v2 | v1 |", "|---|---|---|---|---|---|"]
    for g in ("conv_1tpu", "fc_1tpu", *PIPELINE_FILES):
        v = s[g]
        n = sum(1 for x in rows if x["group"] == g)
        lines.append(f"| {g} | {n} | {_f(v['fit_ms'])} | {_f(v['shipped_ms'])} | "
                     f"{_f(v['v2_ms'])} | {_f(v['v1_ms'])} |")
    v = s["synthetic single TPU"]
    lines += [f"| single TPU, both families | | {_f(v['fit_ms'])} | {_f(v['shipped_ms'])} | "
              f"{_f(v['v2_ms'])} | {_f(v['v1_ms'])} |", "",
              "## 3. Pipelines by TPU count", "",
              "Every measured pipeline of the conv and fc families, before (v2) and after (v3); "
              "**v2 as shipped** is what tpusplit 0.2's `simulate` and `plan` printed: no runner "
              "host time (computed for the fc files, whose Python runner is where it shows).",
              "", "| TPUs | rows | v3 shipped | v2 (runner charged) | v1 |",
              "|---|---|---|---|---|"]
    for tpus in (2, 3, 4):
        v = s[f"pipelines on {tpus} TPUs"]
        n = sum(1 for x in rows if x["tpus"] == tpus and x["group"].startswith(("conv", "fc")))
        lines.append(f"| {tpus} | {n} | {_f(v['shipped_ms'])} | {_f(v['v2_ms'])} | "
                     f"{_f(v['v1_ms'])} |")
    lines += ["", "| fc file | v3 (Python runner, the default) | no runner host time (v2 as "
              "shipped) |", "|---|---|---|"]
    for g in ("fc_2tpu", "fc_3tpu", "fc_4tpu"):
        v = s[g]
        lines.append(f"| {g} | {_f(v['shipped_ms'])} | {_f(v['no_runner_ms'])} |")
    ss, dp = r["same_stage"], r["default_profile"]
    lines += ["", "**A floor under the conv files' error.** The 3- and 4-TPU compiler splits of "
              "the conv family end in the same segment, its last two layers, which is the "
              "bottleneck while nothing streams (the other segments hold one layer each): a "
              "model whose pipeline time follows from its stages predicts both files alike. "
              f"Measured, over the {ss['rows']} sizes where no segment streams, the 3-TPU file "
              f"takes {ss['median']:.2f}x the 4-TPU file's time (median; {ss['min']:.2f}-"
              f"{ss['max']:.2f}x); one prediction is within 10% of both in "
              f"{ss['both_within_10pct']} of them, and the one with equal error on both files is "
              f"off by {ss['best_mean_error_pct']:.1f}% on each (mean over the sizes). What "
              "differs is the rig (which "
              "TPU, port or hub runs the last stage), not the stages. Whatever the shared "
              "prediction, the two files' errors on those sizes add up to at least "
              f"{ss['sum_floor_pct']:.1f}% on average, so no stage model puts both within 10% "
              "there; the shipped 15.6/14.5/15.6% per file are near that floor.", "",
              "**Which profile for these files.** They were measured on one x86 USB 3 host "
              "whose per-invoke cost is about 0.1 ms (its profile `edgetpu-usb3-sweeps`); "
              "Coral's reference host and the community's x86 laptops show about 1 ms on real "
              "CNNs (`edgetpu-usb3`, the default, fitted to them). MAPE on each file:", "",
              "| file | edgetpu-usb3 (default) | edgetpu-usb3-sweeps (the measuring host) |",
              "|---|---|---|"]
    for g in dp["edgetpu-usb3"]:
        lines.append(f"| {g} | {_f(dp['edgetpu-usb3'][g])} | "
                     f"{_f(dp['edgetpu-usb3-sweeps'][g])} |")
    lines += ["", "The fc family's sub-millisecond stages show the per-invoke cost most: give "
              "`--device edgetpu-usb3-sweeps`, or a profile fitted to your host "
              "(`tpusplit calibrate`), for pipelines of tiny stages."]
    reads = r["reads"]
    lines += ["", "## 4. Streaming stages: reads against the on-chip memory", "",
              f"Read parameters: reread_mib {f['reads']['reread_mib']}, reread_max "
              f"{f['reads']['reread_max']}, overflow_reads {f['reads']['overflow_reads']} "
              f"(on-chip memory {f['reads']['onchip_mib']} MiB). The quantity that separates "
              "the stages is their *demand* on the on-chip memory: the streamed layer's input "
              "and output activations plus the stage's own input and output (staged on chip "
              "for the whole invoke), channels padded to 64. One TPU running the whole conv "
              "model at F <= 632 demands less than the memory and reads each streamed weight "
              "about 2.5 times; a pipeline stage at F >= 582, whose input and output are "
              "64x64xF tensors, demands 10-11 MiB and reads them 5-7 times "
              "(`edgetpu_model_reads.png`). Deep layers of real CNNs (7x7, 8x8) demand well "
              "under 1 MiB and read once.", "",
              "| group | rows | demand MiB | implied reads | model reads |",
              "|---|---|---|---|---|"]
    for g in sorted({x["group"] for x in reads}):
        rs = [x for x in reads if x["group"] == g]
        lines.append(f"| {g} | {len(rs)} | {min(x['demand_mib'] for x in rs):.1f}-"
                     f"{max(x['demand_mib'] for x in rs):.1f} | "
                     f"{min(x['implied_reads'] for x in rs):.1f}-"
                     f"{max(x['implied_reads'] for x in rs):.1f} | "
                     f"{min(x['model_reads'] for x in rs):.1f}-"
                     f"{max(x['model_reads'] for x in rs):.1f} |")
    sweep = [x for x in rows if x["host"] == "devboard-p95"]
    lines += ["", "## 5. The Edge TPU clock", "",
              f"The chip's terms ({', '.join(CLOCK_TERMS)}) take 500 / clock as long; the host "
              "and link terms do not change. Fitted with every other row; the Dev Board's "
              "four-clock sweep (95th-percentile latencies) is predicted as follows "
              "(`edgetpu_model_clock.png`); `--clock std` halves the clock "
              "(libedgetpu1-std), `max` is the default, as in Coral's published figures.", "",
              "| model | clock MHz | measured ms | fit | held out |", "|---|---|---|---|---|"]
    for x in sorted(sweep, key=lambda x: (x["model"], -x["clock_mhz"])):
        lines.append(f"| {x['model']} | {x['clock_mhz']:g} | {x['measured_ms']:.2f} | "
                     f"{x['fit_ms']:.2f} | {_f(x['lomo_ms'], '.2f')} |")
    lines += ["", "## 6. Fixed cost per invoke, per host", "",
              "A host whose data hold a small model (under 1 GMAC, nothing on the host CPU) "
              "fits its own; one without takes the mean of its CPU class's hosts that have one "
              f"(`calibrate.small_model`): {', '.join(f['tied_hosts'])}. Coral's x86 "
              "reference host is one of them (its file has no model under 3 ms).", "",
              "| host | CPU | link | fixed ms | link ms/MiB | CPU factor |",
              "|---|---|---|---|---|---|"]
    for h, v in sorted(f["hosts"].items()):
        lines.append(f"| {h}{' (class)' if h in f['tied_hosts'] else ''} | {HOSTS[h].cpu} | "
                     f"{HOSTS[h].link} | {v['fixed_ms']:.3f} | {v['link_ms_per_mib']:.3f} | "
                     f"{v['cpu_factor']:.2f} |")
    lines += ["", "## 7. Fitted chip and runner terms", "",
              "Edge TPU (every host, at 500 MHz): " + ", ".join(
                  f"{k} {v:.4g}" for k, v in f["tpu"].items())
              + f"; runner host time per stage: Python {f['python_stage_ms']:.3f} ms "
              f"(serialised across stages), PyCoral {f['coral_stage_ms']:.3f} ms (the conv "
              "files' stages of milliseconds cannot tell it from 0); link efficiency "
              f"{f['link_efficiency']:.3f} ms/MiB at 500 MB/s nominal.", "",
              "## 8. What each profile expects of itself", "",
              "Printed by `simulate` and `plan` next to their figures. One TPU: leave one model "
              "out over its host's real networks. Pipelines: the measured conv pipelines "
              "(only one host ran pipelines; every profile carries that figure).", "",
              "| profile | one TPU +-% | pipelines +-% | fixed ms | Python runner ms/stage |",
              "|---|---|---|---|---|"]
    for n, v in r["profiles"].items():
        lines.append(f"| {n} | {_f(v['expected_error_pct'])} | {_f(v['pipeline_error_pct'])} "
                     f"| {v['fixed_ms']:.3f} | {v['python_stage_ms']:.3f} |")
    lines += ["", "## 9. Caching", "",
              f"- {c['matched']} / {c['figures']} compiler on/off-chip figures of the synthetic "
              f"files within 0.05 MiB; worst {c['worst_mib']:.4f} MiB ({c['worst_where']}).",
              "- Real compiled graphs: `edgetpu_caching_real.md` "
              "(`python benchmarks/edgetpu_model/compiled_graphs.py`).", "",
              "Plots: `edgetpu_model_real.png`, `edgetpu_model_terms.png`, "
              "`edgetpu_model_conv.png`, `edgetpu_model_fc.png`, `edgetpu_model_sweep.png`, "
              "`edgetpu_model_reads.png`, `edgetpu_model_clock.png`, `edgetpu_model_gantt.png`.",
              ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
