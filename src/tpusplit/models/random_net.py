"""Small random branching int8 CNNs (residual ADD, CONCATENATION, pooling, depthwise, skips).

They exercise everything a splitter can get wrong: tensors crossing a cut in several places, a
tensor used several ops later (it skips segments), branches, and several model outputs.
"""

from __future__ import annotations

import numpy as np

from tpusplit.models.builder import ModelBuilder


def random_net(seed: int, size: int = 16, channels: int = 8, stages: int = 2,
               blocks_per_stage: int = 3, side_output: bool = True) -> bytes:
    """A seeded random CNN with branches, long skips and (optionally) two outputs.

    Each stage keeps ``channels`` (doubled per stage) and holds ``blocks_per_stage`` blocks drawn
    from: a residual block (conv, conv, ADD), an inception block (1x1, 3x3, depthwise+1x1 and
    pool+1x1 branches joined by CONCATENATION), a depthwise-separable block, and a long skip
    (ADD of the stage's entry tensor, several ops later). Stages are joined by max or average
    pooling or a strided conv. The head is global average pooling and a fully connected layer;
    with ``side_output`` a second head after the first stage is a second model output.
    """
    rng = np.random.default_rng(seed)
    b = ModelBuilder(seed=seed, name=f"randnet{seed}")
    x = b.quantize(b.input((1, size, size, 3)))
    c = channels
    x = b.conv2d(x, c, kernel=3)
    for stage in range(stages):
        entry = x
        for _ in range(blocks_per_stage):
            kind = int(rng.integers(0, 4))
            if kind == 0:  # residual
                y = b.conv2d(x, c, kernel=3)
                y = b.conv2d(y, c, kernel=3, activation=None)
                x = b.add(x, y, activation="RELU")
            elif kind == 1:  # inception
                q = max(1, c // 4)
                b1 = b.conv2d(x, q, kernel=1)
                b2 = b.conv2d(x, q, kernel=3)
                b3 = b.conv2d(b.depthwise_conv2d(x, kernel=3), q, kernel=1)
                b4 = b.conv2d(b.max_pool(x, size=3, stride=1, padding="SAME"), c - 3 * q,
                              kernel=1)
                x = b.concat([b1, b2, b3, b4])
            elif kind == 2:  # depthwise separable
                x = b.conv2d(b.depthwise_conv2d(x, kernel=3), c, kernel=1)
            else:  # long skip back to the stage entry
                y = b.conv2d(x, c, kernel=1)
                x = b.add(entry, y)
        if side_output and stage == 0:
            b.output(b.fully_connected(b.global_avg_pool(x), 5))
        if stage < stages - 1:
            down = int(rng.integers(0, 3))
            if down == 0:
                x = b.max_pool(x)
            elif down == 1:
                x = b.avg_pool(x)
            else:
                x = b.conv2d(x, c, kernel=3, stride=2)
            c *= 2
            x = b.conv2d(x, c, kernel=1)
    b.output(b.fully_connected(b.global_avg_pool(x), 10))
    return b.build()
