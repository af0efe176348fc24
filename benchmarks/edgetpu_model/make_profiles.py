"""Fit the shipped Edge TPU device profiles (src/tpusplit/costs/edgetpu_profiles/*.json).

Usage: python benchmarks/edgetpu_model/make_profiles.py   (about 30 s)

1. caching rule: grid search on every compiler on/off-chip figure of the synthetic sweeps;
2. one joint fit (:func:`tpusplit.costs.calibrate.fit`) of every observation in ``data/``:
   the synthetic sweeps (single TPU, pipelines, batch sweeps; host ``usb3-sweeps``) and Coral's
   reference latencies of real CNNs on four hosts. The Edge TPU terms are shared, each host
   gets its own fixed cost, link rate and CPU factor;
3. one profile per host measured, plus two derived ones (said so in their description):
   ``edgetpu-pcie`` (an M.2 / mini-PCIe card in an x86 host: the x86 host's fixed cost and CPU,
   the Dev Board's PCIe link) and ``edgetpu-usb2`` (a USB Accelerator on a USB 2 port of an
   x86 host: the x86 host's fixed cost and CPU, the Raspberry Pi 3's USB 2 link).
"""

from __future__ import annotations

import sys
from dataclasses import replace

from tpusplit.costs.calibrate import fit, fit_capacity
from tpusplit.costs.edgetpu_profile import DeviceProfile, save_profile, shipped_path
from tpusplit.costs.measurements import coral_observations, sweep_observations

#: Shipped profile name of each host of the data.
NAMES = {"usb3-x86": "edgetpu-usb3", "devboard": "edgetpu-devboard",
         "rpi4-usb3": "edgetpu-rpi4-usb3", "rpi3-usb2": "edgetpu-rpi3-usb2",
         "usb3-sweeps": "edgetpu-usb3-sweeps"}
FITTED = ("Fitted by benchmarks/edgetpu_model/make_profiles.py on data/: the Edge TPU terms on "
          "every host's observations at once, this host's fixed cost, link rate and CPU factor "
          "on its own.")


def main() -> int:
    observations = sweep_observations() + coral_observations()
    base, in_coef, out_coef, check = fit_capacity(observations)
    print(f"cache: base {base} in {in_coef} out {out_coef}: {check.matched}/{check.figures}",
          flush=True)
    result = fit(observations, (base, in_coef, out_coef))
    profiles: dict[str, DeviceProfile] = {}
    for host, name in NAMES.items():
        profiles[name] = result.profile(host, name, FITTED)
        save_profile(profiles[name], shipped_path(name))
        print(f"{name}: fixed {result.hosts[host]['fixed_ms']:.3f} ms, link "
              f"{result.hosts[host]['link_ms_per_mib']:.3f} ms/MiB", flush=True)
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
    print(f"Edge TPU terms: {result.tpu}; reread_mib {result.reread_mib}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
