"""Model builders write real int8 models that LiteRT runs, with informative outputs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tpusplit.graph import load
from tpusplit.models.builder import ModelBuilder
from tpusplit.models.random_net import random_net
from tpusplit.models.synthetic import conv, fc
from tpusplit.pipeline import LiteRTStage, random_inputs


@pytest.mark.parametrize("data", [conv(16, size=16), fc(64), random_net(0), random_net(5)],
                         ids=["conv", "fc", "net0", "net5"])
def test_models_run_and_outputs_are_not_saturated(data: bytes) -> None:
    stage = LiteRTStage(data)
    outputs = stage.run(random_inputs(stage, seed=1))
    for value in outputs.values():
        assert value.dtype == np.int8
        assert np.unique(value).size >= min(3, value.size)


def test_conv_family_parameter_sizes_match_the_data_readme() -> None:
    # "Parameters are about 9*F^2*4 bytes, so F=442 still fits one TPU and F=452 spills"
    for f in (442, 452):
        g = load(conv(f))
        assert abs(g.param_bytes - 9 * f * f * 4) / (9 * f * f * 4) < 0.01
        assert [op.name for op in g.ops] == ["QUANTIZE"] + ["CONV_2D"] * 5


def test_fc_family_shape() -> None:
    g = load(fc(100))
    assert [op.name for op in g.ops] == ["QUANTIZE"] + ["FULLY_CONNECTED", "TANH"] * 4 + [
        "FULLY_CONNECTED"]
    assert g.tensors[g.outputs[0]].shape == (1, 10)


def test_random_nets_have_branches_skips_and_two_outputs() -> None:
    for seed in range(6):
        g = load(random_net(seed))
        assert len(g.outputs) == 2
        assert max(len(g.crossing(k)) for k in range(1, len(g.ops))) >= 2
        names = {op.name for op in g.ops}
        assert names & {"ADD", "CONCATENATION"}
    assert random_net(3) == random_net(3)  # seeded
    assert random_net(3) != random_net(4)


def test_bad_builder_arguments() -> None:
    with pytest.raises(ValueError):
        conv(0)
    with pytest.raises(ValueError):
        fc(10, layers=0)


def test_concat_of_tied_inputs_requantizes_instead_of_breaking_a_pool(
        assert_bit_exact: Callable[..., None]) -> None:
    # a feeds a max-pool (its quantization is tied to the pool's output) and the concat;
    # p is a pool output: both need an int8 -> int8 QUANTIZE, which XNNPACK accepts.
    b = ModelBuilder(seed=0)
    x = b.quantize(b.input((1, 8, 8, 3)))
    a = b.conv2d(x, 4)
    p = b.max_pool(a, size=3, stride=1, padding="SAME")
    c = b.conv2d(x, 4)
    b.output(b.max_pool(b.concat([a, p, c])))
    data = b.build()
    g = load(data)
    assert [op.name for op in g.ops].count("QUANTIZE") == 3
    stage = LiteRTStage(data)
    out = stage.run(random_inputs(stage))
    assert np.unique(next(iter(out.values()))).size > 3
    for k in range(1, len(g.ops)):
        assert_bit_exact(data, [k])
