"""Coral's reference networks rebuilt: op for op equal to Coral's files, runnable, splittable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tpusplit.files import data_dir
from tpusplit.graph import Graph, load
from tpusplit.models import slim, zoo
from tpusplit.models.specs import build_spec
from tpusplit.pipeline import LiteRTStage, random_inputs

CORAL = data_dir() / "coral-reference" / "models"


def signature(g: Graph) -> list[tuple[str, tuple[int, ...], tuple[int, ...] | None]]:
    """Per op: name, output shape, weight shape."""
    out = []
    for op in g.ops:
        w = [g.tensors[t].shape for t in op.inputs
             if g.tensors[t].constant and len(g.tensors[t].shape) >= 2]
        out.append((op.name, g.tensors[op.outputs[0]].shape, w[0] if w else None))
    return out


@pytest.mark.parametrize("file, build", [
    ("mobilenet_v2_1.0_224_quant.tflite", lambda: slim.mobilenet_v2()),
    ("mobilenet_v1_0.75_192_quant.tflite", lambda: slim.mobilenet_v1(0.75, 192)),
    ("mobilenet_v1_0.5_160_quant.tflite", lambda: slim.mobilenet_v1(0.5, 160)),
    ("mobilenet_v1_0.25_128_quant.tflite", lambda: slim.mobilenet_v1(0.25, 128)),
])
def test_rebuilt_mobilenets_equal_corals_files_op_for_op(file: str,
                                                         build: Callable[[], bytes]) -> None:
    real, mine = load(CORAL / file), load(build())
    assert signature(mine) == signature(real)
    assert (mine.macs, mine.param_bytes) == (real.macs, real.param_bytes)


@pytest.mark.parametrize("name, macs_g, params_m, outputs", [
    ("InceptionV1-slim", 1.50, 6.64, [(1, 1001)]),
    ("InceptionV4-slim", 12.25, 42.75, [(1, 1001)]),
    ("SSDMobileNetV1", 1.24, 6.85, [(1, 1917, 4), (1, 1917, 91)]),
    ("SSDMobileNetV2Face", 0.69, 4.65, [(1, 2034, 4), (1, 2034, 2)]),
])
def test_reference_architectures_have_their_published_size(name: str, macs_g: float,
                                                           params_m: float,
                                                           outputs: list[tuple[int, ...]]
                                                           ) -> None:
    # published: Inception v1 1.5 G mult-adds / 6.6 M parameters, Inception v4 12.3 G / 42.7 M
    # (int8 weights + int32 biases: parameter bytes land within 1% of the counts)
    # (TF-slim's README); SSD: 1917 and 2034 anchors (3 per cell on the first feature map,
    # 6 elsewhere) at 300x300 and 320x320
    g = load(build_spec(name))
    assert g.macs / 1e9 == pytest.approx(macs_g, abs=0.01)
    assert g.param_bytes / 1e6 == pytest.approx(params_m, abs=0.01)
    assert [g.tensors[t].shape for t in g.outputs] == outputs


@pytest.mark.parametrize("name", ["InceptionV1-slim", "SSDMobileNetV2Face"])
def test_reference_architectures_run_and_split(name: str,
                                               assert_bit_exact: Callable[..., None]) -> None:
    data = build_spec(name)
    stage = LiteRTStage(data)
    for value in stage.run(random_inputs(stage, seed=0)).values():
        assert np.unique(value).size >= 2
    g = load(data)
    assert_bit_exact(data, sorted(g.narrowest_cuts(2)))


def test_zoo_builds_reference_models_without_tensorflow(tmp_path: object,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPUSPLIT_ZOO", str(tmp_path))
    path = zoo.build("MobileNetV1-slim")
    assert load(path).macs == load(slim.mobilenet_v1()).macs
    assert zoo.build("coral-mobilenet_v1_0.25_128").read_bytes() == (
        CORAL / "mobilenet_v1_0.25_128_quant.tflite").read_bytes()
    assert set(zoo.available()) == {"MobileNetV1-slim", "coral-mobilenet_v1_0.25_128"}


def test_dense_mobilenet_v2_equals_corals_inat_bird_file_op_for_op() -> None:
    real = load(data_dir() / "edgetpu-community" / "models"
                / "mobilenet_v2_1.0_224_inat_bird_quant.tflite")
    mine = load(slim.mobilenet_v2_dense(224, classes=965))
    # the rebuild flattens the pooled features with a RESHAPE (free; its shape is 8 bytes)
    assert [s for s in signature(mine) if s[0] != "RESHAPE"] == signature(real)
    assert (mine.macs, mine.param_bytes - 8) == (real.macs, real.param_bytes)


def test_dense_mobilenet_v2_features_at_any_input() -> None:
    g = load(slim.mobilenet_v2_dense(1024, 512, classes=None))
    assert [g.tensors[t].shape for t in g.outputs] == [(1, 32, 16, 1280)]
    assert g.ops[-1].name == "CONV_2D"


@pytest.mark.parametrize("variant, size, params_m, depthwise, adds", [
    ("S", 224, 5.44, 11, 12), ("M", 240, 6.90, 14, 17), ("L", 300, 10.59, 16, 20)])
def test_efficientnet_edgetpu_has_its_published_size(variant: str, size: int, params_m: float,
                                                     depthwise: int, adds: int) -> None:
    # published with the checkpoints (tensorflow/tpu efficientnet/edgetpu): about 5.4, 6.9 and
    # 10.6 M parameters, batch norm included (folded away here: up to 0.5% fewer); repeats
    # ceil(depth x (1, 2, 4, 5, 4, 2)), depthwise only in the last three stages, a residual
    # add wherever a block keeps its width at stride 1 (never in the first stage: noskip)
    g = load(build_spec(f"EfficientNet-EdgeTpu-{variant}"))
    weights = sum(int(np.prod(g.tensors[t].shape)) for op in g.ops for t in op.inputs
                  if g.tensors[t].constant)
    assert weights / 1e6 == pytest.approx(params_m, rel=0.006)
    assert weights / 1e6 < params_m
    names = [op.name for op in g.ops]
    assert (names.count("DEPTHWISE_CONV_2D"), names.count("ADD")) == (depthwise, adds)
    assert g.tensors[g.inputs[0]].shape == (1, size, size, 3)
    assert [g.tensors[t].shape for t in g.outputs] == [(1, 1001)]


def test_efficientnet_edgetpu_l_widths_and_resolution() -> None:
    """Width 1.2 rounded as round_filters does: stem 40, stages 32, 40, 56, 112, 176, 232,
    head 1536 at 10x10 (300 / 2 / 2 / 2 / 2 / 2, rounded up)."""
    g = load(slim.efficientnet_edgetpu("L"))
    convs = [g.tensors[op.outputs[0]].shape for op in g.ops if op.name == "CONV_2D"]
    assert convs[0] == (1, 150, 150, 40) and convs[-1] == (1, 10, 10, 1536)
    projections = sorted({s[-1] for s in convs[1:-1]} & {32, 40, 56, 112, 176, 232})
    assert projections == [32, 40, 56, 112, 176, 232]
    stage = LiteRTStage(slim.efficientnet_edgetpu("S"))
    out = next(iter(stage.run(random_inputs(stage, seed=0)).values()))
    assert out.shape == (1, 1001)
