"""Time the host-side ops of Coral's SSD files on this CPU (the calibration's host CPU work).

Usage: python benchmarks/edgetpu_model/host_cpu.py   (about 10 s)

Coral's SSD reference files end in ``TFLite_Detection_PostProcess``, which runs on the host CPU
after the Edge TPU graph, so their measured latency includes it. tpusplit's rebuilt SSD graphs
leave it out; the calibration adds ``cpu_factor * reference ms`` per host, where the reference
ms is timed here: LiteRT's own kernel on a one-op model with each SSD's output shapes (1917
anchors x 91 classes for COCO, 2034 x 2 for faces) and the TF Object Detection API's TFLite
export defaults (``max_detections=10``, ``max_classes_per_detection=1``, ``detections_per_class
=100``, fast NMS, score threshold 1e-8, IoU 0.6), on class scores of a real-looking spread.

Writes data/coral-reference/host_cpu.csv (model, op, reference_ms, machine, anchors, classes);
``tpusplit.costs.host_ops`` reads it to cost the op in any SSD (linear in anchors x classes).
"""

from __future__ import annotations

import csv
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from tpusplit.graph.graph import POSTPROCESS_OP
from tpusplit.graph.tflite import serialize
from tpusplit.models.builder import postprocess_options

OUT = Path(__file__).resolve().parents[2] / "data" / "coral-reference" / "host_cpu.csv"
#: Coral model name -> (anchors, classes incl. background).
SSD = {"ssd_mobilenet_v1_coco_quant_postprocess": (1917, 91),
       "ssd_mobilenet_v2_face_quant_postprocess": (2034, 2)}


def postprocess_model(anchors: int, classes: int, max_detections: int = 10) -> bytes:
    """A one-op model: TFLite_Detection_PostProcess on uint8 boxes and scores."""
    tensors: list[schema.TensorT] = []
    buffers = [schema.BufferT()]

    def tensor(shape: tuple[int, ...], ttype: int, name: str, data: np.ndarray | None = None,
               quant: tuple[float, int] | None = None) -> int:
        t = schema.TensorT()
        t.shape, t.type, t.name, t.buffer = list(shape), ttype, name, 0
        if data is not None:
            b = schema.BufferT()
            b.data = np.frombuffer(data.tobytes(), dtype=np.uint8)
            buffers.append(b)
            t.buffer = len(buffers) - 1
        if quant:
            q = schema.QuantizationParametersT()
            q.scale, q.zeroPoint = [quant[0]], [quant[1]]
            t.quantization = q
        tensors.append(t)
        return len(tensors) - 1

    rng = np.random.default_rng(0)
    box = tensor((1, anchors, 4), schema.TensorType.UINT8, "boxes", quant=(0.05, 128))
    cls = tensor((1, anchors, classes), schema.TensorType.UINT8, "scores", quant=(1 / 256, 0))
    anc = tensor((anchors, 4), schema.TensorType.FLOAT32, "anchors",
                 data=rng.uniform(0, 1, (anchors, 4)).astype(np.float32))
    f32 = schema.TensorType.FLOAT32
    outs = [tensor((1, max_detections, 4), f32, "out_boxes"),
            tensor((1, max_detections), f32, "out_classes"),
            tensor((1, max_detections), f32, "out_scores"), tensor((1,), f32, "out_count")]
    code = schema.OperatorCodeT()
    code.builtinCode = schema.BuiltinOperator.CUSTOM
    code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = POSTPROCESS_OP
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [box, cls, anc], outs
    op.customOptions = postprocess_options(classes, max_detections)
    sg = schema.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs = tensors, [op], [box, cls], outs
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, [code], [sg], buffers
    return serialize(model)


def time_ms(anchors: int, classes: int, repeats: int = 200) -> float:
    """Median time of one invoke on scores drawn like a detector's (mostly low, a few high)."""
    it = Interpreter(model_content=postprocess_model(anchors, classes), num_threads=1)
    it.allocate_tensors()
    rng = np.random.default_rng(1)
    d = it.get_input_details()
    it.set_tensor(d[0]["index"], rng.integers(0, 256, (1, anchors, 4), dtype=np.uint8))
    scores = np.minimum(255, rng.exponential(8.0, (1, anchors, classes))).astype(np.uint8)
    it.set_tensor(d[1]["index"], scores)
    for _ in range(20):
        it.invoke()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        it.invoke()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main() -> int:
    machine = f"{platform.processor() or platform.machine()} ({platform.platform()})"
    rows = [(name, "TFLite_Detection_PostProcess", round(time_ms(*shape), 4), machine, *shape)
            for name, shape in SSD.items()]
    with OUT.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["model", "op", "reference_ms", "machine", "anchors", "classes"])
        w.writerows(rows)
    for r in rows:
        print(f"{r[0]}: {r[2]:.3f} ms")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
