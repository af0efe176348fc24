"""Segment features: boundary bytes agree with the splitter, totals with the graph."""

from __future__ import annotations

import numpy as np
import pytest

from tpusplit.graph import Graph, load, segments
from tpusplit.models.nasbench import nasbench_net
from tpusplit.predictor.encoding import (
    OP_TYPES,
    SEGMENT_DIM,
    SEGMENT_NAMES,
    TOKEN_DIM,
    TOKEN_NAMES,
    SegmentEncoder,
    op_tokens,
    segment_vector,
)


def _oracle_io(graph: Graph, a: int, b: int) -> tuple[int, int, int, int]:
    """Bytes and counts of the tensors entering/leaving [a, b), as the splitter wires them."""
    n = len(graph.ops)
    (seg,) = [s for s in segments(graph, [c for c in (a, b) if 0 < c < n]) if s.start == a]
    t = graph.tensors
    return (sum(t[i].nbytes for i in seg.inputs), sum(t[i].nbytes for i in seg.outputs),
            len(seg.inputs), len(seg.outputs))


@pytest.fixture(scope="module")
def graphs(random_nets: list[bytes]) -> list[Graph]:
    return [load(d) for d in random_nets[:3]] + [load(nasbench_net(2, size=16, channels=8))]


def test_vector_boundary_matches_the_splitter_on_every_segment(graphs: list[Graph]) -> None:
    col = {name: i for i, name in enumerate(SEGMENT_NAMES)}
    for g in graphs:
        f = SegmentEncoder(g)
        n = len(g.ops)
        for a in range(n):
            for b in range(a + 1, n + 1):
                v = f.vector(a, b)
                bin_, bout, nin, nout = _oracle_io(g, a, b)
                assert np.expm1(v[col["log_in_bytes"]]) == pytest.approx(bin_)
                assert np.expm1(v[col["log_out_bytes"]]) == pytest.approx(bout)
                assert (v[col["n_inputs"]], v[col["n_outputs"]]) == (nin, nout)


def test_vector_totals_match_the_graph(graphs: list[Graph]) -> None:
    col = {name: i for i, name in enumerate(SEGMENT_NAMES)}
    k = len(OP_TYPES)
    for g in graphs:
        n = len(g.ops)
        v = segment_vector(g, 0, n)
        assert v.shape == (SEGMENT_DIM,)
        assert v[:k].sum() == n
        assert np.expm1(v[col["log_macs"]]) == pytest.approx(g.macs)
        assert np.expm1(v[col["log_param_bytes"]]) == pytest.approx(g.param_bytes)
        for name in ("CONV_2D", "ADD"):
            assert v[col[f"count_{name}"]] == sum(op.name == name for op in g.ops)


def test_tokens_describe_each_op(graphs: list[Graph]) -> None:
    k = len(OP_TYPES)
    idx = {name: i for i, name in enumerate(TOKEN_NAMES)}
    for g in graphs:
        n = len(g.ops)
        a, b = n // 3, n - 2
        tok = op_tokens(g, a, b)
        assert tok.shape == (b - a, TOKEN_DIM) and tok.dtype == np.float32
        assert np.all(tok[:, :k].sum(axis=1) == 1)
        for i, op in enumerate(g.ops[a:b]):
            slot = OP_TYPES.index(op.name) if op.name in OP_TYPES else k - 1
            assert tok[i, slot] == 1
            assert np.expm1(tok[i, idx["log_macs"]]) == pytest.approx(op.macs, rel=1e-5)
        bin_, bout, _, _ = _oracle_io(g, a, b)
        assert np.expm1(tok[:, idx["log_boundary_in_bytes"]]).sum() >= bin_ * (1 - 1e-5)
        assert np.expm1(tok[:, idx["log_boundary_out_bytes"]]).sum() == pytest.approx(
            bout, rel=1e-5)
        assert tok[0, idx["is_first"]] == 1 and tok[-1, idx["is_last"]] == 1
        assert tok[:, idx["is_first"]].sum() == 1
