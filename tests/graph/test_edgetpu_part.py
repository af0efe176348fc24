"""The Edge TPU part of a model: Coral's compiler's counts of CPU ops, and bit-exact outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tpusplit.graph import GraphError, load
from tpusplit.graph.edgetpu_part import edgetpu_ops, edgetpu_part, supported
from tpusplit.graph.tflite import opcode_name, parse
from tpusplit.models.builder import ModelBuilder
from tpusplit.pipeline import LiteRTStage
from tpusplit.pipeline.litert import all_tensors

DATA = Path(__file__).resolve().parents[2] / "data"
MODELS = DATA / "edgetpu-community" / "models"


@pytest.mark.parametrize("name, cpu_ops", [
    # the compiled files' CPU op counts (data/edgetpu-community/compiled_graphs.csv, the
    # google-coral/test_data files): the compiler is the oracle
    ("deeplab_mobilenet_edgetpu_slim_cityscapes_quant", 2),
    ("deeplabv3_mnv2_dm05_pascal_quant", 8),
    ("deeplabv3_mnv2_pascal_quant", 8),
    ("mobilenet_v1_1.0_224_quant_embedding_extractor", 0),
    ("mobilenet_v2_1.0_224_inat_bird_quant", 0),
    ("movenet_single_pose_lightning_ptq", 59),
    ("bodypix_mobilenet_v1_075_512_512_16_quant_decoder", 1),
    ("posenet_mobilenet_v1_075_353_481_16_quant_decoder", 1),
])
def test_cpu_ops_as_the_compiler_left_them(name: str, cpu_ops: int) -> None:
    data = (MODELS / f"{name}.tflite").read_bytes()
    part, cpu = edgetpu_part(data, name)
    assert cpu == cpu_ops
    g = load(part)  # loads although PoseNet and BodyPix have a custom op
    assert len(g.ops) == len(parse(data, name).subgraphs[0].operators) - cpu_ops


def test_movenet_part_skips_the_host_input_and_keeps_independent_heads() -> None:
    m = parse((MODELS / "movenet_single_pose_lightning_ptq.tflite").read_bytes(), "movenet")
    ops = edgetpu_ops(m)
    # CAST and QUANTIZE from float prepare the input on the host; ARG_MAX and its int32
    # chain run on the CPU, but the heads after it in file order do not depend on it
    assert ops[0] == 2 and 89 not in ops and 105 not in ops
    assert {100, 101, 102, 103, 104, 106, 111} <= set(ops) and max(ops) == 111
    assert not supported(m, 0) and not supported(m, 1) and supported(m, 2)


def test_movenet_part_is_bit_exact_with_the_whole_model() -> None:
    data = (MODELS / "movenet_single_pose_lightning_ptq.tflite").read_bytes()
    part, _ = edgetpu_part(data, "movenet")
    whole = LiteRTStage(data)
    feeds = {n: np.random.default_rng(0).integers(0, 256, size=s, dtype=np.uint8)
             for n in whole.input_names for s in [whole.input_spec(n)[0]]}
    ref = all_tensors(data, feeds)
    stage = LiteRTStage(part)
    out = stage.run({n: ref[n] for n in stage.input_names})
    assert out and len(stage.output_names) >= 2
    for name, value in out.items():
        assert np.array_equal(value, ref[name]), name


def test_large_resize_and_float_edges_stay_on_the_cpu() -> None:
    b = ModelBuilder(seed=0)
    x = b.quantize(b.input((1, 8, 8, 3)))
    x = b.conv2d(x, 8, kernel=3)
    b.output(b.dequantize(x))
    m = parse(b.build(), "small")
    assert [supported(m, k) for k in range(3)] == [False, True, False]
    assert edgetpu_ops(m) == [1]
    dl = parse((MODELS / "deeplabv3_mnv2_dm05_pascal_quant.tflite").read_bytes(), "dl")
    resizes = [k for k, op in enumerate(dl.subgraphs[0].operators)
               if opcode_name(dl.operatorCodes[op.opcodeIndex]) == "RESIZE_BILINEAR"]
    # 1x1 -> 33x33 and 33x33 -> 513x513 on the CPU, 33x33 -> 33x33 on the Edge TPU
    assert [supported(dl, k) for k in resizes] == [False, True, False]


def test_nothing_to_map_is_an_error() -> None:
    b = ModelBuilder(seed=0)
    b.output(b.dequantize(b.quantize(b.input((1, 4)))))
    with pytest.raises(GraphError, match="no op"):
        edgetpu_part(b.build(), "edges.tflite")
