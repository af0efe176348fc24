"""Fit the shipped Edge TPU device profiles (src/tpusplit/devices/edgetpu_profiles/*.json).

Usage: python benchmarks/edgetpu_model/make_profiles.py   (about 2 minutes)

1. caching rule: grid search on every compiler on/off-chip figure of the synthetic sweeps;
2. one joint fit (:func:`tpusplit.calibration.fit.fit`) of every observation in ``data/``:
   the synthetic sweeps (single TPU, pipelines, batch sweeps; host ``usb3-sweeps``), Coral's
   reference latencies of real CNNs on four hosts and the community's single-TPU latencies
   (``data/edgetpu-community``, at several Edge TPU clocks). The Edge TPU terms and read
   parameters are shared, each host gets its own fixed cost, link rate and CPU factor (a host
   without small models takes its CPU class's fixed cost, :mod:`tpusplit.calibration.fit`);
3. the expected error of each profile: leave one model out over the real networks of its host
   (single TPU), and the MAPE over the measured conv pipelines (only the sweeps' host ran
   pipelines, so every profile carries that figure);
4. one profile per reference host, plus two derived ones (said so in their description):
   ``edgetpu-pcie`` (an M.2 / mini-PCIe card in an x86 host: the x86 host's fixed cost and CPU,
   the Dev Board's PCIe link) and ``edgetpu-usb2`` (a USB Accelerator on a USB 2 port of an
   x86 host: the x86 host's fixed cost and CPU, the Raspberry Pi 3's USB 2 link).

The runner's host time per stage was measured on the sweeps' x86 host only; the x86 profiles
take it as is, the ARM boards scaled by their CPU factor relative to the x86 reference host.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from tpusplit.accuracy import mape
from tpusplit.calibration.fit import (
    REAL_GROUPS,
    fit,
    fit_capacity,
    leave_one_model_out,
    summaries,
)
from tpusplit.calibration.measurements import (
    HOSTS,
    community_observations,
    coral_observations,
    sweep_observations,
)
from tpusplit.devices.profiles import DeviceProfile, save_profile, shipped_path

#: Shipped profile name of each host of the data.
NAMES = {"usb3-x86": "edgetpu-usb3", "devboard": "edgetpu-devboard",
         "rpi4-usb3": "edgetpu-rpi4-usb3", "rpi3-usb2": "edgetpu-rpi3-usb2",
         "usb3-sweeps": "edgetpu-usb3-sweeps"}
FITTED = ("Fitted by benchmarks/edgetpu_model/make_profiles.py on data/: the Edge TPU terms on "
          "every host's observations at once, this host's fixed cost, link rate and CPU factor "
          "on its own.")


def main() -> int:
    observations = sweep_observations() + coral_observations() + community_observations()
    base, in_coef, out_coef, check = fit_capacity(observations)
    cache = (base, in_coef, out_coef)
    print(f"cache: base {base} in {in_coef} out {out_coef}: {check.matched}/{check.figures}",
          flush=True)
    stages_of = summaries(observations, cache)
    result = fit(observations, cache, stages_of=stages_of)
    print(f"reads: {result.reads}; runner: python {result.python_stage_ms:.3f} ms, coral "
          f"{result.coral_stage_ms:.3f} ms", flush=True)
    held = leave_one_model_out(observations, cache, reads=result.reads,
                               progress=lambda m: print(f"held out: {m}", flush=True))
    # the conv family's pipelines (its stages move megabytes and stream weights, as CNNs' do;
    # the fc family's sub-millisecond stages are predicted far better and would flatter it)
    pipes = [k for k, o in enumerate(observations) if o.tpus > 1 and o.model.startswith("conv")]
    pipe_err = 100 * mape([result.predicted_ms[k] for k in pipes],
                          [observations[k].ms for k in pipes])
    single: dict[str, float] = {}
    for host in NAMES:
        rows = [k for k in held if observations[k].host == host]
        if rows:
            single[host] = 100 * mape([held[k] for k in rows], [observations[k].ms for k in rows])
    # the synthetic host has no real network: its expected error is that of its own single-TPU
    # rows, which the fit saw (a lower bound)
    sweeps1 = [k for k, o in enumerate(observations) if o.host == "usb3-sweeps" and o.tpus == 1]
    single["usb3-sweeps"] = 100 * mape([result.predicted_ms[k] for k in sweeps1],
                                       [observations[k].ms for k in sweeps1])
    x86_cpu = result.hosts["usb3-x86"]["cpu_factor"]
    profiles: dict[str, DeviceProfile] = {}
    for host, name in NAMES.items():
        p = result.profile(host, name, FITTED)
        if HOSTS[host].cpu == "arm" and x86_cpu > 0:
            scale = p.cpu_factor / x86_cpu
            p = replace(p, python_stage_ms=p.python_stage_ms * scale,
                        coral_stage_ms=p.coral_stage_ms * scale)
        p = replace(p, expected_error_pct=round(single[host], 1),
                    pipeline_error_pct=round(pipe_err, 1),
                    pipeline_error_host=NAMES["usb3-sweeps"])
        profiles[name] = p
        save_profile(p, shipped_path(name))
        print(f"{name}: fixed {p.fixed_ms:.3f} ms, link {p.link_ms_per_mib:.3f} ms/MiB, "
              f"expect +-{p.expected_error_pct}% (pipelines +-{p.pipeline_error_pct}%)",
              flush=True)
    x86, dev, rpi3 = (profiles[NAMES[h]] for h in ("usb3-x86", "devboard", "rpi3-usb2"))
    pcie = replace(x86, name="edgetpu-pcie", link="pcie", link_ms_per_mib=dev.link_ms_per_mib,
                   host=f"{x86.host}; link of: {dev.host}",
                   description="M.2 / mini-PCIe Edge TPU in an x86-64 host. Derived, not "
                   "measured: fixed cost and CPU factor of edgetpu-usb3 (Coral's x86 host), "
                   "link rate of edgetpu-devboard (the Dev Board's Edge TPU sits on PCIe).")
    usb2 = replace(x86, name="edgetpu-usb2", link="usb2", link_ms_per_mib=rpi3.link_ms_per_mib,
                   host=f"{x86.host}; link of: {rpi3.host}",
                   description="USB Accelerator on a USB 2 port of an x86-64 host. Derived, not "
                   "measured: fixed cost and CPU factor of edgetpu-usb3, link rate of "
                   "edgetpu-rpi3-usb2 (the only USB 2 link in the data).")
    for p in (pcie, usb2):
        save_profile(p, shipped_path(p.name))
        print(f"{p.name}: derived", flush=True)
    real = [k for k in held if observations[k].group in REAL_GROUPS]
    print(f"Edge TPU terms: {result.tpu}; leave one model out, all real rows: "
          f"{100 * mape([held[k] for k in real], [observations[k].ms for k in real]):.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
