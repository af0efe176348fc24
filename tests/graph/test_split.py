"""Split is bit-exact against the whole model, and segments are well-formed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph import GraphError, extract, load, segments, split
from tpusplit.graph.tflite import parse, serialize
from tpusplit.models.builder import ModelBuilder
from tpusplit.models.synthetic import conv
from tpusplit.pipeline import LiteRTStage


def test_every_single_cut_of_conv_and_fc_is_bit_exact(
        conv_small: bytes, fc_small: bytes, assert_bit_exact: Callable[..., None]) -> None:
    for data in (conv_small, fc_small):
        for k in range(1, len(load(data).ops)):
            assert_bit_exact(data, [k])


def test_every_single_cut_of_random_nets_is_bit_exact(
        random_nets: list[bytes], assert_bit_exact: Callable[..., None]) -> None:
    cuts_checked = 0
    for data in random_nets:
        for k in range(1, len(load(data).ops)):
            assert_bit_exact(data, [k], seed=k)
            cuts_checked += 1
    assert cuts_checked > 100


def test_random_multi_cut_splits_are_bit_exact(
        random_nets: list[bytes], assert_bit_exact: Callable[..., None]) -> None:
    rng = np.random.default_rng(42)
    for data in random_nets:
        n = len(load(data).ops)
        for _ in range(8):
            m = int(rng.integers(2, min(8, n - 1) + 1))
            cuts = sorted(int(c) for c in rng.choice(np.arange(1, n), size=m, replace=False))
            assert_bit_exact(data, cuts, seed=m)
        assert_bit_exact(data, list(range(1, n)))  # every op its own segment


def test_segments_connect_by_name_and_carry_skipping_tensors() -> None:
    b = ModelBuilder(seed=3)
    x = b.quantize(b.input((1, 8, 8, 3)))   # 0
    a = b.conv2d(x, 4)                       # 1
    c = b.conv2d(a, 4)                       # 2
    d = b.conv2d(c, 4)                       # 3
    b.output(b.add(a, d))                    # 4: a skips ops 2 and 3
    g = load(b.build())
    segs = segments(g, [3, 4])  # a is made in segment 0, skips segment 1, is used in 2
    ta, tc, td = (g.ops[k].outputs[0] for k in (1, 2, 3))
    assert segs[0].outputs == (ta, tc)
    assert segs[1].inputs == (tc,) and segs[1].outputs == (td,)
    assert set(segs[2].inputs) == {ta, td}
    stages = [LiteRTStage(s) for s in split(g, [3, 4])]
    assert set(stages[2].input_names) == {g.tensors[t].name for t in segs[2].inputs}
    assert g.tensors[ta].name in stages[0].output_names
    assert stages[1].input_names == (g.tensors[tc].name,)
    assert stages[2].output_names == (g.tensors[g.outputs[0]].name,)


def test_segments_copy_only_what_they_use(conv_small: bytes) -> None:
    g = load(conv_small)
    blobs = split(g, [3])
    assert sum(len(b) for b in blobs) < 1.2 * g.size_bytes
    for blob, (a, e) in zip(blobs, [(0, 3), (3, len(g.ops))], strict=True):
        seg = load(blob)
        assert len(seg.ops) == e - a
        assert seg.param_bytes == g.segment_param_bytes(a, e)
        assert [op.name for op in seg.ops] == [op.name for op in g.ops[a:e]]
        sig = seg.model.signatureDefs[0]
        assert sig.signatureKey == b"serving_default" or sig.signatureKey == "serving_default"


def test_metadata_is_kept() -> None:
    model = parse(conv(4, layers=3, size=8), "m")
    buf = schema.BufferT()
    buf.data = np.frombuffer(b"1.14.0\0", dtype=np.uint8)
    model.buffers.append(buf)
    md = schema.MetadataT()
    md.name = "min_runtime_version"
    md.buffer = len(model.buffers) - 1
    model.metadata = [md]
    g = load(serialize(model))
    for blob in split(g, [2]):
        seg = load(blob).model
        assert seg.metadata[0].name in (b"min_runtime_version", "min_runtime_version")
        assert bytes(seg.buffers[seg.metadata[0].buffer].data) == b"1.14.0\0"
        LiteRTStage(blob)


@pytest.mark.parametrize("cuts, message", [
    ([0], "outside"), ([6], "outside"), ([-1], "outside"), ([3, 2], "not increasing"),
    ([2, 2], "duplicated"),
])
def test_bad_cuts_are_clear_errors(conv_small: bytes, cuts: list[int], message: str) -> None:
    g = load(conv_small, name="conv.tflite")
    with pytest.raises(GraphError, match=message) as err:
        split(g, cuts)
    assert str(err.value).startswith("conv.tflite: ") and "\n" not in str(err.value)


def test_extract_equals_the_segment_split_writes(random_nets: list[bytes]) -> None:
    g = load(random_nets[2])
    n = len(g.ops)
    for a, b in [(0, 5), (3, 11), (7, n), (0, n)]:
        cuts = [c for c in (a, b) if 0 < c < n]
        index = 1 if a > 0 else 0
        assert extract(g, a, b) == split(g, cuts)[index]
    with pytest.raises(GraphError, match="not inside"):
        extract(g, 4, 4)
