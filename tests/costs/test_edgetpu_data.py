"""The caching and latency model against the real measurements (skipped without the data)."""

from __future__ import annotations

import pytest

from tpusplit.costs.calibrate import cases, check_caching, mape
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.costs.measurements import load_all, measurements_dir
from tpusplit.costs.profile import load_profile

pytestmark = pytest.mark.skipif(not measurements_dir().is_dir(),
                                reason="edgetpu-measurements not found")


def test_reader_sees_every_file() -> None:
    tables, sweeps = load_all()
    assert sorted((m.family, m.tpus, m.split) for m in tables) == [
        ("conv", 1, "single"), ("conv", 2, "compiler"), ("conv", 3, "compiler"),
        ("conv", 4, "compiler"), ("fc", 1, "single"), ("fc", 2, "even"), ("fc", 3, "even"),
        ("fc", 4, "even")]
    assert {(s.size, s.tpus) for s in sweeps} == {(672, 2), (672, 3)}
    assert all(len(m.rows) > 60 for m in tables)


def test_caching_model_reproduces_compiler_figures_on_a_sample() -> None:
    p = load_profile("edgetpu-usb3")
    tables, _ = load_all()
    sample = [c for m in tables for c in cases(m)[::16]]
    chk = check_caching(sample, p.cache_base_mib, p.cache_in_coef, p.cache_out_coef)
    assert chk.share >= 0.95, chk.mismatches[:5]


def test_single_tpu_latency_within_target_on_a_sample() -> None:
    p = load_profile("edgetpu-usb3")
    tables, _ = load_all()
    sample = [c for m in tables if m.tpus == 1 for c in cases(m)[::8]]
    pred = [EdgeTPUCost(c.graph, p).latency(0, len(c.graph.ops)) for c in sample]
    assert mape(pred, [c.time_ms for c in sample]) <= 10.0
