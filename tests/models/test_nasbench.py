"""NASBench-101-space networks: valid cells, the space's macro structure, runnable int8 models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tpusplit.graph import load
from tpusplit.models.nasbench import (
    MAX_EDGES,
    MAX_VERTICES,
    OPS,
    Cell,
    nasbench_cell,
    nasbench_net,
    random_cell,
    vertex_channels,
)
from tpusplit.pipeline import LiteRTStage, random_inputs


def _reachable(m: tuple[tuple[int, ...], ...], src: int, forward: bool) -> set[int]:
    n = len(m)
    seen, todo = {src}, [src]
    while todo:
        v = todo.pop()
        nxt = [w for w in range(n) if (m[v][w] if forward else m[w][v])]
        for w in nxt:
            if w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_cells_are_in_the_space(seed: int) -> None:
    cell = random_cell(np.random.default_rng(seed))
    n = cell.num_vertices
    assert 2 <= n <= MAX_VERTICES
    assert cell.num_edges <= MAX_EDGES
    assert cell.ops[0] == "input" and cell.ops[-1] == "output"
    assert all(op in OPS for op in cell.ops[1:-1])
    m = cell.matrix
    assert all(m[i][j] == 0 for i in range(n) for j in range(i + 1))  # strictly upper
    # pruned: every node lies on an input -> output path
    assert _reachable(m, 0, True) == set(range(n))
    assert _reachable(m, n - 1, False) == set(range(n))


def test_vertex_channels_split_the_output_among_the_concatenated_nodes() -> None:
    m = ((0, 1, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    cell = Cell(m, ("input", "conv3x3", "conv1x1", "maxpool3x3", "output"))
    ch = vertex_channels(cell, 16, 32)
    assert ch[0] == 16 and ch[-1] == 32
    assert sum(ch[1:4]) == 32 and max(ch[1:4]) - min(ch[1:4]) <= 1
    # a node that only feeds another node takes that node's width
    m2 = ((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert vertex_channels(Cell(m2, ("input", "conv1x1", "conv3x3", "output")), 8, 24) == [
        8, 24, 24, 24]


@pytest.mark.parametrize("seed", range(8))
def test_networks_have_the_macro_structure_and_run(seed: int) -> None:
    data = nasbench_net(seed, size=32, channels=16)
    g = load(data)
    names = [op.name for op in g.ops]
    assert names[:2] == ["QUANTIZE", "CONV_2D"]  # float input + stem conv
    assert names[-2:] == ["MEAN", "FULLY_CONNECTED"]
    stem = g.tensors[g.ops[1].outputs[0]]
    assert stem.shape == (1, 32, 32, 16)
    # 2x2 max-pools between the 3 stacks halve the map: 32 -> 16 -> 8
    pools = [op for op in g.ops if op.name == "MAX_POOL_2D"
             and g.tensors[op.outputs[0]].shape[1] != g.tensors[op.inputs[0]].shape[1]]
    assert [g.tensors[p.outputs[0]].shape[1:] for p in pools] == [(16, 16, 16), (8, 8, 32)]
    final = g.tensors[g.ops[-2].inputs[0]]
    assert final.shape == (1, 8, 8, 64)  # channels doubled per stack
    # the cell is repeated 3x3 times: op count per cell times 9 plus the fixed ops
    assert (len(g.ops) - 6) % 9 == 0
    stage = LiteRTStage(data)
    out = stage.run(random_inputs(stage, seed=seed))
    (value,) = out.values()
    assert value.shape == (1, 10)


def test_same_seed_same_model_and_cell() -> None:
    assert nasbench_net(3, channels=8) == nasbench_net(3, channels=8)
    assert nasbench_cell(3) == nasbench_cell(3)
    assert nasbench_net(3, channels=8) != nasbench_net(4, channels=8)


def test_published_scale_stem_has_128_channels() -> None:
    g = load(nasbench_net(0, channels=128, stacks=1, cells_per_stack=1))
    assert g.tensors[g.ops[1].outputs[0]].shape == (1, 32, 32, 128)


@pytest.mark.parametrize("seed", [1, 2, 5])
def test_segments_are_bit_exact(seed: int, assert_bit_exact: Callable[..., None]) -> None:
    data = nasbench_net(seed, size=16, channels=8)
    n = len(load(data).ops)
    rng = np.random.default_rng(seed)
    cuts = sorted(int(c) for c in rng.choice(np.arange(1, n), size=3, replace=False))
    assert_bit_exact(data, cuts)
