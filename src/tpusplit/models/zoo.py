"""The reference zoo: real CNN architectures as int8 TFLite files in the user cache.

Three kinds of entry, all built offline with random weights (``weights=None``): the
architectures, shapes, parameter sizes and op mix are the real ones, which is what splitting,
costing and CPU timing depend on.

- **Keras applications** (ResNet50, InceptionV3, ...): converted by TensorFlow with
  post-training full-integer quantization (int8 input and output, as Coral recommends) from a
  representative dataset of a few random samples. Needs the extra ``zoo`` (TensorFlow).
- **Coral's reference networks** (``*-slim``, ``SSD*``, ``EfficientNet-EdgeTpu-*``): the
  TF-slim classifiers, SSD detectors and EfficientNet-EdgeTPU classifiers behind Coral's
  published latencies, rebuilt op for op by :mod:`tpusplit.models.slim`. No TensorFlow needed.
- **Coral's real graphs** (``coral-*``): four of Coral's own quantization-aware files, copied
  from ``data/coral-reference/models`` of a tpusplit checkout.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tpusplit.errors import TpusplitError
from tpusplit.files import data_dir, write_files
from tpusplit.models import slim
from tpusplit.units import mib


@dataclass(frozen=True)
class ZooModel:
    """One zoo entry; exactly one of ``keras_name``, ``builder`` and ``file`` is set.

    Attributes:
        name: the zoo name (``tpusplit zoo build NAME``).
        size: input height and width.
        keras_name: constructor in ``keras.applications``.
        builder: a function returning the model's bytes (no TensorFlow).
        file: a file of ``data/coral-reference/models`` (or a path relative to it).
    """

    name: str
    size: int
    keras_name: str | None = None
    builder: Callable[[], bytes] | None = None
    file: str | None = None

    @property
    def kind(self) -> str:
        """``keras``, ``builder`` or ``file``."""
        return "keras" if self.keras_name else "builder" if self.builder else "file"


ZOO: dict[str, ZooModel] = {m.name: m for m in [
    ZooModel("MobileNetV1", 224, keras_name="MobileNet"),
    ZooModel("MobileNetV2", 224, keras_name="MobileNetV2"),
    ZooModel("ResNet50", 224, keras_name="ResNet50"),
    ZooModel("ResNet101", 224, keras_name="ResNet101"),
    ZooModel("ResNet152", 224, keras_name="ResNet152"),
    ZooModel("InceptionV3", 299, keras_name="InceptionV3"),
    ZooModel("Xception", 299, keras_name="Xception"),
    ZooModel("DenseNet121", 224, keras_name="DenseNet121"),
    ZooModel("EfficientNetB0", 224, keras_name="EfficientNetB0"),
    ZooModel("VGG16", 224, keras_name="VGG16"),
    ZooModel("NASNetMobile", 224, keras_name="NASNetMobile"),
    ZooModel("InceptionResNetV2", 299, keras_name="InceptionResNetV2"),
    ZooModel("InceptionV1-slim", 224, builder=slim.inception_v1),
    ZooModel("InceptionV4-slim", 299, builder=slim.inception_v4),
    ZooModel("MobileNetV1-slim", 224, builder=slim.mobilenet_v1),
    ZooModel("MobileNetV2-slim", 224, builder=slim.mobilenet_v2),
    ZooModel("SSDMobileNetV1", 300, builder=slim.ssd_mobilenet_v1),
    ZooModel("SSDMobileNetV2Face", 320, builder=slim.ssd_mobilenet_v2),
    ZooModel("SSDMobileNetV2", 300, builder=lambda: slim.ssd_mobilenet_v2(300, classes=91)),
    ZooModel("SSDMobileNetV1-0.75", 300,
             builder=lambda: slim.ssd_mobilenet_v1(300, multiplier=0.75)),
    ZooModel("MobileNetV2-dense-slim", 224, builder=slim.mobilenet_v2_dense),
    ZooModel("EfficientNet-EdgeTpu-S", 224, builder=lambda: slim.efficientnet_edgetpu("S")),
    ZooModel("EfficientNet-EdgeTpu-M", 240, builder=lambda: slim.efficientnet_edgetpu("M")),
    ZooModel("EfficientNet-EdgeTpu-L", 300, builder=lambda: slim.efficientnet_edgetpu("L")),
    ZooModel("MobileNetV2-features-slim", 224,
             builder=lambda: slim.mobilenet_v2_dense(224, classes=None)),
    ZooModel("coral-mobilenet_v2_1.0_224", 224, file="mobilenet_v2_1.0_224_quant.tflite"),
    ZooModel("coral-mobilenet_v1_0.75_192", 192, file="mobilenet_v1_0.75_192_quant.tflite"),
    ZooModel("coral-mobilenet_v1_0.5_160", 160, file="mobilenet_v1_0.5_160_quant.tflite"),
    ZooModel("coral-mobilenet_v1_0.25_128", 128, file="mobilenet_v1_0.25_128_quant.tflite"),
    ZooModel("coral-mobilenet_v2_1.0_224_inat_bird", 224,
             file="../../edgetpu-community/models/mobilenet_v2_1.0_224_inat_bird_quant.tflite"),
]}

#: The repository's data directory (present in a source checkout).


def zoo_dir() -> Path:
    """Where built models are cached: ``$TPUSPLIT_ZOO``, else the user cache directory."""
    if os.environ.get("TPUSPLIT_ZOO"):
        return Path(os.environ["TPUSPLIT_ZOO"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tpusplit" / "zoo"


def check_name(name: str) -> ZooModel:
    """The zoo entry ``name``; a one-line error naming the choices otherwise."""
    if name not in ZOO:
        raise TpusplitError(f"{name}: not a zoo model; choose from {', '.join(ZOO)}")
    return ZOO[name]


def zoo_path(name: str) -> Path:
    """Path of the built int8 model ``name``; a clear error if it is not built yet."""
    spec = check_name(name)
    path = zoo_dir() / f"{name}.tflite"
    if not path.is_file():
        extra = " (needs pip install 'tpusplit[zoo]')" if spec.kind == "keras" else ""
        raise TpusplitError(f"{path}: zoo model {name} is not built; run "
                            f"`tpusplit zoo build {name}`{extra}")
    return path


def available() -> list[str]:
    """Names of the zoo models built in the cache."""
    return [n for n in ZOO if (zoo_dir() / f"{n}.tflite").is_file()]


def model_bytes(name: str, samples: int = 4) -> bytes:
    """The int8 model ``name``, built now (not cached); see :func:`build` for the kinds."""
    spec = check_name(name)
    if spec.builder is not None:
        return spec.builder()
    if spec.file is not None:
        src = data_dir() / "coral-reference" / "models" / spec.file
        if not src.is_file():
            raise TpusplitError(f"{src}: Coral's graph {spec.file} is not here; it ships in "
                                f"the data/ directory of a tpusplit source checkout")
        return src.read_bytes()
    return _keras_bytes(spec, samples)


def _keras_bytes(spec: ZooModel, samples: int) -> bytes:
    try:
        import numpy as np
        import tensorflow as tf
    except ImportError:
        raise TpusplitError(f"{spec.name}: building Keras models needs TensorFlow: pip install "
                            f"'tpusplit[zoo]'") from None
    ctor = getattr(tf.keras.applications, str(spec.keras_name))
    shape = (spec.size, spec.size, 3)
    model = ctor(weights=None, input_shape=shape)
    rng = np.random.default_rng(0)

    def representative() -> object:
        for _ in range(samples):
            yield [rng.uniform(-1, 1, size=(1, *shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return bytes(converter.convert())


def build(name: str, samples: int = 4, force: bool = False,
          log: Callable[[str], None] | None = None) -> Path:
    """Build zoo model ``name`` into the cache (atomically) and return its path.

    Keras entries need TensorFlow (``pip install 'tpusplit[zoo]'``); the others do not.
    """
    check_name(name)
    path = zoo_dir() / f"{name}.tflite"
    if path.is_file() and not force:
        return path
    data = model_bytes(name, samples)
    write_files({path: data}, "zoo model")
    if log:
        log(f"{name}: {mib(len(data)):.1f} MiB -> {path}")
    return path


__all__ = ["ZOO", "ZooModel", "available", "build", "check_name", "model_bytes", "zoo_dir",
           "zoo_path"]
