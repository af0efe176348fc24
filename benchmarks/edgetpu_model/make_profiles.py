"""Fit the shipped device profiles (src/tpusplit/costs/profiles/*.json) from the measurements.

Usage: python benchmarks/edgetpu_model/make_profiles.py   (about 10 minutes on 2 cores)

1. cache capacity rule: grid search on every compiler on/off-chip figure of every file;
2. host-link terms (in/out ms per MiB) cannot be told apart from compute on one TPU: a grid
   over (in, out), each point re-fitting the other terms on conv_1tpu + fc_1tpu, scored by the
   mean per-file MAPE of the simulated conv pipelines (2/3/4 TPUs, every 4th row) and the two
   batch sweeps; the best point is kept;
3. the remaining latency terms: ``calibrate`` on conv_1tpu.csv + fc_1tpu.csv;
4. edgetpu-usb2 and edgetpu-pcie: derived from edgetpu-usb3 by scaling the link-bound terms
   (documented in their description; not measured).
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

import numpy as np

from tpusplit.costs.calibrate import (
    calibrate,
    cases,
    compiler_cuts,
    fit_capacity,
    fit_latency,
    mape,
)
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.measurements import load_all, measurements_dir
from tpusplit.costs.profile import DeviceProfile, load_profile, save_profile, shipped_path
from tpusplit.graph import load
from tpusplit.models.synthetic import conv
from tpusplit.sim import simulate

FIXED = ("in_ms_per_mib", "out_ms_per_mib", "element_ms_per_mop")


def pipeline_score(p: DeviceProfile, by: dict, sweeps: list) -> list[float]:
    res = []
    for t in (2, 3, 4):
        cs = by[("conv", t)]
        res.append(mape([simulate(EdgeTPUCost(c.graph, p), c.cuts, batch=100)
                         .time_per_inference_ms for c in cs], [c.time_ms for c in cs]))
    for g, s in sweeps:
        cost = EdgeTPUCost(g, p)
        cuts = compiler_cuts(g, s.tpus)
        res.append(mape([simulate(cost, cuts, batch=b).time_per_inference_ms
                         for b in s.batches[::3]], s.time_ms[::3]))
    return res


def main() -> int:
    d = measurements_dir()
    tables, sweeps = load_all(d)
    by = {(m.family, m.tpus): cases(m) for m in tables}
    base = load_profile("edgetpu-usb3")
    b, i, o, chk = fit_capacity([c for cs in by.values() for c in cs])
    print(f"cache: base {b} in {i} out {o}: {chk.matched}/{chk.figures}", flush=True)
    base = replace(base, cache_base_mib=b, cache_in_coef=i, cache_out_coef=o)
    single = by[("conv", 1)][::2] + by[("fc", 1)][::2]
    sub = {k: v[::4] for k, v in by.items()}
    sw = [(load(conv(s.size)), s) for s in sweeps]
    best = None
    for inm, outm in itertools.product(np.arange(0, 13, 2.0), np.arange(0, 11, 2.0)):
        p = fit_latency(single, replace(base, in_ms_per_mib=float(inm),
                                        out_ms_per_mib=float(outm)), fixed=FIXED)
        score = pipeline_score(p, sub, sw)
        print(f"in {inm:4.1f} out {outm:4.1f}: per-file MAPE {np.round(score, 1)} "
              f"mean {np.mean(score):.1f}", flush=True)
        if best is None or np.mean(score) < best[0]:
            best = (float(np.mean(score)), float(inm), float(outm))
    assert best is not None
    base = replace(base, in_ms_per_mib=best[1], out_ms_per_mib=best[2])
    print(f"link terms: in {best[1]} out {best[2]} ms/MiB", flush=True)
    prof, summary = calibrate([d / "conv_1tpu.csv", d / "fc_1tpu.csv"], base=base,
                              name="edgetpu-usb3")
    cg = prof.compute_ms_per_gmac["CONV_2D"]
    prof = replace(
        prof,
        description="Coral USB Accelerator on USB 3.0. Latency terms fitted by `tpusplit "
        "calibrate` on conv_1tpu.csv + fc_1tpu.csv; in/out link terms chosen on the conv "
        "pipeline files and batch sweeps; cache capacity fitted on every compiler figure "
        "(benchmarks/edgetpu_model/make_profiles.py). DEPTHWISE_CONV_2D and OTHER are not in "
        "the data: depthwise compute = 4x conv (an unmeasured guess: the array runs far from peak "
        "on depthwise convs), depthwise streaming as conv, OTHER as conv (compute) and fc "
        "(streaming).",
        compute_ms_per_gmac={**prof.compute_ms_per_gmac, "DEPTHWISE_CONV_2D": 4 * cg,
                             "OTHER": cg},
        stream_ms_per_mib={**prof.stream_ms_per_mib,
                           "DEPTHWISE_CONV_2D": prof.stream_ms_per_mib["CONV_2D"],
                           "OTHER": prof.stream_ms_per_mib["FULLY_CONNECTED"]})
    print(f"single-TPU fit MAPE {summary['mape']:.1f}%", flush=True)
    save_profile(prof, shipped_path("edgetpu-usb3"))

    def scaled(name: str, desc: str, link: float, fixed: float) -> DeviceProfile:
        return replace(prof, name=name, description=desc, fixed_ms=prof.fixed_ms * fixed,
                       stream_ms_per_mib={k: v * link for k, v in prof.stream_ms_per_mib.items()},
                       in_ms_per_mib=prof.in_ms_per_mib * link,
                       out_ms_per_mib=prof.out_ms_per_mib * link)

    save_profile(scaled("edgetpu-usb2", "USB Accelerator on USB 2.0 (480 Mb/s): derived from "
                        "edgetpu-usb3 by scaling the link-bound terms (stream, in, out) by 10.4 "
                        "(5 Gb/s / 480 Mb/s; notes: streaming-heavy models run about 12x "
                        "slower) and the fixed cost by 2. Not measured.", 10.4, 2.0),
                 shipped_path("edgetpu-usb2"))
    save_profile(scaled("edgetpu-pcie", "M.2 / mini-PCIe Edge TPU on PCIe Gen2 x1: derived from "
                        "edgetpu-usb3 by halving the link-bound terms and the fixed cost (no "
                        "USB protocol overhead). Not measured.", 0.5, 0.5),
                 shipped_path("edgetpu-pcie"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
