"""The Gantt chart says what limits the pipeline: a saturated shared link, fill and drain."""

from __future__ import annotations

from pathlib import Path

import tpusplit
from tpusplit.costs.edgetpu import EdgeTPUCost
from tpusplit.models.synthetic import conv
from tpusplit.report.sim import gantt_bars, gantt_plot, phases
from tpusplit.sim import simulate


def test_a_saturated_shared_link_is_the_bottleneck_row(tmp_path: Path) -> None:
    graph = tpusplit.load(conv(682))
    cost = EdgeTPUCost(graph, "edgetpu-usb3")
    shared = simulate(cost, [3, 4, 5], batch=15, buses=[0, 0, 1, 1])
    chart = gantt_bars(shared)
    assert chart.labels[chart.bottleneck].startswith("shared link")
    assert chart.labels[chart.bottleneck].endswith("(bottleneck)")
    assert sum(label.endswith("(bottleneck)") for label in chart.labels) == 1
    own = gantt_bars(simulate(cost, [3, 4, 5], batch=15))
    assert own.labels[own.bottleneck].startswith("TPU")
    fill, drain, end = phases(chart, 4)
    assert 0 < fill < drain < end
    assert gantt_plot(shared, tmp_path / "g.png").is_file()
