"""Splitting a layer by output channels is bit-exact with LiteRT, and the rewrite is well-formed."""

from __future__ import annotations

import itertools
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph import (
    EDGETPU_CHANNELS,
    FloatModelWarning,
    GraphError,
    LayerSplit,
    balanced_boundaries,
    load,
    op_ranges,
    propose,
    split,
    split_layers,
)
from tpusplit.graph.tflite import opcode_name, parse, serialize
from tpusplit.models import zoo
from tpusplit.models.builder import ModelBuilder
from tpusplit.models.synthetic import conv, fc
from tpusplit.pipeline import LiteRTStage, random_inputs, run_sequential
from tpusplit.pipeline.litert import all_tensors

CORAL = Path(__file__).resolve().parents[2] / "data" / "coral-reference" / "models"
SEEDS = (0, 1, 2)


def assert_rewrite_exact(data: bytes, rewritten: bytes, seeds: Sequence[int] = SEEDS) -> int:
    """The rewritten model equals the original on random inputs: every output (default
    interpreter, XNNPACK) and every activation tensor of the original (reference kernels,
    all tensors kept). Returns how many activation tensors were compared per seed."""
    whole, new = LiteRTStage(data), LiteRTStage(rewritten)
    assert set(new.input_names) == set(whole.input_names)
    assert set(new.output_names) == set(whole.output_names)
    g = load(data)
    activations = {t.name for t in g.tensors if not t.constant}
    for seed in seeds:
        feeds = random_inputs(whole, seed=seed)
        expected, got = whole.run(feeds), new.run(feeds)
        for name, value in expected.items():
            assert got[name].dtype == value.dtype and got[name].shape == value.shape
            assert np.array_equal(got[name], value), f"output {name} differs (seed {seed})"
        ref, out = all_tensors(data, feeds), all_tensors(rewritten, feeds)
        compared = activations & set(ref)
        assert compared <= set(out), f"lost tensors {sorted(compared - set(out))[:3]}"
        for name in compared:
            assert np.array_equal(out[name], ref[name]), f"{name} differs (seed {seed})"
    return len(compared)


def split_ops(data: bytes, kind: str) -> list[int]:
    return [op.index for op in load(data).ops if op.name == kind]


# ---------------------------------------------------------------- small models of each kind
def conv_model(per_channel: bool, activation: str | None, stride: int, padding: str,
               channels: int = 24, seed: int = 0) -> bytes:
    b = ModelBuilder(seed=seed)
    x = b.input((1, 9, 9, 8), dtype="int8")
    y = b.conv2d(x, channels, kernel=3, stride=stride, padding=padding, activation=activation,
                 per_channel=per_channel)
    b.output(b.conv2d(y, 8, kernel=1, activation=None))
    return b.build()


def depthwise_model(per_channel: bool, activation: str | None, stride: int, padding: str,
                    multiplier: int, seed: int = 0) -> bytes:
    b = ModelBuilder(seed=seed)
    x = b.input((1, 9, 9, 12), dtype="int8")
    y = b.depthwise_conv2d(x, kernel=3, stride=stride, multiplier=multiplier,
                           padding=padding, activation=activation, per_channel=per_channel)
    b.output(b.conv2d(y, 8, kernel=1, activation=None))
    return b.build()


def fc_model(per_channel: bool, activation: str | None, rows: int, units: int = 40,
             seed: int = 0) -> bytes:
    b = ModelBuilder(seed=seed)
    x = b.input((rows, 32), dtype="int8")
    y = b.fully_connected(x, units, activation=activation, per_channel=per_channel)
    b.output(b.fully_connected(y, 10))
    return b.build()


ACTIVATIONS = [None, "RELU", "RELU6"]
GEOMETRIES = [(1, "SAME"), (2, "SAME"), (1, "VALID"), (2, "VALID")]


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("stride, padding", GEOMETRIES)
def test_conv_splits_are_bit_exact(per_channel: bool, activation: str | None, stride: int,
                                   padding: str) -> None:
    data = conv_model(per_channel, activation, stride, padding)
    op = split_ops(data, "CONV_2D")[0]
    for bounds in ([12], [8, 16], [1, 5, 23]):  # 2, 3 and 4 ways, uneven
        assert_rewrite_exact(data, split_layers(data, {op: bounds}))


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("stride, padding", GEOMETRIES)
@pytest.mark.parametrize("multiplier", [1, 2])
def test_depthwise_splits_are_bit_exact(per_channel: bool, activation: str | None, stride: int,
                                        padding: str, multiplier: int) -> None:
    data = depthwise_model(per_channel, activation, stride, padding, multiplier)
    op = split_ops(data, "DEPTHWISE_CONV_2D")[0]
    c = 12 * multiplier
    for bounds in ([c // 2], [2 * multiplier, 6 * multiplier, 10 * multiplier]):
        assert_rewrite_exact(data, split_layers(data, {op: bounds}))


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("rows", [1, 3])
def test_fully_connected_splits_are_bit_exact(per_channel: bool, activation: str | None,
                                              rows: int) -> None:
    data = fc_model(per_channel, activation, rows)
    ops = split_ops(data, "FULLY_CONNECTED")
    for bounds in ([20], [7, 33], [10, 20, 30]):
        assert_rewrite_exact(data, split_layers(data, {ops[0]: bounds}))
    assert_rewrite_exact(data, split_layers(data, {ops[0]: [16], ops[1]: [3, 5]}))


def _patch(data: bytes, edit: Callable[[schema.ModelT], None]) -> bytes:
    model = parse(data, "m")
    edit(model)
    return serialize(model)


def test_fully_connected_keep_num_dims_and_flattened_inputs_are_bit_exact() -> None:
    b = ModelBuilder(seed=4)
    x = b.input((1, 4, 32), dtype="int8")
    y = b.fully_connected(x, 24, activation="RELU")  # (1, 4, 24): needs keep_num_dims
    b.output(b.fully_connected(y, 10))               # (1, 4, 10) -> patched to (4, 10) below

    def edit(model: schema.ModelT) -> None:
        sg = model.subgraphs[0]
        first, second = sg.operators
        first.builtinOptions.keepNumDims = True
        sg.tensors[second.outputs[0]].shape = [4, 10]  # no keep_num_dims: rows flattened

    data = _patch(b.build(), edit)
    g = load(data)
    assert g.tensors[g.ops[0].outputs[0]].shape == (1, 4, 24)
    for splits in ({0: [8]}, {1: [5]}, {0: [8, 16], 1: [2, 4, 6]}):
        rewritten = split_layers(data, splits)
        assert_rewrite_exact(data, rewritten)
        new = load(rewritten)
        concats = [op for op in new.ops if op.name == "CONCATENATION"]
        for op in concats:
            rank = len(new.tensors[op.outputs[0]].shape)
            assert new.model.subgraphs[0].operators[op.index].builtinOptions.axis == rank - 1


def test_dilated_convolutions_are_bit_exact() -> None:
    b = ModelBuilder(seed=5)
    x = b.input((1, 12, 12, 8), dtype="int8")
    y = b.conv2d(x, 16, kernel=3, activation="RELU6")
    z = b.depthwise_conv2d(y, kernel=3, activation="RELU")
    b.output(z)

    def edit(model: schema.ModelT) -> None:
        for op in model.subgraphs[0].operators:
            op.builtinOptions.dilationHFactor = op.builtinOptions.dilationWFactor = 2

    data = _patch(b.build(), edit)
    rewritten = split_layers(data, {0: [4, 12], 1: [8]})
    assert_rewrite_exact(data, rewritten)
    new = parse(rewritten, "new")
    for op in new.subgraphs[0].operators:
        if op.builtinOptionsType in (schema.BuiltinOptions.Conv2DOptions,
                                     schema.BuiltinOptions.DepthwiseConv2DOptions):
            assert op.builtinOptions.dilationHFactor == op.builtinOptions.dilationWFactor == 2


def test_several_layers_of_a_network_at_once(random_nets: list[bytes]) -> None:
    """Every splittable layer of a branching net (convs, depthwise, dense, skips, concats)."""
    total = 0
    for data in random_nets[:3]:
        g = load(data)
        splits = {}
        for op in g.ops:
            if op.name in ("CONV_2D", "FULLY_CONNECTED", "DEPTHWISE_CONV_2D"):
                c = g.tensors[op.outputs[0]].shape[-1]
                m = c // g.tensors[op.inputs[0]].shape[-1] if op.name == "DEPTHWISE_CONV_2D" \
                    else 1
                if c // m >= 2:
                    splits[op.index] = list(balanced_boundaries(c, min(3, c // m), m))
        assert len(splits) >= 3
        assert_rewrite_exact(data, split_layers(data, splits), seeds=(0,))
        total += len(splits)
    assert total >= 10


# ---------------------------------------------------------------- real graphs
def test_coral_graphs_split_bit_exactly(assert_bit_exact: Callable[..., None]) -> None:
    """Coral's uint8 MobileNet v1 (0.25, 128): first conv, a depthwise, a pointwise and the
    1001-class logits; MobileNet v2: an expansion and its depthwise."""
    data = (CORAL / "mobilenet_v1_0.25_128_quant.tflite").read_bytes()
    g = load(data)
    assert [g.ops[i].name for i in (0, 1, 26, 28)] == ["CONV_2D", "DEPTHWISE_CONV_2D",
                                                       "CONV_2D", "CONV_2D"]
    splits = {0: [4], 1: [2, 6], 26: [64, 128, 192], 28: [256, 512, 768]}
    rewritten = split_layers(g, splits)
    assert assert_rewrite_exact(data, rewritten, seeds=(0, 1)) > 30
    logits = op_ranges(g, splits)[28]  # 4 slices + concatenation: cut between the slices
    assert_bit_exact(rewritten, [logits.start + 1, logits.start + 3])
    data2 = (CORAL / "mobilenet_v2_1.0_224_quant.tflite").read_bytes()
    g2 = load(data2)
    assert [g2.ops[i].name for i in (3, 4)] == ["CONV_2D", "DEPTHWISE_CONV_2D"]
    assert_rewrite_exact(data2, split_layers(g2, {3: [64], 4: [32, 64]}), seeds=(0,))


def _every_large_layer(data: bytes, min_params: int, k: int) -> dict[int, list[int]]:
    g = load(data)
    out = {}
    for op in g.ops:
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED") and (
                op.param_bytes >= min_params):
            out[op.index] = list(propose(g, op.index, k).boundaries)
    return out


def test_synthetic_families_split_every_large_layer() -> None:
    """conv-682 (4.2 MB per layer: spills one Edge TPU) and fc-2620 (6.9 MB per layer), every
    large layer split at multiples of 64 channels, 2 to 4 ways."""
    big_conv = conv(682, layers=3, size=6)
    splits = _every_large_layer(big_conv, 1 << 20, 3)
    assert len(splits) == 2
    rewritten = split_layers(big_conv, splits)
    assert_rewrite_exact(big_conv, rewritten, seeds=(0,))
    assert len(rewritten) - len(big_conv) < 8 * 1024  # the slices replace the weights
    big_fc = fc(2620, layers=3)
    for k in (2, 4):
        splits = _every_large_layer(big_fc, 1 << 20, k)
        assert len(splits) == 2
        assert_rewrite_exact(big_fc, split_layers(big_fc, splits), seeds=(0, 1))


def test_slim_rebuilds_split_bit_exactly() -> None:
    """The zoo's MobileNetV1-slim and InceptionV1-slim (224x224), every layer over 256 KiB
    split in two at multiples of 64 channels."""
    for name, layers in [("MobileNetV1-slim", 8), ("InceptionV1-slim", 7)]:
        data = zoo.model_bytes(name)
        splits = _every_large_layer(data, 256 * 1024, 2)
        assert len(splits) == layers
        assert_rewrite_exact(data, split_layers(data, splits), seeds=(0,))


@pytest.mark.zoo
@pytest.mark.parametrize("name", ["ResNet50", "MobileNetV2", "InceptionV3"])
def test_keras_zoo_splits_every_large_layer(name: str) -> None:
    if name not in zoo.available():
        pytest.skip(f"{name} not built (tpusplit zoo build {name})")
    data = zoo.zoo_path(name).read_bytes()
    splits = _every_large_layer(data, 1 << 20, 2)
    assert splits
    assert_rewrite_exact(data, split_layers(data, splits), seeds=(0,))


# ---------------------------------------------------------------- cutting between slices
def test_cuts_between_slices_of_one_layer_are_bit_exact(
        assert_bit_exact: Callable[..., None]) -> None:
    b = ModelBuilder(seed=7)
    x = b.input((1, 8, 8, 6), dtype="int8")
    y = b.conv2d(x, 24, activation="RELU")
    z = b.depthwise_conv2d(y, multiplier=2, activation="RELU6")
    b.output(b.fully_connected(b.reshape(z, (1, 8 * 8 * 48)), 30))
    data = b.build()
    g = load(data)
    splits = {0: [8, 16], 1: [16, 32], 3: [10, 20]}
    rewritten = split_layers(g, splits)
    ranges = op_ranges(g, splits)
    new_n = len(load(rewritten).ops)
    inner = [c for op in splits for c in ranges[op][1:] if c < new_n]
    for cut in inner:
        assert_bit_exact(rewritten, [cut])
    assert_bit_exact(rewritten, inner[::2])
    assert_bit_exact(rewritten, inner)
    # ... and the segments, run in order, reproduce the original model's outputs
    feeds = random_inputs(LiteRTStage(data), seed=3)
    expected = LiteRTStage(data).run(feeds)
    env = run_sequential([LiteRTStage(s) for s in split(load(rewritten), inner)], feeds)
    for name, value in expected.items():
        assert np.array_equal(env[name], value)


# ---------------------------------------------------------------- structure of the rewrite
def test_op_ranges_map_original_ops_to_the_new_ones() -> None:
    b = ModelBuilder(seed=8)
    x = b.quantize(b.input((1, 8, 8, 4)))
    y = b.conv2d(x, 16)
    z = b.depthwise_conv2d(y, multiplier=2)
    w = b.conv2d(z, 12)
    b.output(b.fully_connected(b.reshape(w, (1, 8 * 8 * 12)), 9))
    data = b.build()
    g = load(data)
    splits = [LayerSplit(1, (4, 12)), LayerSplit(2, (8, 16, 24)), LayerSplit(5, (3,))]
    new = load(split_layers(g, splits))
    ranges = op_ranges(g, splits)
    assert ranges[0].start == 0 and ranges[-1].stop == len(new.ops)
    assert all(a.stop == b.start for a, b in itertools.pairwise(ranges))
    assert [len(r) for r in ranges] == [1, 4, 9, 1, 1, 3]
    assert op_ranges(g, {s.op: s.boundaries for s in splits}) == ranges
    origin = {j: i for i, r in enumerate(ranges) for j in r}  # the inverse map
    assert sorted(origin) == list(range(len(new.ops)))
    for i, op in enumerate(g.ops):
        new_ops = [new.ops[j] for j in ranges[i]]
        out_name = g.tensors[op.outputs[0]].name
        last = new_ops[-1]
        assert new.tensors[last.outputs[0]].name == out_name
        if len(new_ops) == 1:
            assert last.name == op.name
            assert [new.tensors[t].name for t in last.inputs] == [
                g.tensors[t].name for t in op.inputs]
            continue
        assert last.name == "CONCATENATION"
        body = [o.name for o in new_ops[:-1]]
        s = next(s for s in splits if s.op == i)
        if op.name == "DEPTHWISE_CONV_2D":
            assert body == ["SLICE"] * s.count + [op.name] * s.count
        else:
            assert body == [op.name] * s.count
        slices = new_ops[-1 - s.count:-1]
        assert list(last.inputs) == [o.outputs[0] for o in slices]
        widths = [new.tensors[o.outputs[0]].shape[-1] for o in slices]
        assert widths == [e - a for a, e in s.slices(g.tensors[op.outputs[0]].shape[-1])]


def test_slices_carry_the_sliced_weights_and_the_output_quantization() -> None:
    data = depthwise_model(True, "RELU", 1, "SAME", 2)
    g = load(data)
    op = g.ops[split_ops(data, "DEPTHWISE_CONV_2D")[0]]
    w0, b0, out0 = (g.tensors[t] for t in (op.inputs[1], op.inputs[2], op.outputs[0]))
    weights = np.frombuffer(bytes(g.model.buffers[w0.buffer].data), np.int8).reshape(w0.shape)
    bias = np.frombuffer(bytes(g.model.buffers[b0.buffer].data), np.int32)
    new = load(split_layers(g, {op.index: [6, 10]}))
    dws = [o for o in new.ops if o.name == "DEPTHWISE_CONV_2D"]
    slices = [o for o in new.ops if o.name == "SLICE"]
    for (a, e), dw, sl in zip([(0, 6), (6, 10), (10, 24)], dws, slices, strict=True):
        x, w, bb, y = (new.tensors[t] for t in (*dw.inputs, dw.outputs[0]))
        assert x.index == sl.outputs[0] and x.shape == (1, 9, 9, (e - a) // 2)
        assert (x.scale, x.zero_point) == (g.tensors[op.inputs[0]].scale,
                                           g.tensors[op.inputs[0]].zero_point)
        got = np.frombuffer(bytes(new.model.buffers[w.buffer].data), np.int8).reshape(w.shape)
        assert np.array_equal(got, weights[..., a:e]) and w.quantized_dimension == 3
        assert w.scale == w0.scale[a:e] and bb.scale == b0.scale[a:e]
        got_b = np.frombuffer(bytes(new.model.buffers[bb.buffer].data), np.int32)
        assert np.array_equal(got_b, bias[a:e])
        assert (y.scale, y.zero_point, y.dtype) == (out0.scale, out0.zero_point, out0.dtype)
        opts = new.model.subgraphs[0].operators[dw.index].builtinOptions
        assert opts.depthMultiplier == 2
        begin, size = (np.frombuffer(bytes(new.model.buffers[new.tensors[t].buffer].data),
                                     np.int32) for t in sl.inputs[1:])
        assert begin.tolist() == [0, 0, 0, a // 2] and size.tolist() == [1, 9, 9, (e - a) // 2]


def test_unused_weights_are_dropped_and_shared_ones_kept() -> None:
    data = conv(64, layers=3, size=8)  # ops: QUANTIZE, 3 x CONV_2D; layers 2 and 3 64 -> 64
    g = load(data)
    w1, w2 = g.ops[2].inputs[1], g.ops[3].inputs[1]
    weight_bytes = g.tensors[w1].nbytes + g.tensors[g.ops[2].inputs[2]].nbytes
    rewritten = split_layers(g, {2: [16, 48]})
    new = load(rewritten)
    assert new.param_bytes == g.param_bytes  # the slices replace the original weights
    assert len(new.model.buffers) == len(g.model.buffers) + 6 - 2
    assert g.tensors[w1].name not in {t.name for t in new.tensors}
    assert 0 < len(rewritten) - len(data) < 4 * 1024

    def share(model: schema.ModelT) -> None:  # op 3 reads op 2's weights and bias
        ops = model.subgraphs[0].operators
        ops[3].inputs = [ops[3].inputs[0], ops[2].inputs[1], ops[2].inputs[2]]

    shared = _patch(data, share)
    gs = load(shared)
    assert gs.ops[3].inputs[1] == w1 != w2
    rewritten = split_layers(gs, {2: [32]})
    new = load(rewritten)
    assert new.param_bytes == gs.param_bytes + weight_bytes  # original kept for op 3
    assert g.tensors[w1].name in {t.name for t in new.tensors}
    assert 0 < len(rewritten) - len(shared) - weight_bytes < 4 * 1024
    assert_rewrite_exact(shared, rewritten, seeds=(0,))


def test_names_stay_unique_and_the_source_is_untouched() -> None:
    b = ModelBuilder(seed=9)
    x = b.input((1, 6, 6, 8), dtype="int8")
    y = b.depthwise_conv2d(x, multiplier=1)
    z = b.depthwise_conv2d(x, multiplier=1)  # a second reader of x: same input slices
    b.output(b.add(y, z))
    data = b.build()
    g = load(data)
    before = serialize(g.model)
    new = load(split_layers(g, {0: [4], 1: [4]}))
    names = [t.name for t in new.tensors]
    assert len(set(names)) == len(names)
    assert f"{g.tensors[x].name}/ch0-4" in names and f"{g.tensors[x].name}/ch0-4__2" in names
    assert serialize(g.model) == before
    assert_rewrite_exact(data, split_layers(data, {0: [4], 1: [4]}))


def test_rewrite_uses_only_what_the_edgetpu_compiler_documents() -> None:
    """The stand-in compiler checks no ops, so this checks the documented limits instead:
    only the original ops plus CONCATENATION and SLICE; concatenation without activation or
    constant inputs, its inputs at the output's quantization; SLICE with constant begin and
    size, never across the batch; slices keep the original's options; no activation has a
    dimension larger than 1 outside its three innermost."""
    b = ModelBuilder(seed=10)
    x = b.quantize(b.input((1, 10, 10, 3)))
    y = b.conv2d(x, 192, stride=2)
    z = b.depthwise_conv2d(y, activation="RELU6")
    b.output(b.fully_connected(b.reshape(z, (1, 5 * 5 * 192)), 160))
    data = b.build()
    g = load(data)
    splits = [propose(g, 1, 3), propose(g, 2, 2), propose(g, 4, 2, granularity=32)]
    assert [s.boundaries for s in splits] == [(64, 128), (64,), (64,)]
    new = load(split_layers(g, splits))
    sg = new.model.subgraphs[0]
    assert {op.name for op in new.ops} == {op.name for op in g.ops} | {"CONCATENATION",
                                                                       "SLICE"}
    originals = {op.name: g.model.subgraphs[0].operators[op.index] for op in g.ops}
    for op in new.ops:
        raw = sg.operators[op.index]
        for t in (*op.inputs, *op.outputs):
            if not new.tensors[t].constant:
                assert sum(d > 1 for d in new.tensors[t].shape[:-3]) == 0
        if op.name == "CONCATENATION":
            out = new.tensors[op.outputs[0]]
            assert raw.builtinOptions.fusedActivationFunction == 0
            for t in op.inputs:
                assert not new.tensors[t].constant
                assert (new.tensors[t].scale, new.tensors[t].zero_point) == (out.scale,
                                                                            out.zero_point)
        elif op.name == "SLICE":
            x_t, begin, size = (new.tensors[t] for t in raw.inputs)
            assert begin.constant and size.constant
            b_ = np.frombuffer(bytes(new.model.buffers[begin.buffer].data), np.int32)
            s_ = np.frombuffer(bytes(new.model.buffers[size.buffer].data), np.int32)
            assert b_[0] == 0 and s_[0] == x_t.shape[0]
        elif op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            assert vars(raw.builtinOptions) == vars(originals[op.name].builtinOptions)
            codes = new.model.operatorCodes
            assert codes[raw.opcodeIndex].version == g.model.operatorCodes[
                originals[op.name].opcodeIndex].version
    assert all(opcode_name(c) != "SPLIT_V" for c in new.model.operatorCodes)


# ---------------------------------------------------------------- boundaries and records
def test_balanced_boundaries_minimise_the_largest_slice() -> None:
    """Against brute force over every choice of boundaries at multiples of ``step``."""
    checked = 0
    for channels, k, step in itertools.product([*range(1, 41), 64, 100, 129, 200, 682],
                                               [2, 3, 4], [1, 3, 8, 64]):
        candidates = list(range(step, channels, step))
        if len(candidates) > 30:
            continue  # too many combinations for the oracle
        best = min((max(b - a for a, b in itertools.pairwise([0, *c, channels]))
                    for c in itertools.combinations(candidates, k - 1)), default=None)
        if best is None:
            with pytest.raises(ValueError):
                balanced_boundaries(channels, k, step)
            continue
        got = balanced_boundaries(channels, k, step)
        assert len(got) == k - 1 and all(b % step == 0 for b in got)
        assert list(got) == sorted(set(got)) and got[0] > 0 and got[-1] < channels
        assert max(b - a for a, b in itertools.pairwise([0, *got, channels])) == best, (
            channels, k, step)
        checked += 1
    assert checked > 250


def test_propose_uses_the_depth_multiplier_and_explains_failures() -> None:
    data = depthwise_model(True, None, 1, "SAME", 2)  # 24 channels, multiplier 2
    g = load(data, name="dw.tflite")
    op = split_ops(data, "DEPTHWISE_CONV_2D")[0]
    assert propose(g, op, 3, granularity=3).boundaries == (6, 12)
    assert propose(g, op, 2, granularity=1).boundaries == (12,)
    assert EDGETPU_CHANNELS == 64
    with pytest.raises(GraphError, match=r"^dw\.tflite: op 0 .*cannot be split 2 ways at "
                                         r"multiples of 64"):
        propose(g, op, 2)
    with pytest.raises(GraphError, match="granularity"):
        propose(g, op, 2, granularity=0)


def test_layer_split_records_round_trip_through_json() -> None:
    s = LayerSplit(12, (256, 512))
    assert s.count == 3 and s.slices(700) == [(0, 256), (256, 512), (512, 700)]
    assert LayerSplit.from_json(json.loads(json.dumps(s.to_json()))) == s
    for bad in [[12, [1]], {"op": 1}, {"op": "1", "boundaries": [1]},
                {"op": 1, "boundaries": [1.5]}, {"op": True, "boundaries": [1]},
                {"op": 1, "boundaries": [1], "k": 2}]:
        with pytest.raises(GraphError, match=r"^plan\.json: ") as err:
            LayerSplit.from_json(bad, "plan.json")
        assert "\n" not in str(err.value)


# ---------------------------------------------------------------- errors
def _float_conv() -> bytes:
    def edit(model: schema.ModelT) -> None:
        sg = model.subgraphs[0]
        op = sg.operators[0]
        for t in (op.inputs[0], op.outputs[0]):
            sg.tensors[t].type = schema.TensorType.FLOAT32
            sg.tensors[t].quantization = None
    return _patch(conv_model(True, None, 1, "SAME"), edit)


@pytest.mark.parametrize("splits, message", [
    ({5: [4]}, r"op 5: not an op index \(the model has 2 ops\)"),
    ({0: []}, "at least one channel boundary"),
    ({0: [12, 12]}, r"not strictly increasing inside \(0, 24\)"),
    ({0: [0, 12]}, "not strictly increasing"),
    ({0: [24]}, "not strictly increasing"),
    ({0: [13, 5]}, "not strictly increasing"),
    ({0: [2.5]}, "not integers"),
    ([LayerSplit(0, (4,)), LayerSplit(0, (8,))], "op 0 is split twice"),
    ({0: 12}, "an op index and a list of channel boundaries"),
    ({"0": [12]}, "an op index and a list of channel boundaries"),
    ([(0, [12])], "an op index and a list of channel boundaries"),
])
def test_bad_splits_are_one_line_errors(splits: object, message: str) -> None:
    data = conv_model(True, None, 1, "SAME")
    with pytest.raises(GraphError, match=message) as err:
        split_layers(data, splits, name="m.tflite")  # type: ignore[arg-type]
    assert str(err.value).startswith("m.tflite: ") and "\n" not in str(err.value)
    with pytest.raises(GraphError, match=message):
        op_ranges(load(data, name="m.tflite"), splits)  # type: ignore[arg-type]


def test_ops_that_do_not_split_are_one_line_errors() -> None:
    cases: list[tuple[bytes, dict[int, list[int]], str]] = [
        (conv(8, layers=2, size=8), {0: [1]}, r"op 0 \(QUANTIZE\): only CONV_2D, "
                                              "DEPTHWISE_CONV_2D, FULLY_CONNECTED split"),
        (depthwise_model(True, None, 1, "SAME", 2), {0: [3]}, "multiples of the depth "
                                                               "multiplier 2"),
        (_float_conv(), {0: [4]}, r"op 0 \(CONV_2D\): input float32, weights int8, output "
                                  "float32: only fully int8 or uint8"),
    ]

    def grouped(model: schema.ModelT) -> None:  # 8 input channels, filters of 4: 2 groups
        sg = model.subgraphs[0]
        w = sg.tensors[sg.operators[0].inputs[1]]
        w.shape = [24, 3, 3, 4]

    cases.append((_patch(conv_model(True, None, 1, "SAME"), grouped), {0: [4]},
                  "grouped convolution"))
    for data, splits, message in cases:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FloatModelWarning)
            graph = load(data, name="m.tflite")
        with pytest.raises(GraphError, match=message) as err:
            split_layers(graph, splits)
        assert str(err.value).startswith("m.tflite: op ") and "\n" not in str(err.value)
