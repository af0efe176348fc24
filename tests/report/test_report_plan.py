"""Plan reports: comparison rows (speed-ups), tables, summary, plot file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from images import assert_png
from rich.console import Console

from tpusplit.costs.base import CostSource, SegmentCost
from tpusplit.graph import load
from tpusplit.models.synthetic import fc
from tpusplit.report.plan import (
    compare_rows,
    compare_table,
    plan_summary,
    plan_table,
    speedup_plot,
)
from tpusplit.strategies import plan


class LengthCost(CostSource):
    """Latency = number of ops + 0.5 ms."""

    def _evaluate(self, start: int, end: int) -> SegmentCost:
        return SegmentCost(start, end, end - start + 0.5)


def test_rows_tables_and_plot(tmp_path: Path) -> None:
    g = load(fc(32))
    cost = LengthCost(g)
    plans = [plan(g, 3, cost, s, fresh=True) for s in ("compiler", "optimal")]
    single = plan(g, 1, cost, "compiler")
    rows = compare_rows(plans, single)
    assert rows[0]["speedup_vs_compiler"] == 1.0
    assert rows[1]["speedup_vs_1"] == pytest.approx(
        single.time_per_inference_ms / plans[1].time_per_inference_ms)
    assert compare_rows(plans[1:], None)[0]["speedup_vs_compiler"] is None
    con = Console(width=200, record=True)
    con.print(compare_table(plans, single, "t"))
    con.print(plan_table(plans[1]))
    text = con.export_text()
    assert "optimal" in text and "x compiler" in text and "streamed MiB" in text
    assert "proved lower bound" in plan_summary(plans[1])
    out = tmp_path / "p.png"
    speedup_plot({"a": ([1, 2], [1.0, 2.0])}, out, "t", "x", "y", xticks=["m1", "m2"])
    pixels = assert_png(out, width=770, height=462)  # 7 x 4.2 in at 110 dpi
    line = np.array([0x1F, 0x77, 0xB4]) / 255  # matplotlib's first colour: the series
    assert np.any(np.all(np.abs(pixels[..., :3] - line) < 0.02, axis=-1))
