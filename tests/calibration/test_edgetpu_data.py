"""The Edge TPU model against the measurements in the repository (data/): never skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from tpusplit.accuracy import mape
from tpusplit.calibration.fit import check_caching, fit, summaries
from tpusplit.calibration.measurements import (
    HOSTS,
    Observation,
    community_observations,
    coral_observations,
    held_out_observations,
    load_all,
    measurements_dir,
    sweep_observations,
)
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.devices.profiles import load_profile
from tpusplit.graph import load
from tpusplit.models.specs import build_spec
from tpusplit.sim import simulate

#: Shipped profile of each host of the data.
PROFILE = {"usb3-x86": "edgetpu-usb3", "devboard": "edgetpu-devboard",
           "rpi4-usb3": "edgetpu-rpi4-usb3", "rpi3-usb2": "edgetpu-rpi3-usb2",
           "usb3-sweeps": "edgetpu-usb3-sweeps"}


@pytest.fixture(scope="module")
def sweeps() -> list[Observation]:
    return sweep_observations(every=6)


@pytest.fixture(scope="module")
def coral() -> list[Observation]:
    return coral_observations()


def predicted(o: Observation) -> float:
    """What the shipped profile of the observation's host predicts, through the public API."""
    p = load_profile(PROFILE[o.host])
    g = load(build_spec(o.model))
    cost = EdgeTPUCost(g, p, runner=o.runner, clock=o.clock_mhz)
    if not o.cuts:
        return cost.latency(0, len(g.ops)) + p.cpu_factor * o.host_cpu_ms
    return simulate(cost, list(o.cuts), batch=o.batch).time_per_inference_ms


def test_the_data_is_in_the_repository(coral: list[Observation]) -> None:
    """The measurements ship with the package (``tpusplit/data``; ``data/`` of a checkout
    links there), so a non-editable install finds them too."""
    import tpusplit

    package = Path(tpusplit.__file__).resolve().parent
    assert measurements_dir().is_dir() and package in measurements_dir().resolve().parents
    tables, sweeps = load_all()
    assert sorted((m.family, m.tpus, m.split) for m in tables) == [
        ("conv", 1, "single"), ("conv", 2, "compiler"), ("conv", 3, "compiler"),
        ("conv", 4, "compiler"), ("fc", 1, "single"), ("fc", 2, "even"), ("fc", 3, "even"),
        ("fc", 4, "even")]
    assert {(s.size, s.tpus) for s in sweeps} == {(672, 2), (672, 3)}
    assert len(coral) == 28 and {o.host for o in coral} == {"usb3-x86", "devboard",
                                                            "rpi4-usb3", "rpi3-usb2"}
    community = community_observations()
    assert len(community) == 49 and {o.host for o in community} <= set(HOSTS)
    assert {o.clock_mhz for o in community} == {500, 250, 125, 62.5}
    ssd = [o for o in coral if "SSD" in o.model]
    assert ssd and all(o.host_cpu_ms > 0 for o in ssd)


def test_caching_model_reproduces_compiler_figures_on_a_sample(sweeps: list[Observation]
                                                              ) -> None:
    p = load_profile("edgetpu-usb3")
    chk = check_caching(sweeps, *p.cache)
    assert chk.figures > 150 and chk.share >= 0.99, chk.mismatches[:5]


def test_synthetic_single_tpu_latency_within_target(sweeps: list[Observation]) -> None:
    single = [o for o in sweeps if o.tpus == 1]
    assert mape([predicted(o) for o in single], [o.ms for o in single]) <= 0.10


def test_real_cnns_within_target_on_every_host(coral: list[Observation]) -> None:
    for host in PROFILE:
        rows = [o for o in coral if o.host == host]
        if rows:
            # x86 takes its fixed cost from the x86 hosts with small models, not from its own
            # four larger networks (calibrate.small_model), which costs it in-sample
            assert mape([predicted(o) for o in rows], [o.ms for o in rows]) <= 0.15, host


def test_a_network_no_fit_saw(coral: list[Observation]) -> None:
    """EfficientNet-EdgeTPU-L (rebuilt layer for layer; about 4 MiB streamed) is kept out of
    every fit. The shipped profiles a user of its two hosts would take predict it within 15%,
    on the i9 at the std clock and on the Dev Board at each of four clocks (95th percentiles)."""
    held = held_out_observations()
    assert len(held) == 5 and {o.model for o in held} == {"EfficientNet-EdgeTpu-L"}
    fitted = community_observations() + coral
    assert not {o.model for o in fitted} & {o.model for o in held}
    user = {"devboard-p95": "edgetpu-devboard", "i9-13900k-usb3": "edgetpu-usb3"}
    g = load(build_spec("EfficientNet-EdgeTpu-L"))
    for o in held:
        ms = EdgeTPUCost(g, user[o.host], clock=o.clock_mhz).latency(0, len(g.ops))
        assert ms == pytest.approx(o.ms, rel=0.15), (o.host, o.clock_mhz)


def test_pipelines_on_a_sample(sweeps: list[Observation]) -> None:
    for group in ("conv_2tpu", "fc_3tpu", "sweep_3tpu"):
        rows = [o for o in sweeps if o.group == group]
        assert mape([predicted(o) for o in rows], [o.ms for o in rows]) <= 0.20, group


def test_a_fit_on_the_data_gives_the_shipped_chip(sweeps: list[Observation],
                                                  coral: list[Observation]) -> None:
    """The calibration run on (a sample of) the repository's data lands near the shipped
    Edge TPU terms: the profiles come from the data, not from hand-editing."""
    p = load_profile("edgetpu-usb3")
    cache = p.cache
    obs = sweeps + coral
    result = fit(obs, cache, stages_of=summaries(obs, cache))
    assert result.tpu["conv_ms_per_mcycle"] == pytest.approx(p.conv_ms_per_mcycle, rel=0.1)
    assert result.hosts["rpi3-usb2"]["link_ms_per_mib"] == pytest.approx(
        load_profile("edgetpu-rpi3-usb2").link_ms_per_mib, rel=0.1)
