"""Graph figures against hand-computed values on small built models."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

from tpusplit.graph import FloatModelWarning, load
from tpusplit.graph.tflite import parse, serialize
from tpusplit.models.builder import ModelBuilder
from tpusplit.models.synthetic import conv, fc


def test_conv_family_figures_by_hand() -> None:
    g = load(conv(4, layers=2, size=8))
    assert [op.name for op in g.ops] == ["QUANTIZE", "CONV_2D", "CONV_2D"]
    # conv 3->4 on 8x8: 8*8*4 outputs x 3*3*3 taps; conv 4->4: 8*8*4 x 3*3*4
    assert [op.macs for op in g.ops] == [0, 8 * 8 * 4 * 27, 8 * 8 * 4 * 36]
    # weights int8 [4,3,3,Cin] + int32 bias [4]
    assert [op.param_bytes for op in g.ops] == [0, 4 * 27 + 16, 4 * 36 + 16]
    assert [op.output_bytes for op in g.ops] == [8 * 8 * 3, 8 * 8 * 4, 8 * 8 * 4]
    assert [op.depth for op in g.ops] == [0, 1, 2]
    # cut 0: float input; 1: quantized input; 2: conv1 output; 3: nothing
    assert g.crossing_bytes.tolist() == [8 * 8 * 3 * 4, 8 * 8 * 3, 8 * 8 * 4, 0]
    assert g.param_bytes == 124 + 160
    assert g.cumulative_param_bytes.tolist() == [0, 0, 124, 284]
    assert g.segment_param_bytes(1, 3) == 284
    assert g.is_full_int8


def test_measured_families_mac_counts_match_the_data() -> None:
    # "# MACs" column of conv_1tpu.csv (F=32) and fc_1tpu.csv (N=100)
    assert load(conv(32)).macs == 154533888
    assert load(fc(100)).macs == 37400


def test_branching_graph_crossings_and_depth() -> None:
    b = ModelBuilder(seed=1)
    x = b.quantize(b.input((1, 8, 8, 3)))          # op 0
    a = b.conv2d(x, 4)                              # op 1
    c = b.conv2d(a, 4)                              # op 2
    s = b.add(a, c)                                 # op 3: a skips op 2
    p = b.max_pool(s)                               # op 4
    b.output(p)
    b.output(b.fully_connected(b.global_avg_pool(s), 3))  # ops 5, 6: second output
    g = load(b.build())
    names = [op.name for op in g.ops]
    assert names == ["QUANTIZE", "CONV_2D", "CONV_2D", "ADD", "MAX_POOL_2D", "MEAN",
                     "FULLY_CONNECTED"]
    ta, tc, ts = g.ops[1].outputs[0], g.ops[2].outputs[0], g.ops[3].outputs[0]
    assert g.crossing(2) == (ta,)
    assert set(g.crossing(3)) == {ta, tc}
    assert g.crossing_bytes[3] == 2 * 8 * 8 * 4
    assert g.crossing(5) == (ts,)  # s feeds pool (op 4) and mean (op 5)
    assert [op.depth for op in g.ops] == [0, 1, 2, 3, 4, 4, 5]
    assert g.ops[3].preds == (1, 2)
    assert g.ops[1].succs == (2, 3)
    assert g.output_ops == (4, 6)
    # MEAN counts one read per input element; max pool 2x2 window reads per output
    assert g.ops[5].element_ops == 8 * 8 * 4
    assert g.ops[4].element_ops == 4 * 4 * 4 * 4
    assert g.ops[6].macs == 3 * 4


def test_shared_buffer_counted_once_at_first_user() -> None:
    model = parse(conv(4, layers=3, size=8), "m")
    sg = model.subgraphs[0]
    w2 = sg.tensors[sg.operators[2].inputs[1]]
    w3 = copy.copy(sg.tensors[sg.operators[3].inputs[1]])
    w3.buffer = w2.buffer
    sg.tensors[sg.operators[3].inputs[1]] = w3
    g = load(serialize(model))
    assert g.ops[2].param_bytes == 4 * 36 + 16
    assert g.ops[3].param_bytes == 16  # only its own bias
    assert g.param_bytes == (4 * 27 + 16) + (4 * 36 + 16) + 16


def test_tensor_metadata() -> None:
    g = load(conv(4, layers=1, size=8))
    t_in = g.tensors[g.inputs[0]]
    assert (t_in.name, t_in.shape, t_in.dtype, t_in.constant) == ("input", (1, 8, 8, 3),
                                                                   "float32", False)
    w = g.tensors[g.ops[1].inputs[1]]
    assert w.constant and w.dtype == "int8" and w.quantized and len(w.scale) == 4
    assert w.quantized_dimension == 0
    out = g.tensors[g.outputs[0]]
    assert out.dtype == "int8" and out.zero_point == (-128,)


def test_float_model_loads_with_a_warning() -> None:
    b = ModelBuilder(seed=0)
    x = b.input((1, 4))
    b.output(b.dequantize(b.quantize(x)))
    data = b.build()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = load(data)
    assert g.is_full_int8  # only QUANTIZE/DEQUANTIZE touch floats
    assert not [w for w in caught if issubclass(w.category, FloatModelWarning)]

    model = parse(conv(4, layers=1, size=8), "m")
    model.subgraphs[0].tensors[model.subgraphs[0].operators[1].outputs[0]].type = 0  # float32
    with pytest.warns(FloatModelWarning, match="not a full-int8 model"):
        g = load(serialize(model), name="float.tflite")
    assert not g.is_full_int8


def test_narrowest_cuts_are_sorted_by_bytes() -> None:
    g = load(conv(4, layers=3, size=8))
    narrow = g.narrowest_cuts(3)
    b = g.crossing_bytes
    assert [int(b[k]) for k in narrow] == sorted(int(b[k]) for k in narrow)
    assert narrow[0] == 1 and all(0 < k < len(g.ops) for k in narrow)
    assert np.all(g.crossing_bytes[1:-1] > 0)
