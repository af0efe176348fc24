"""Edge TPU model benchmark: every measured row of data/, fitted and held out, old model beside.

Usage: python benchmarks/edgetpu_model/run.py [--quick]   (or ``tpusplit bench edgetpu_model``)

1. caching: the compiler's on/off-chip figures of every synthetic file reproduced by the caching
   rule (and the rule re-fitted from scratch); the rule's figures for the real CNNs;
2. the fit (:func:`tpusplit.costs.calibrate.fit`) on every observation: synthetic sweeps
   (single TPU, conv and fc pipelines, batch sweeps) and Coral's real CNNs on four hosts;
3. leave one model out: each real CNN predicted by a fit that never saw it, on every host;
4. every row through the public API with the shipped profiles (pipelines through the
   discrete-event simulator), next to tpusplit 0.1's figures (``v1_predictions.json``);
5. a host without small models (as Coral's x86 file, whose MobileNet rows are kept apart):
   each other host's MobileNet rows withheld together, its fixed cost refitted without them
   and the MobileNets predicted: how well a host's per-invoke cost is known without them;
6. plots: real CNNs measured vs predicted, per-term breakdowns, the synthetic families, the
   batch sweeps and a Gantt chart.

Writes benchmarks/results/edgetpu_model.{md,json} and edgetpu_model_*.png.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from tpusplit.accuracy import mape
from tpusplit.costs.calibrate import (
    SegmentSummary,
    check_caching,
    fit,
    fit_capacity,
    leave_one_model_out,
    predict,
    summaries,
)
from tpusplit.costs.edgetpu import EdgeTPUCost, EdgeTPUSegmentCost
from tpusplit.costs.edgetpu_profile import DeviceProfile, load_profile
from tpusplit.costs.measurements import (
    HOSTS,
    Observation,
    coral_observations,
    data_dir,
    sweep_observations,
)
from tpusplit.graph import Graph, load
from tpusplit.models.specs import build_spec
from tpusplit.report.sim import family_plot, gantt_plot
from tpusplit.sim import simulate

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parents[0] / "results"
PROFILE = {"usb3-x86": "edgetpu-usb3", "devboard": "edgetpu-devboard",
           "rpi4-usb3": "edgetpu-rpi4-usb3", "rpi3-usb2": "edgetpu-rpi3-usb2",
           "usb3-sweeps": "edgetpu-usb3-sweeps"}
REAL_HOSTS = ("usb3-x86", "devboard", "rpi4-usb3", "rpi3-usb2")
TERMS = ("fixed", "input", "compute", "stream", "output", "host CPU")


def v1_key(o: Observation) -> str:
    """Key of an observation in v1_predictions.json."""
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


def shipped(o: Observation, graph: Graph, profile: DeviceProfile) -> tuple[float, Any]:
    """Time per inference the shipped profile predicts through the public API; for one TPU
    also the breakdown."""
    cost = EdgeTPUCost(graph, profile)
    if not o.cuts:
        seg = cost.segment(0, len(graph.ops))
        assert isinstance(seg, EdgeTPUSegmentCost)
        host = profile.cpu_factor * o.host_cpu_ms
        return seg.latency_ms + host, dict(zip(TERMS, (seg.fixed_ms, seg.in_ms, seg.compute_ms,
                                                       seg.stream_ms, seg.out_ms, host),
                                               strict=True))
    kw: dict[str, Any] = ({"host_ms": profile.fit["python_stage_ms"], "host_workers": 1}
                          if o.runner == "python" else {})
    return simulate(cost, list(o.cuts), batch=o.batch, **kw).time_per_inference_ms, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every third synthetic row only")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    t0 = time.time()
    every = 3 if args.quick else 1
    sweeps = sweep_observations(every=every)
    coral = coral_observations()
    obs = sweeps + coral
    v1 = json.loads((HERE / "v1_predictions.json").read_text())
    out: dict[str, Any] = {"data": str(data_dir()), "quick": args.quick}

    # 1. caching
    usb3 = load_profile("edgetpu-usb3")
    cache = (usb3.cache_base_mib, usb3.cache_in_coef, usb3.cache_out_coef)
    chk = check_caching(sweeps, *cache)
    b, i, o_, refit = fit_capacity(sweeps)
    out["caching"] = {"figures": chk.figures, "matched": chk.matched, "worst_mib": chk.worst_mib,
                      "worst_where": chk.worst_where,
                      "refit": {"base_mib": b, "in_coef": i, "out_coef": o_,
                                "matched": refit.matched}}
    print(f"caching: {chk.matched}/{chk.figures}", flush=True)

    # 2. the fit, 3. leave one model out
    stages_of = summaries(obs, cache)
    result = fit(obs, cache, stages_of=stages_of)
    held = leave_one_model_out(obs, cache, progress=lambda m: print(f"held out: {m}",
                                                                    flush=True))
    real_caching = {}
    for k, ob in enumerate(obs):
        if ob.group == "coral" and ob.model not in real_caching:
            s = stages_of[k][0]
            real_caching[ob.model] = {"on_chip_mib": s.on_chip_mib, "off_chip_mib": s.off_chip_mib}
    out["real_caching"] = real_caching
    out["fit"] = {"hosts": result.hosts, "tpu": result.tpu, "reread_mib": result.reread_mib,
                  "python_stage_ms": result.python_stage_ms,
                  "link_efficiency": result.link_efficiency}

    # 5. a host without small models
    out["without_small"] = without_small_models(obs, cache, stages_of, result.hosts)

    # 4. every row through the public API
    models = Models()
    rows: list[dict[str, Any]] = []
    for k, ob in enumerate(obs):
        graph = models(ob.model)
        ms, parts = shipped(ob, graph, load_profile(PROFILE[ob.host]))
        rows.append({"group": ob.group, "host": ob.host, "model": ob.model,
                     "cuts": list(ob.cuts), "batch": ob.batch, "measured_ms": ob.ms,
                     "fit_ms": result.predicted_ms[k], "shipped_ms": ms,
                     "lomo_ms": held.get(k), "v1_ms": v1.get(v1_key(ob)), "terms": parts,
                     "family": ob.model.split("-")[0], "size": _size(ob.model),
                     "tpus": ob.tpus})
    out["rows"] = rows
    out["summary"] = summary(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    plots(rows, args.out, models)
    out["seconds"] = time.time() - t0
    out["machine"] = platform.platform()
    (args.out / "edgetpu_model.json").write_text(json.dumps(out, indent=1))
    (args.out / "edgetpu_model.md").write_text(markdown(out))
    print(markdown(out))
    return 0


def small_model(o: Observation) -> bool:
    """A MobileNet classifier (the real CNNs under about 5 ms on a USB 3 host)."""
    return o.group == "coral" and "obile" in o.model and "SSD" not in o.model


def without_small_models(obs: list[Observation], cache: tuple[float, float, float],
                         stages_of: list[list[SegmentSummary]],
                         full: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Per host with MobileNet rows: refit without them, predict them (section 5)."""
    rows = []
    for host in REAL_HOSTS:
        held = [k for k, o in enumerate(obs) if o.host == host and small_model(o)]
        if not held:
            continue
        keep = [k for k in range(len(obs)) if k not in set(held)]
        f = fit([obs[k] for k in keep], cache, stages_of=[stages_of[k] for k in keep])
        pred = predict(f, [obs[k] for k in held], [stages_of[k] for k in held])
        rows.append({"host": host, "fixed_ms_full": full[host]["fixed_ms"],
                     "fixed_ms_without": f.hosts[host]["fixed_ms"],
                     "rows": [{"model": obs[k].model, "measured_ms": obs[k].ms,
                               "predicted_ms": p} for k, p in zip(held, pred, strict=True)],
                     "mape": 100 * mape(pred, [obs[k].ms for k in held])})
    return rows


def _size(model: str) -> int:
    tail = model.split("-")[-1]
    return int(tail) if tail.isdigit() else 0


def _err(rows: list[dict[str, Any]], key: str) -> float:
    keep = [r for r in rows if r.get(key) is not None]
    if not keep:
        return float("nan")
    return 100 * mape([r[key] for r in keep], [r["measured_ms"] for r in keep])


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """MAPE per group (synthetic files) and per host (real CNNs), for each prediction kind."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["host"] if r["group"] == "coral" else r["group"]].append(r)
    synthetic_single = groups["conv_1tpu"] + groups["fc_1tpu"]
    real = [r for r in rows if r["group"] == "coral"]
    out = {g: {k: _err(rs, k) for k in ("fit_ms", "lomo_ms", "shipped_ms", "v1_ms")}
           for g, rs in groups.items()}
    out["synthetic single TPU"] = {k: _err(synthetic_single, k)
                                   for k in ("fit_ms", "shipped_ms", "v1_ms")}
    out["real CNNs, all hosts"] = {k: _err(real, k)
                                   for k in ("fit_ms", "lomo_ms", "shipped_ms", "v1_ms")}
    return out


def plots(rows: list[dict[str, Any]], out: Path, models: Models) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = [r for r in rows if r["group"] == "coral"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    for k, host in enumerate(REAL_HOSTS):
        rs = [r for r in real if r["host"] == host]
        ax.scatter([r["measured_ms"] for r in rs], [r["shipped_ms"] for r in rs], color=f"C{k}",
                   label=f"{host} (fit)")
        ax.scatter([r["measured_ms"] for r in rs], [r["lomo_ms"] for r in rs], color=f"C{k}",
                   marker="x", label=f"{host} (model held out)")
        ax.scatter([r["measured_ms"] for r in rs], [r["v1_ms"] for r in rs], color=f"C{k}",
                   marker=".", alpha=0.5)
    lim = [1, 5000]
    ax.plot(lim, lim, "k-", lw=0.8)
    for f in (0.85, 1.15):
        ax.plot(lim, [v * f for v in lim], "k:", lw=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured ms (Coral's reference)")
    ax.set_ylabel("predicted ms")
    ax.set_title("Real CNNs on one Edge TPU (dots: tpusplit 0.1)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_real.png", dpi=110)
    plt.close(fig)

    # per-term breakdown of a few real models on every host
    picks = ("InceptionV1-slim", "coral-mobilenet_v2_1.0_224", "SSDMobileNetV1",
             "InceptionV4-slim")
    fig, axes = plt.subplots(1, len(picks), figsize=(13, 3.8))
    for ax, model in zip(axes, picks, strict=True):
        rs = [r for h in REAL_HOSTS for r in real if r["model"] == model and r["host"] == h]
        seen: list[str] = []
        for r in rs:
            if r["host"] not in seen:
                seen.append(r["host"])
        rs = [next(r for r in rs if r["host"] == h) for h in seen]
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
                label="predicted")
    ax.set_xlabel("batch size")
    ax.set_ylabel("time per inference (ms)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "edgetpu_model_sweep.png", dpi=110)
    plt.close(fig)
    g = models("conv-672")
    from tpusplit.graph.compiler_rule import compiler_cuts
    gantt_plot(simulate(EdgeTPUCost(g, "edgetpu-usb3-sweeps"), compiler_cuts(g, 3), batch=15),
               out / "edgetpu_model_gantt.png",
               "conv F=672, compiler split, 3 TPUs, batch 15 (simulated)")


def _f(v: float | None, fmt: str = ".1f") -> str:
    return "" if v is None or v != v else format(v, fmt)


def markdown(r: dict[str, Any]) -> str:
    c = r["caching"]
    s = r["summary"]
    f = r["fit"]
    lines = [
        "# Edge TPU performance model vs real measurements",
        "",
        "Data: `data/` of the repository. "
        f"{'QUICK run (every third synthetic row). ' if r['quick'] else ''}"
        f"Reproduce: `python benchmarks/edgetpu_model/run.py` ({r['seconds']:.0f} s); the shipped "
        f"profiles: `python benchmarks/edgetpu_model/make_profiles.py`; the old model's "
        f"figures: `python benchmarks/edgetpu_model/v1_predictions.py`.",
        "",
        "Columns: **fit** = the joint fit on every row; **held out** = predicted by a fit that "
        "never saw that model (leave one model out: the error on networks the model was not "
        "fitted on); **shipped** = the shipped profile through `EdgeTPUCost` (pipelines through "
        "the simulator); **v1** = tpusplit 0.1's model with its profiles (usb3 for USB 3 hosts, "
        "pcie for the Dev Board, usb2 for the Raspberry Pi 3). All MAPE in %.",
        "",
        "## 1. Real CNNs (Coral's reference latencies, one TPU)",
        "",
        "| host | rows | fit | held out | shipped | v1 |",
        "|---|---|---|---|---|---|",
    ]
    for h in REAL_HOSTS:
        v = s[h]
        n = sum(1 for x in r["rows"] if x["host"] == h)
        lines.append(f"| {h} | {n} | {_f(v['fit_ms'])} | {_f(v['lomo_ms'])} | "
                     f"{_f(v['shipped_ms'])} | {_f(v['v1_ms'])} |")
    v = s["real CNNs, all hosts"]
    lines += [f"| all | {sum(1 for x in r['rows'] if x['group'] == 'coral')} | {_f(v['fit_ms'])} | "
              f"{_f(v['lomo_ms'])} | {_f(v['shipped_ms'])} | {_f(v['v1_ms'])} |", "",
              "| host | model | measured ms | fit | held out | v1 |", "|---|---|---|---|---|---|"]
    for x in r["rows"]:
        if x["group"] == "coral":
            fit_err = 100 * (x["fit_ms"] / x["measured_ms"] - 1)
            held_err = 100 * (x["lomo_ms"] / x["measured_ms"] - 1)
            lines.append(f"| {x['host']} | {x['model']} | {x['measured_ms']:.2f} | "
                         f"{x['fit_ms']:.2f} ({fit_err:+.0f}%) | {x['lomo_ms']:.2f} "
                         f"({held_err:+.0f}%) | {x['v1_ms']:.1f} |")
    lines += ["", "## 2. Synthetic sweeps (host usb3-sweeps) and pipelines", "",
              "| file | rows | fit | shipped | v1 |", "|---|---|---|---|---|"]
    for g in ("conv_1tpu", "fc_1tpu", "conv_2tpu", "conv_3tpu", "conv_4tpu", "fc_2tpu", "fc_3tpu",
              "fc_4tpu", "sweep_2tpu", "sweep_3tpu"):
        v = s[g]
        n = sum(1 for x in r["rows"] if x["group"] == g)
        lines.append(f"| {g} | {n} | {_f(v['fit_ms'])} | {_f(v['shipped_ms'])} | "
                     f"{_f(v['v1_ms'])} |")
    v = s["synthetic single TPU"]
    lines += [f"| single TPU, both families | | {_f(v['fit_ms'])} | {_f(v['shipped_ms'])} | "
              f"{_f(v['v1_ms'])} |", "",
              "The fit column of pipelines uses the calibration's closed form (fill + bottleneck);"
              " the shipped column runs the discrete-event simulator.", "",
              "## 3. Fitted terms", "",
              "Edge TPU (every host): " + ", ".join(f"{k} {v:.4g}" for k, v in f["tpu"].items())
              + f", reread_mib {f['reread_mib']}; Python pipeline stage {f['python_stage_ms']:.3f} "
              f"ms; link efficiency {f['link_efficiency']:.3f} ms/MiB at 500 MB/s nominal.", "",
              "| host | fixed ms | link ms/MiB | CPU factor |", "|---|---|---|---|"]
    for h, v in f["hosts"].items():
        lines.append(f"| {h} ({HOSTS[h].link}) | {v['fixed_ms']:.3f} | "
                     f"{v['link_ms_per_mib']:.3f} | {v['cpu_factor']:.2f} |")
    lines += ["", "## 4. Caching", "",
              f"- {c['matched']} / {c['figures']} compiler on/off-chip figures of the synthetic "
              f"files within 0.05 MiB; worst {c['worst_mib']:.4f} MiB ({c['worst_where']}).",
              f"- Re-fitted from scratch: base {c['refit']['base_mib']} MiB, in_coef "
              f"{c['refit']['in_coef']}, out_coef {c['refit']['out_coef']} "
              f"({c['refit']['matched']} matched).",
              "- Real CNNs, the caching rule's figures (the rule against the compiler's own "
              "figures for 32 real compiled files, Coral's MobileNet v2 among them: "
              "`edgetpu_caching_real.md`):", "",
              "| model | on chip MiB | streamed MiB |", "|---|---|---|"]
    for m, v in r["real_caching"].items():
        lines.append(f"| {m} | {v['on_chip_mib']:.2f} | {v['off_chip_mib']:.2f} |")
    lines += ["", "## 5. A host without small models", "",
              "Coral's x86 file has no model under 3 ms (its MobileNet rows are kept apart "
              "upstream), so the x86 host's fixed per-invoke cost is not identified by the data "
              "(fitted 0 ms). How much that matters, measured on the hosts that have MobileNet "
              "rows: withhold all of a host's MobileNet rows, refit, predict them.", "",
              "| host | fixed ms (all rows) | fixed ms (without MobileNets) | MobileNets: "
              "measured -> predicted ms | MAPE |", "|---|---|---|---|---|"]
    for w in r["without_small"]:
        preds = ", ".join(f"{x['model']} {x['measured_ms']:.2f} -> {x['predicted_ms']:.2f}"
                          for x in w["rows"])
        lines.append(f"| {w['host']} | {w['fixed_ms_full']:.2f} | {w['fixed_ms_without']:.2f} "
                     f"| {preds} | {w['mape']:.1f} |")
    lines += ["", "So the x86 profile's figures for small models (a few ms, where the per-invoke "
              "cost is a large share) are the least certain: expect errors of this size there, "
              "in either direction. A user with an x86 host and a TPU fixes it with one "
              "`tpusplit calibrate` of a small model (README).",
              "", "Plots: `edgetpu_model_real.png` (measured vs predicted, all hosts), "
              "`edgetpu_model_terms.png` (per-term breakdown), `edgetpu_model_conv.png`, "
              "`edgetpu_model_fc.png`, `edgetpu_model_sweep.png`, `edgetpu_model_gantt.png`.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
