"""Caching rule on small built models against hand-worked numbers."""

from __future__ import annotations

from tpusplit.costs.onchip import DEPTHWISE_BYTES, layer_bytes, place, segment_placement
from tpusplit.graph import load
from tpusplit.models.builder import ModelBuilder
from tpusplit.models.synthetic import conv, fc
from tpusplit.units import MiB


def test_conv_layer_sizes_match_the_compiler_figure_for_f32() -> None:
    g = load(conv(32))
    sizes = [layer_bytes(g, i) for i in range(len(g.ops))]
    # QUANTIZE none; conv 3->32: (9*4+8)*64; conv 32->32: (9*32+8)*64
    assert sizes == [0, 2816, 18944, 18944, 18944, 18944]
    assert sum(sizes) / MiB == 0.074951171875  # conv_1tpu.csv F=32, exactly


def test_fc_layer_sizes_match_the_compiler_figure_for_n100() -> None:
    g = load(fc(100))
    sizes = [s for s in (layer_bytes(g, i) for i in range(len(g.ops))) if s]
    assert sizes == [64 * 128, 100 * 128, 100 * 128, 100 * 128, 100 * 64]
    assert sum(sizes) / MiB == 0.050537109375  # fc_1tpu.csv N=100


def test_depthwise_and_padding_of_odd_channels() -> None:
    b = ModelBuilder(seed=0)
    x = b.quantize(b.input((1, 8, 8, 5)))
    x = b.depthwise_conv2d(x, kernel=3)
    x = b.conv2d(x, 70, kernel=1)
    b.output(x)
    g = load(b.build())
    by_name = {op.name: layer_bytes(g, op.index) for op in g.ops}
    assert by_name["DEPTHWISE_CONV_2D"] == (3 * 9 + 3) * 64
    assert by_name["CONV_2D"] == (1 * 8 + 8) * 128


def test_depthwise_size_grows_with_the_kernel_and_pads_channels_to_64() -> None:
    b = ModelBuilder(seed=0)
    x = b.quantize(b.input((1, 16, 16, 72)))
    x = b.depthwise_conv2d(x, kernel=5)
    y = b.depthwise_conv2d(x, kernel=3)
    b.output(y)
    g = load(b.build())
    dws = [op.index for op in g.ops if op.name == "DEPTHWISE_CONV_2D"]
    assert [layer_bytes(g, i) for i in dws] == [(3 * 25 + 3) * 128, (3 * 9 + 3) * 128]
    # the formula of before, (kh * kw + 8) * ceil64(ch), through the parameter
    assert [layer_bytes(g, i, (1, 8)) for i in dws] == [(25 + 8) * 128, (9 + 8) * 128]
    assert DEPTHWISE_BYTES == (3, 3)


def test_place_keeps_caching_smaller_later_layers() -> None:
    assert place([3, 5, 4, 1], 8) == (True, True, False, False)
    assert place([3, 6, 4, 1], 8) == (True, False, True, True)
    assert place([], 8) == ()
    assert place([9], 8) == (False,)


def test_spill_cliff_between_f442_and_f452() -> None:
    for f, spills in ((442, False), (452, True)):
        g = load(conv(f))
        pl = segment_placement(g, 0, len(g.ops), 7.76, 0.5, 0.1)
        assert (pl.off_chip_bytes > 0) is spills
    g = load(conv(452))
    pl = segment_placement(g, 0, len(g.ops), 7.76, 0.5, 0.1)
    assert abs(pl.off_chip_bytes / MiB - 1.99) < 0.01  # one layer, as the compiler said
    assert pl.cached == (True, True, True, True, True, False)


def test_boundary_activations_shrink_the_capacity() -> None:
    g = load(conv(582))
    whole = segment_placement(g, 0, len(g.ops), 7.76, 0.5, 0.1)
    tail = segment_placement(g, 4, 6, 7.76, 0.5, 0.1)
    assert tail.capacity < whole.capacity
    # conv_3tpu F=582: the last segment (2 layers, 6.43 MiB) caches one layer only
    assert tail.cached == (True, False)
