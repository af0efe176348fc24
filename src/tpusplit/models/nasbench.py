"""Random networks from the NASBench-101 search space, written as int8 TFLite models.

The space (Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019; the reference code is ``nasbench/lib/model_builder.py``): a stem 3x3 conv with 128
channels, 3 stacks of 3 cells with a 2x2 max-pool and doubled channels between stacks, global
average pooling and a dense classifier on a 32x32x3 input. A cell is a DAG of at most 7 nodes
(input, output and up to 5 inner nodes) and at most 9 edges given by an upper-triangular
adjacency matrix; inner nodes are conv3x3-bn-relu, conv1x1-bn-relu or maxpool3x3.

Cell semantics follow the reference code: the cell's output channels are split evenly among
the inner nodes that feed the output (which are concatenated); other inner nodes take the
channel count of their widest successor; an edge from the cell input goes through a 1x1
projection (conv1x1-bn-relu); several inputs of a node are summed; an input->output edge adds a
projection of the input to the output. Batch norm is folded into the convs (int8 inference).
One deviation: the reference *truncates* (slices) a wider inner tensor feeding a narrower node;
the builder has no slice op, so a 1x1 projection is used there instead (rare: it only happens
when the output channels do not divide evenly).

``size`` and ``channels`` scale the network down (``nasbench_net(seed, size=32, channels=16)``
keeps the topology of the space with 8x fewer stem channels) so that profiling thousands of
segments on a CPU takes minutes; ``channels=128`` is the published scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tpusplit.models.builder import ModelBuilder

#: Inner-node operations of the space.
OPS = ("conv3x3", "conv1x1", "maxpool3x3")
MAX_VERTICES = 7
MAX_EDGES = 9


@dataclass(frozen=True)
class Cell:
    """A NASBench-101 cell: ``matrix[i][j] == 1`` is an edge i -> j (i < j); ``ops[0]`` is
    ``"input"``, ``ops[-1]`` is ``"output"``, the others are in :data:`OPS`."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @property
    def num_vertices(self) -> int:
        """Number of nodes, input and output included."""
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        """Number of edges."""
        return int(sum(map(sum, self.matrix)))


def _prune(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """Drop nodes not on a path from input to output (as NASBench's ``ModelSpec`` does)."""
    n = len(ops)
    fwd = {0}
    for j in range(1, n):
        if any(matrix[i, j] and i in fwd for i in range(j)):
            fwd.add(j)
    bwd = {n - 1}
    for i in range(n - 2, -1, -1):
        if any(matrix[i, j] and j in bwd for j in range(i + 1, n)):
            bwd.add(i)
    if 0 not in bwd:
        return None
    keep = sorted(fwd & bwd)
    return matrix[np.ix_(keep, keep)], [ops[k] for k in keep]


def random_cell(rng: np.random.Generator, int8_safe: bool = True) -> Cell:
    """Draw a valid cell as NASBench-101's random sampler does, rejecting invalid ones.

    A 7x7 upper-triangular matrix with each edge present with probability 1/2 and a uniform
    op per inner node, pruned to the nodes on an input->output path. Valid: such a path
    exists and at most 9 edges remain. With ``int8_safe`` (the default), cells whose int8
    form LiteRT's CPU delegate cannot run (a max-pool next to the output concatenation, see
    :func:`_concat_safe`) are redrawn too; this removes a small part of the space.
    """
    n = MAX_VERTICES
    while True:
        matrix = np.triu(rng.integers(0, 2, size=(n, n)), k=1)
        ops = ["input", *(OPS[int(k)] for k in rng.integers(0, 3, size=n - 2)), "output"]
        pruned = _prune(matrix, ops)
        if pruned is None:
            continue
        m, o = pruned
        if int(m.sum()) > MAX_EDGES:
            continue
        cell = Cell(tuple(tuple(int(v) for v in row) for row in m), tuple(o))
        if int8_safe and not _concat_safe(cell):
            continue
        return cell


def _concat_safe(cell: Cell) -> bool:
    """Whether every input of the cell's output CONCATENATION can take the output's
    quantization, which XNNPACK's int8 concatenation requires: no max-pool output among them
    (a pool keeps its input's quantization) and none of them is also the sole input of a
    max-pool (re-quantizing it would break that pool)."""
    n = cell.num_vertices
    m = cell.matrix
    feeders = [v for v in range(1, n - 1) if m[v][n - 1]]
    if len(feeders) < 2:
        return True
    for v in range(1, n - 1):
        if cell.ops[v] != "maxpool3x3":
            continue
        if v in feeders:
            return False
        preds = [u for u in range(v) if m[u][v]]
        if len(preds) == 1 and preds[0] in feeders:
            return False
    return True


def vertex_channels(cell: Cell, in_channels: int, out_channels: int) -> list[int]:
    """Channels of every node (NASBench's ``compute_vertex_channels``)."""
    n = cell.num_vertices
    m = cell.matrix
    ch = [0] * n
    ch[0], ch[-1] = in_channels, out_channels
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if m[v][n - 1]]
    k = len(feeders)
    for i, v in enumerate(feeders):
        ch[v] = out_channels // k + (1 if i < out_channels % k else 0)
    for v in range(n - 3, 0, -1):
        if not m[v][n - 1]:
            ch[v] = max(ch[w] for w in range(v + 1, n - 1) if m[v][w])
    return ch


def build_cell(b: ModelBuilder, x: int, cell: Cell, out_channels: int) -> int:
    """Add ``cell`` to ``b`` on input tensor ``x``; return the cell's output tensor."""
    n = cell.num_vertices
    m = cell.matrix
    ch = vertex_channels(cell, b.shape(x)[-1], out_channels)
    tensors = [x]
    concat_in = []
    for t in range(1, n - 1):
        add_in = []
        for src in range(1, t):
            if m[src][t]:
                s = tensors[src]
                add_in.append(s if b.shape(s)[-1] == ch[t] else b.conv2d(s, ch[t], kernel=1))
        if m[0][t]:
            add_in.append(b.conv2d(x, ch[t], kernel=1))
        y = add_in[0]
        for other in add_in[1:]:
            y = b.add(y, other)
        op = cell.ops[t]
        if op == "conv3x3":
            y = b.conv2d(y, ch[t], kernel=3)
        elif op == "conv1x1":
            y = b.conv2d(y, ch[t], kernel=1)
        else:
            y = b.max_pool(y, size=3, stride=1, padding="SAME")
        tensors.append(y)
        if m[t][n - 1]:
            concat_in.append(y)
    if not concat_in:
        return b.conv2d(x, out_channels, kernel=1)
    out = concat_in[0] if len(concat_in) == 1 else b.concat(concat_in)
    if m[0][n - 1]:
        out = b.add(out, b.conv2d(x, out_channels, kernel=1))
    return out


def nasbench_net(seed: int, size: int = 32, channels: int = 128, stacks: int = 3,
                 cells_per_stack: int = 3, classes: int = 10,
                 cell: Cell | None = None) -> bytes:
    """A seeded network of the NASBench-101 space as int8 TFLite bytes.

    One random cell (``random_cell``, or ``cell``) is repeated in every stack, as in the space.
    The input is float32 ``(1, size, size, 3)`` followed by QUANTIZE (like the measured Keras
    models). ``channels`` is the stem width (128 in the published space).
    """
    rng = np.random.default_rng(seed)
    spec = cell if cell is not None else random_cell(rng)
    b = ModelBuilder(seed=seed, name=f"nasbench{seed}")
    x = b.quantize(b.input((1, size, size, 3)))
    c = channels
    x = b.conv2d(x, c, kernel=3)
    for stack in range(stacks):
        if stack > 0:
            x = b.max_pool(x, size=2, stride=2)
            c *= 2
        for _ in range(cells_per_stack):
            x = build_cell(b, x, spec, c)
    b.output(b.fully_connected(b.global_avg_pool(x), classes))
    return b.build()


def nasbench_cell(seed: int) -> Cell:
    """The cell ``nasbench_net(seed)`` uses."""
    return random_cell(np.random.default_rng(seed))
