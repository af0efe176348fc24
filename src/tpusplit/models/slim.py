"""Coral's reference CNNs rebuilt layer for layer (TF-slim, Object Detection API, EdgeTPU), no TF.

Coral's published single-TPU latencies (``costs/data/coral-reference``) were measured on
TF1 "slim" classification networks and two SSD detectors. Their architectures are public,
so they are rebuilt here op for op with :class:`~tpusplit.models.builder.ModelBuilder`:
random int8 weights (``weights=None``), but the real layer shapes, strides, paddings,
parameter sizes and op mix, which is all the Edge TPU cost model and the splitter depend on.
Like Coral's quantization-aware graphs, the input is 8-bit and feeds the first convolution
directly (no QUANTIZE op).

- :func:`mobilenet_v1`: ``tf_models/research/slim/nets/mobilenet_v1.py`` (Howard et al. 2017);
  checked op for op against Coral's ``mobilenet_v1_{0.25_128,0.5_160,0.75_192}_quant``.
- :func:`mobilenet_v2`: ``slim/nets/mobilenet/mobilenet_v2.py`` (Sandler et al. 2018); checked
  against Coral's ``mobilenet_v2_1.0_224_quant``.
- :func:`mobilenet_v2_dense`: the same layers with a dense classifier (Keras'
  ``MobileNetV2``, Coral's iNaturalist models; checked against Coral's
  ``mobilenet_v2_1.0_224_inat_bird_quant``), at any input size, or the features alone.
- :func:`inception_v1`: ``slim/nets/inception_v1.py`` (Szegedy et al. 2015; slim's variant
  uses a 3x3, not 5x5, convolution in the third branch).
- :func:`inception_v4`: ``slim/nets/inception_v4.py`` (Szegedy et al. 2017), 299x299.
- :func:`ssd_mobilenet_v1` / :func:`ssd_mobilenet_v2`: the Object Detection API's SSD feature
  extractors (``ssd_mobilenet_v{1,2}_feature_extractor.py``: MobileNet base, four extra
  1x1 + 3x3/2 layers of depth 512, 256, 256, 128) and convolutional box predictors with 1x1
  kernels (``ssd_mobilenet_v{1,2}_coco.config``); 3 anchors per cell on the first feature
  map, 6 elsewhere. The outputs are the raw box encodings and the class scores after the
  sigmoid; with ``postprocess=True`` they end, as Coral's ``*_postprocess`` files, in the
  ``TFLite_Detection_PostProcess`` op, which runs on the host CPU (left out by default).
- :func:`efficientnet_edgetpu`: EfficientNet-EdgeTPU S/M/L (tensorflow/tpu
  ``models/official/efficientnet/edgetpu``), Coral's ``efficientnet-edgetpu-*_quant`` files.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tpusplit.models.builder import ModelBuilder

NUM_CLASSES = 1001  # ImageNet + background, as in the slim checkpoints


def _classifier(b: ModelBuilder, x: int, classes: int, conv_logits: bool) -> None:
    """Global average pool, logits (1x1 conv as in slim's MobileNets, or dense), softmax."""
    _, h, w, c = b.shape(x)
    x = b.avg_pool(x, size=h, stride=h) if h == w else b.global_avg_pool(x)
    if conv_logits:
        x = b.conv2d(x, classes, kernel=1, activation=None)
        x = b.reshape(x, (1, classes))
    else:
        x = b.reshape(x, (1, c))
        x = b.fully_connected(x, classes)
    b.output(b.softmax(x))


# ---------------------------------------------------------------------------- MobileNet v1
_V1_LAYERS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
              (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def _mobilenet_v1_base(b: ModelBuilder, x: int, multiplier: float, last: int = 13
                       ) -> list[int]:
    """Conv2d_0 .. Conv2d_``last``_pointwise; returns every pointwise output (index 0: Conv2d_0)."""
    def depth(d: int) -> int:
        return max(int(d * multiplier), 8)

    x = b.conv2d(x, depth(32), kernel=3, stride=2, activation="RELU6")
    outs = [x]
    for filters, stride in _V1_LAYERS[:last]:
        x = b.depthwise_conv2d(x, kernel=3, stride=stride, activation="RELU6")
        x = b.conv2d(x, depth(filters), kernel=1, activation="RELU6")
        outs.append(x)
    return outs


def mobilenet_v1(multiplier: float = 1.0, size: int = 224, classes: int = NUM_CLASSES,
                 seed: int = 0) -> bytes:
    """MobileNet v1 (slim): 3x3/2 stem, 13 depthwise-separable blocks, avg pool, 1x1 logits."""
    b = ModelBuilder(seed=seed, name=f"mobilenet_v1_{multiplier}_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    x = _mobilenet_v1_base(b, x, multiplier)[-1]
    _classifier(b, x, classes, conv_logits=True)
    return b.build()


# ---------------------------------------------------------------------------- MobileNet v2
#: (expansion t, channels c, repeats n, first stride s), Sandler et al. 2018, Table 2.
_V2_BLOCKS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))


def _divisible(v: float, divisor: int = 8) -> int:
    """slim's ``_make_divisible``: round to a multiple of 8, never more than 10% down."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _mobilenet_v2_base(b: ModelBuilder, x: int, multiplier: float,
                       taps: Callable[[int, int], None] | None = None) -> int:
    """Stem, 17 inverted-residual blocks and the 1x1 conv to 1280; ``taps(layer, tensor)``
    sees ``layer_15/expansion_output`` (15) and ``layer_19`` (19) for SSD."""
    x = b.conv2d(x, _divisible(32 * multiplier), kernel=3, stride=2, activation="RELU6")
    layer = 1
    for t, c, n, s in _V2_BLOCKS:
        out_c = _divisible(c * multiplier)
        for k in range(n):
            layer += 1
            in_c = b.shape(x)[-1]
            y = x
            if t != 1:
                y = b.conv2d(y, in_c * t, kernel=1, activation="RELU6")
                if taps is not None:
                    taps(layer, y)
            y = b.depthwise_conv2d(y, kernel=3, stride=s if k == 0 else 1, activation="RELU6")
            y = b.conv2d(y, out_c, kernel=1, activation=None)
            x = b.add(x, y) if (k > 0 and in_c == out_c) else y
    last = max(1280, _divisible(1280 * multiplier)) if multiplier > 1 else 1280
    x = b.conv2d(x, last, kernel=1, activation="RELU6")
    if taps is not None:
        taps(19, x)
    return x


def mobilenet_v2(multiplier: float = 1.0, size: int = 224, classes: int = NUM_CLASSES,
                 seed: int = 0) -> bytes:
    """MobileNet v2 (slim): inverted residual blocks with linear bottlenecks, 1x1 logits."""
    b = ModelBuilder(seed=seed, name=f"mobilenet_v2_{multiplier}_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    x = _mobilenet_v2_base(b, x, multiplier)
    _classifier(b, x, classes, conv_logits=True)
    return b.build()


def mobilenet_v2_dense(height: int = 224, width: int | None = None, classes: int | None = 1000,
                       seed: int = 0) -> bytes:
    """MobileNet v2 (width 1.0) with a dense classifier, as Keras' ``MobileNetV2`` and Coral's
    iNaturalist models have it: slim's layers, average pool, ``FULLY_CONNECTED``, softmax.

    ``classes=None`` keeps the features only (Keras' ``include_top=False``: the last 1x1
    convolution to 1280 channels at 1/32 of the input). ``width`` defaults to ``height``.
    """
    w = height if width is None else width
    top = "features" if classes is None else f"{classes}"
    b = ModelBuilder(seed=seed, name=f"mobilenet_v2_dense_{height}x{w}_{top}")
    x = b.input((1, height, w, 3), dtype="int8")
    x = _mobilenet_v2_base(b, x, 1.0)
    if classes is None:
        b.output(x)
    else:
        _classifier(b, x, classes, conv_logits=False)
    return b.build()


# ---------------------------------------------------------------------------- Inception v1
#: Mixed blocks: (1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5" (a 3x3 in slim), pool proj).
_V1_MIXED = {
    "3b": (64, 96, 128, 16, 32, 32), "3c": (128, 128, 192, 32, 96, 64),
    "4b": (192, 96, 208, 16, 48, 64), "4c": (160, 112, 224, 24, 64, 64),
    "4d": (128, 128, 256, 24, 64, 64), "4e": (112, 144, 288, 32, 64, 64),
    "4f": (256, 160, 320, 32, 128, 128), "5b": (256, 160, 320, 32, 128, 128),
    "5c": (384, 192, 384, 48, 128, 128),
}


def inception_v1(size: int = 224, classes: int = NUM_CLASSES, seed: int = 0) -> bytes:
    """Inception v1 / GoogLeNet as slim defines it (``inception_v1_base`` + 1x1 logits)."""
    b = ModelBuilder(seed=seed, name=f"inception_v1_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    x = b.conv2d(x, 64, kernel=7, stride=2)
    x = b.max_pool(x, size=3, stride=2, padding="SAME")
    x = b.conv2d(x, 64, kernel=1)
    x = b.conv2d(x, 192, kernel=3)
    x = b.max_pool(x, size=3, stride=2, padding="SAME")
    for name, (c0, r1, c1, r2, c2, c3) in _V1_MIXED.items():
        if name == "4b":
            x = b.max_pool(x, size=3, stride=2, padding="SAME")
        if name == "5b":
            x = b.max_pool(x, size=2, stride=2, padding="SAME")
        b0 = b.conv2d(x, c0, kernel=1)
        b1 = b.conv2d(b.conv2d(x, r1, kernel=1), c1, kernel=3)
        b2 = b.conv2d(b.conv2d(x, r2, kernel=1), c2, kernel=3)
        b3 = b.conv2d(b.max_pool(x, size=3, stride=1, padding="SAME"), c3, kernel=1)
        x = b.concat([b0, b1, b2, b3])
    _classifier(b, x, classes, conv_logits=True)
    return b.build()


# ---------------------------------------------------------------------------- Inception v4
def _inception_a(b: ModelBuilder, x: int) -> int:
    b0 = b.conv2d(x, 96, kernel=1)
    b1 = b.conv2d(b.conv2d(x, 64, kernel=1), 96, kernel=3)
    b2 = b.conv2d(b.conv2d(b.conv2d(x, 64, kernel=1), 96, kernel=3), 96, kernel=3)
    b3 = b.conv2d(b.avg_pool(x, size=3, stride=1, padding="SAME"), 96, kernel=1)
    return b.concat([b0, b1, b2, b3])


def _reduction_a(b: ModelBuilder, x: int) -> int:
    b0 = b.conv2d(x, 384, kernel=3, stride=2, padding="VALID")
    b1 = b.conv2d(b.conv2d(b.conv2d(x, 192, kernel=1), 224, kernel=3), 256, kernel=3,
                  stride=2, padding="VALID")
    b2 = b.max_pool(x, size=3, stride=2, padding="VALID")
    return b.concat([b0, b1, b2])


def _inception_b(b: ModelBuilder, x: int) -> int:
    b0 = b.conv2d(x, 384, kernel=1)
    b1 = b.conv2d(b.conv2d(b.conv2d(x, 192, kernel=1), 224, kernel=(1, 7)), 256,
                  kernel=(7, 1))
    y = b.conv2d(x, 192, kernel=1)
    for filters, k in ((192, (7, 1)), (224, (1, 7)), (224, (7, 1)), (256, (1, 7))):
        y = b.conv2d(y, filters, kernel=k)
    b3 = b.conv2d(b.avg_pool(x, size=3, stride=1, padding="SAME"), 128, kernel=1)
    return b.concat([b0, b1, y, b3])


def _reduction_b(b: ModelBuilder, x: int) -> int:
    b0 = b.conv2d(b.conv2d(x, 192, kernel=1), 192, kernel=3, stride=2, padding="VALID")
    y = b.conv2d(x, 256, kernel=1)
    y = b.conv2d(b.conv2d(y, 256, kernel=(1, 7)), 320, kernel=(7, 1))
    b1 = b.conv2d(y, 320, kernel=3, stride=2, padding="VALID")
    b2 = b.max_pool(x, size=3, stride=2, padding="VALID")
    return b.concat([b0, b1, b2])


def _inception_c(b: ModelBuilder, x: int) -> int:
    b0 = b.conv2d(x, 256, kernel=1)
    y = b.conv2d(x, 384, kernel=1)
    b1 = b.concat([b.conv2d(y, 256, kernel=(1, 3)), b.conv2d(y, 256, kernel=(3, 1))])
    z = b.conv2d(b.conv2d(b.conv2d(x, 384, kernel=1), 448, kernel=(3, 1)), 512, kernel=(1, 3))
    b2 = b.concat([b.conv2d(z, 256, kernel=(1, 3)), b.conv2d(z, 256, kernel=(3, 1))])
    b3 = b.conv2d(b.avg_pool(x, size=3, stride=1, padding="SAME"), 256, kernel=1)
    return b.concat([b0, b1, b2, b3])


def inception_v4(size: int = 299, classes: int = NUM_CLASSES, seed: int = 0) -> bytes:
    """Inception v4 as slim defines it: stem, 4 x A, reduction A, 7 x B, reduction B, 3 x C."""
    b = ModelBuilder(seed=seed, name=f"inception_v4_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    x = b.conv2d(x, 32, kernel=3, stride=2, padding="VALID")
    x = b.conv2d(x, 32, kernel=3, padding="VALID")
    x = b.conv2d(x, 64, kernel=3)
    x = b.concat([b.max_pool(x, size=3, stride=2, padding="VALID"),
                  b.conv2d(x, 96, kernel=3, stride=2, padding="VALID")])
    b0 = b.conv2d(b.conv2d(x, 64, kernel=1), 96, kernel=3, padding="VALID")
    y = b.conv2d(x, 64, kernel=1)
    y = b.conv2d(b.conv2d(y, 64, kernel=(1, 7)), 64, kernel=(7, 1))
    x = b.concat([b0, b.conv2d(y, 96, kernel=3, padding="VALID")])
    x = b.concat([b.conv2d(x, 192, kernel=3, stride=2, padding="VALID"),
                  b.max_pool(x, size=3, stride=2, padding="VALID")])
    for _ in range(4):
        x = _inception_a(b, x)
    x = _reduction_a(b, x)
    for _ in range(7):
        x = _inception_b(b, x)
    x = _reduction_b(b, x)
    for _ in range(3):
        x = _inception_c(b, x)
    _classifier(b, x, classes, conv_logits=False)
    return b.build()


# ---------------------------------------------------------------------------- SSD
_SSD_EXTRA = (512, 256, 256, 128)


def _ssd_head(b: ModelBuilder, maps: list[int], classes: int, multiplier: float = 1.0,
              postprocess: bool = False) -> None:
    """Extra feature maps (depths scaled by ``multiplier``, at least 16, as the Object
    Detection API's ``get_depth_fn``), 1x1 box/class predictors, reshape + concat, sigmoid
    scores."""
    x = maps[-1]
    for full in _SSD_EXTRA:
        depth = max(int(full * multiplier), 16)
        x = b.conv2d(x, max(int(full // 2 * multiplier), 16), kernel=1, activation="RELU6")
        x = b.conv2d(x, depth, kernel=3, stride=2, activation="RELU6")
        maps.append(x)
    boxes, scores = [], []
    for k, m in enumerate(maps):
        _, h, w, _ = b.shape(m)
        anchors = 3 if k == 0 else 6
        box = b.conv2d(m, anchors * 4, kernel=1, activation=None)
        cls = b.conv2d(m, anchors * classes, kernel=1, activation=None)
        boxes.append(b.reshape(box, (1, h * w * anchors, 4)))
        scores.append(b.reshape(cls, (1, h * w * anchors, classes)))
    box, score = b.concat(boxes, axis=1), b.logistic(b.concat(scores, axis=1))
    if postprocess:
        for t in b.detection_postprocess(box, score):
            b.output(t)
    else:
        b.output(box)
        b.output(score)


def ssd_mobilenet_v1(size: int = 300, classes: int = 91, seed: int = 0,
                     multiplier: float = 1.0, postprocess: bool = False) -> bytes:
    """SSD MobileNet v1 (COCO: 90 classes + background), features from Conv2d_11 and 13;
    ``multiplier`` scales the base and the extra layers (``ssd_mobilenet_v1_0.75_depth``);
    ``postprocess`` ends it in ``TFLite_Detection_PostProcess`` (host CPU), as Coral's
    ``*_postprocess`` files."""
    suffix = "" if multiplier == 1.0 else f"_{multiplier}"
    b = ModelBuilder(seed=seed, name=f"ssd_mobilenet_v1{suffix}_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    outs = _mobilenet_v1_base(b, x, multiplier)
    _ssd_head(b, [outs[11], outs[13]], classes, multiplier, postprocess)
    return b.build()


def ssd_mobilenet_v2(size: int = 320, classes: int = 2, seed: int = 0,
                     postprocess: bool = False) -> bytes:
    """SSD MobileNet v2 (default: Coral's face detector, 320x320, face + background),
    features from layer_15/expansion_output and layer_19; ``postprocess`` as
    :func:`ssd_mobilenet_v1`."""
    b = ModelBuilder(seed=seed, name=f"ssd_mobilenet_v2_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    taps: dict[int, int] = {}
    _mobilenet_v2_base(b, x, 1.0, taps=lambda layer, t: taps.__setitem__(layer, t))
    _ssd_head(b, [taps[15], taps[19]], classes, postprocess=postprocess)
    return b.build()


# ---------------------------------------------------------------------------- EfficientNet-EdgeTPU
#: Stages of EfficientNet-EdgeTPU (``efficientnet/edgetpu/efficientnet_edgetpu_builder.py`` in
#: tensorflow/tpu): (repeats, kernel, stride, expansion, in, out, fused, skip). A fused block
#: expands with a ``kernel`` x ``kernel`` convolution instead of 1x1 + depthwise.
_EDGETPU_BLOCKS = ((1, 3, 1, 4, 24, 24, True, False), (2, 3, 2, 8, 24, 32, True, True),
                   (4, 3, 2, 8, 32, 48, True, True), (5, 5, 2, 8, 48, 96, False, True),
                   (4, 5, 1, 8, 96, 144, False, True), (2, 5, 2, 8, 144, 192, False, True))
#: Variant -> (width coefficient, depth coefficient, input size).
EDGETPU_VARIANTS = {"S": (1.0, 1.0, 224), "M": (1.0, 1.1, 240), "L": (1.2, 1.4, 300)}


def efficientnet_edgetpu(variant: str = "L", classes: int = NUM_CLASSES, seed: int = 0) -> bytes:
    """EfficientNet-EdgeTPU S, M or L (Gupta & Tan, Google AI blog 2019; tensorflow/tpu
    ``models/official/efficientnet/edgetpu``): EfficientNet's compound scaling of a base
    searched for the Edge TPU, ReLU, no squeeze-excitation, fused (regular-convolution)
    inverted residuals in the first three stages, a 1x1 head to 1280 x width, average pool and
    a dense classifier, as in Coral's ``efficientnet-edgetpu-{S,M,L}_quant`` files. Filters are
    rounded as ``round_filters`` does (multiples of 8, never 10% down) and repeats rounded up;
    a stage's first block takes the stage's stride and the rounded *nominal* input width for
    its expansion, as the reference builder does."""
    width, depth, size = EDGETPU_VARIANTS[variant]
    b = ModelBuilder(seed=seed, name=f"efficientnet_edgetpu_{variant}_{size}")
    x = b.input((1, size, size, 3), dtype="int8")
    x = b.conv2d(x, _divisible(32 * width), kernel=3, stride=2)
    for repeats, k, s, e, nominal_in, nominal_out, fused, skip in _EDGETPU_BLOCKS:
        out_c = _divisible(nominal_out * width)
        for j in range(math.ceil(depth * repeats)):
            expand = (_divisible(nominal_in * width) if j == 0 else out_c) * e
            stride = s if j == 0 else 1
            if fused:
                y = b.conv2d(x, expand, kernel=k, stride=stride)
            else:
                y = b.depthwise_conv2d(b.conv2d(x, expand, kernel=1), kernel=k, stride=stride)
            y = b.conv2d(y, out_c, kernel=1, activation=None)
            x = b.add(x, y) if skip and stride == 1 and b.shape(x)[-1] == out_c else y
    x = b.conv2d(x, _divisible(1280 * width), kernel=1)
    _classifier(b, x, classes, conv_logits=False)
    return b.build()
