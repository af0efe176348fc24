"""The reference zoo: Keras applications converted to full-int8 TFLite and cached (extra ``zoo``).

Models are built with ``weights=None`` (no download), so the weights are random but the
architectures, shapes, parameter sizes and op mix are the real ones: what splitting, costing and
CPU timing depend on. Conversion is post-training full-integer quantization with a
representative dataset of a few random samples, int8 input and output, as Coral recommends.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tpusplit.errors import TpusplitError


@dataclass(frozen=True)
class ZooModel:
    """A Keras application: its constructor's name in ``keras.applications`` and input size."""

    name: str
    keras_name: str
    size: int


ZOO: dict[str, ZooModel] = {m.name: m for m in [
    ZooModel("MobileNetV1", "MobileNet", 224),
    ZooModel("MobileNetV2", "MobileNetV2", 224),
    ZooModel("ResNet50", "ResNet50", 224),
    ZooModel("ResNet101", "ResNet101", 224),
    ZooModel("ResNet152", "ResNet152", 224),
    ZooModel("InceptionV3", "InceptionV3", 299),
    ZooModel("Xception", "Xception", 299),
    ZooModel("DenseNet121", "DenseNet121", 224),
    ZooModel("EfficientNetB0", "EfficientNetB0", 224),
    ZooModel("VGG16", "VGG16", 224),
    ZooModel("NASNetMobile", "NASNetMobile", 224),
    ZooModel("InceptionResNetV2", "InceptionResNetV2", 299),
]}


def zoo_dir() -> Path:
    """Where built models are cached: ``$TPUSPLIT_ZOO``, else the user cache directory."""
    if os.environ.get("TPUSPLIT_ZOO"):
        return Path(os.environ["TPUSPLIT_ZOO"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tpusplit" / "zoo"


def _check_name(name: str) -> ZooModel:
    if name not in ZOO:
        raise TpusplitError(f"{name}: not a zoo model; choose from {', '.join(ZOO)}")
    return ZOO[name]


def zoo_path(name: str) -> Path:
    """Path of the built int8 model ``name``; a clear error if it is not built yet."""
    _check_name(name)
    path = zoo_dir() / f"{name}.tflite"
    if not path.is_file():
        raise TpusplitError(f"{path}: zoo model {name} is not built; run "
                            f"`tpusplit zoo build {name}` (needs pip install 'tpusplit[zoo]')")
    return path


def available() -> list[str]:
    """Names of the zoo models built in the cache."""
    return [n for n in ZOO if (zoo_dir() / f"{n}.tflite").is_file()]


def build(name: str, samples: int = 4, force: bool = False,
          log: Callable[[str], None] | None = None) -> Path:
    """Convert Keras application ``name`` to full-int8 TFLite and cache it; return its path.

    Needs TensorFlow (``pip install 'tpusplit[zoo]'``). The file is written atomically.
    """
    spec = _check_name(name)
    path = zoo_dir() / f"{name}.tflite"
    if path.is_file() and not force:
        return path
    try:
        import numpy as np
        import tensorflow as tf
    except ImportError:
        raise TpusplitError("tpusplit zoo build needs TensorFlow: pip install 'tpusplit[zoo]'") \
            from None
    ctor = getattr(tf.keras.applications, spec.keras_name)
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
    data = converter.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{name}.", suffix=".tmp")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    if log:
        log(f"{name}: {len(data) / 2**20:.1f} MiB -> {path}")
    return path
