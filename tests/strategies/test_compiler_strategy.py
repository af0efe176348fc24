"""compiler: the edgetpu_compiler --num_segments rule reproduces the measured compiler splits."""

from __future__ import annotations

import ast
import csv
import itertools

import numpy as np
import pytest
from strategy_costs import MatrixCost

from tpusplit.calibration.measurements import measurements_dir
from tpusplit.costs.onchip import layer_bytes
from tpusplit.errors import TpusplitError
from tpusplit.graph import Graph, load
from tpusplit.models.builder import ModelBuilder
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv, fc
from tpusplit.strategies import plan
from tpusplit.strategies.compiler import compiler_cuts
from tpusplit.units import MiB

DATA = measurements_dir()


def _rows(tpus: int) -> list[tuple[int, list[float]]]:
    path = DATA / f"conv_{tpus}tpu_compiler_split.csv"
    if not path.exists():
        pytest.skip(f"{path} not available")
    out = []
    with path.open() as fh:
        for r in csv.DictReader(fh):
            on = ast.literal_eval(r["On chip mem used"])
            off = ast.literal_eval(r["Off chip mem used"])
            out.append((int(r["Num filters"]), [a + b for a, b in zip(on, off, strict=True)]))
    return out


def _segment_mib(graph: Graph, cuts: tuple[int, ...]) -> list[float]:
    edges = (0, *cuts, len(graph.ops))
    return [sum(layer_bytes(graph, i) for i in range(a, b)) / MiB
            for a, b in itertools.pairwise(edges)]


@pytest.mark.parametrize("tpus", [2, 3, 4])
def test_reproduces_the_compiler_splits_of_the_conv_family(tpus: int) -> None:
    """Each segment's compiled parameter size (on + off chip, per the padding rule of
    costs.edgetpu_cache) equals what the compiler reported for its own split, every F."""
    rows = _rows(tpus)
    assert len(rows) >= 60
    for f, measured in rows:
        graph = load(conv(f))
        cuts = compiler_cuts(graph, tpus)
        mine = _segment_mib(graph, cuts)
        assert mine == pytest.approx(measured, rel=0.01), f"F={f} cuts={cuts}"
        # any other split disagrees with the data: the check can fail
        for k in range(len(cuts)):
            for d in (-1, 1):
                other = list(cuts)
                other[k] += d
                if other[k] <= (other[k - 1] if k else 0) or other[k] >= (
                        other[k + 1] if k + 1 < len(other) else len(graph.ops)):
                    continue
                alt = _segment_mib(graph, tuple(other))
                assert alt != pytest.approx(measured, rel=0.01), f"F={f} {other} also fits"


def test_rule_on_fc_and_output_constraint() -> None:
    g = load(fc(100))  # QUANTIZE, (FC, TANH) x 4, FC
    cuts = compiler_cuts(g, 4)
    assert len(cuts) == 3 and list(cuts) == sorted(set(cuts))
    average = g.param_bytes // 4 + 1
    edges = (0, *cuts, len(g.ops))
    for a, b in list(itertools.pairwise(edges))[:-1]:
        assert b - a == 1 or g.segment_param_bytes(a, b) <= average
        assert g.segment_param_bytes(a, b + 1) > average or b == edges[-1] - 1


def test_segments_end_before_the_first_output_op() -> None:
    g = load(random_net(1))
    first = g.output_ops[0]
    for k in range(2, first + 2):
        cuts = compiler_cuts(g, k)
        assert cuts[-1] <= first and len(cuts) == k - 1
    with pytest.raises(TpusplitError, match="first output"):
        compiler_cuts(g, first + 2)


def test_plan_counts_only_the_final_segments() -> None:
    g = load(fc(32))
    cost = MatrixCost(g, np.ones((11, 11)))
    p = plan(g, 3, cost, "compiler")
    assert p.cost_evaluations == 3 and p.strategy == "compiler"


def test_one_huge_first_layer_takes_its_own_segment() -> None:
    b = ModelBuilder(seed=0)
    x = b.quantize(b.input((1, 8, 8, 4)))
    x = b.conv2d(x, 256)
    for _ in range(3):
        x = b.conv2d(x, 4)
    b.output(x)
    g = load(b.build())
    cuts = compiler_cuts(g, 3)
    assert cuts == (1, 2)  # QUANTIZE alone (the big conv would exceed), then the conv alone
