"""The synthetic model families of the published Edge TPU experiments: ``conv(F)`` and ``fc(N)``.

Both mirror the Keras models behind ../shared/data/edgetpu-measurements: a float32 input with a
QUANTIZE op in front, int8 layers, int8 output.
"""

from __future__ import annotations

from tpusplit.models.builder import ModelBuilder


def conv(filters: int, layers: int = 5, size: int = 64, seed: int = 0) -> bytes:
    """``size x size x 3`` input, then ``layers`` x Conv2D(``filters``, 3x3, same, ReLU).

    Parameters are about ``9 * F^2 * 4`` bytes: F=442 still fits one Edge TPU, F=452 spills.
    """
    if filters < 1 or layers < 1 or size < 1:
        raise ValueError("conv: filters, layers and size must be positive")
    b = ModelBuilder(seed=seed, name=f"conv_F{filters}")
    x = b.quantize(b.input((1, size, size, 3)))
    for _ in range(layers):
        x = b.conv2d(x, filters, kernel=3)
    b.output(x)
    return b.build()


def fc(neurons: int, layers: int = 4, inputs: int = 64, classes: int = 10, seed: int = 0) -> bytes:
    """A vector of ``inputs``, then ``layers`` x Dense(``neurons``, tanh), then Dense(``classes``).

    In TFLite each tanh Dense is FULLY_CONNECTED followed by TANH. Parameters are about
    ``3 * N^2`` bytes for the N x N layers.
    """
    if neurons < 1 or layers < 1 or inputs < 1:
        raise ValueError("fc: neurons, layers and inputs must be positive")
    b = ModelBuilder(seed=seed, name=f"fc_N{neurons}")
    x = b.quantize(b.input((1, inputs)))
    for _ in range(layers):
        x = b.tanh(b.fully_connected(x, neurons))
    b.output(b.fully_connected(x, classes))
    return b.build()
