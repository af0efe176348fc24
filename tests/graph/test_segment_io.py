"""What enters and leaves a segment: one definition, its vectorised sums, and the splitter."""

from __future__ import annotations

import numpy as np
import pytest

from tpusplit.graph import Graph, load, segments
from tpusplit.models.nasbench import nasbench_net


@pytest.fixture(scope="module")
def graphs(random_nets: list[bytes]) -> list[Graph]:
    return [load(d) for d in random_nets[:4]] + [load(nasbench_net(3, size=16, channels=8))]


def _by_walking(g: Graph, a: int, b: int) -> tuple[set[int], set[int]]:
    """The definition, spelled out: inputs are read in [a, b) and made before it; outputs
    are made in [a, b) and read after it, or are model outputs."""
    made = {t for op in g.ops[a:b] for t in op.outputs}
    read = {t for op in g.ops[a:b] for t in op.inputs if not g.tensors[t].constant}
    later = {t for op in g.ops[b:] for t in op.inputs}
    return read - made, {t for t in made if t in later or t in g.outputs}


def test_segment_io_follows_the_definition_on_every_segment(graphs: list[Graph]) -> None:
    for g in graphs:
        n = len(g.ops)
        for a in range(n):
            for b in range(a + 1, n + 1):
                ins, outs = g.segment_io(a, b)
                assert (set(ins), set(outs)) == _by_walking(g, a, b), (a, b)
                assert len(set(ins)) == len(ins) and len(set(outs)) == len(outs)
                model_in = [t for t in ins if t in g.inputs]
                assert list(ins[: len(model_in)]) == [t for t in g.inputs if t in ins]
                model_out = [t for t in g.outputs if t in outs]
                assert list(outs[: len(model_out)]) == model_out


def test_io_sums_add_the_same_tensors(graphs: list[Graph]) -> None:
    rng = np.random.default_rng(0)
    for g in graphs:
        n = len(g.ops)
        w = rng.random(len(g.tensors))
        ins, outs = g.io_sums(w)
        assert ins.shape == outs.shape == (n + 1, n + 1)
        for a in range(n):
            for b in range(a + 1, n + 1):
                i, o = g.segment_io(a, b)
                assert ins[a, b] == pytest.approx(sum(w[t] for t in i))
                assert outs[a, b] == pytest.approx(sum(w[t] for t in o))
        assert not np.tril(ins).any() and not np.tril(outs).any()


def test_segment_files_are_wired_by_it(graphs: list[Graph]) -> None:
    g = graphs[0]
    cuts = [len(g.ops) // 3, 2 * len(g.ops) // 3]
    for seg in segments(g, cuts):
        assert (seg.inputs, seg.outputs) == g.segment_io(seg.start, seg.end)
    with pytest.raises(IndexError):
        g.segment_io(3, 3)
