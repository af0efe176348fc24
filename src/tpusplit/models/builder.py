"""Write real int8 TFLite models op by op with the flatbuffers object API (no TensorFlow).

Weights are random (seeded) with He-style scales; every activation's quantization is chosen
from a running estimate of its RMS, so values use the int8 range the way a post-training
quantized Keras model's do, and outputs stay informative instead of saturating.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from tpusplit.graph.graph import POSTPROCESS_OP
from tpusplit.graph.tflite import serialize

_OP = schema.BuiltinOperator
_OPT = schema.BuiltinOptions
_ACT = {None: schema.ActivationFunctionType.NONE, "RELU": schema.ActivationFunctionType.RELU,
        "RELU6": schema.ActivationFunctionType.RELU6}
_PAD = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}
#: Operator versions as the TFLite converter writes them for int8 kernels.
_VERSIONS = {_OP.CONV_2D: 3, _OP.DEPTHWISE_CONV_2D: 3, _OP.FULLY_CONNECTED: 4, _OP.ADD: 2,
             _OP.CONCATENATION: 2, _OP.MAX_POOL_2D: 2, _OP.AVERAGE_POOL_2D: 2, _OP.QUANTIZE: 2,
             _OP.TANH: 2, _OP.LOGISTIC: 2, _OP.MEAN: 2, _OP.RESHAPE: 1, _OP.DEQUANTIZE: 2,
             _OP.SOFTMAX: 2}


def postprocess_options(classes: int, max_detections: int = 10) -> list[int]:
    """The custom options (a flexbuffer map) of ``TFLite_Detection_PostProcess`` for scores of
    ``classes`` classes with background, as the TF Object Detection API's TFLite export
    writes them: fast NMS, one class per detection, score threshold 1e-8, IoU 0.6."""
    import flatbuffers.flexbuffers as fx

    b = fx.Builder()
    with b.Map():
        b.Int("max_detections", max_detections)
        b.Int("max_classes_per_detection", 1)
        b.Int("detections_per_class", 100)
        b.Bool("use_regular_nms", False)
        b.Float("nms_score_threshold", 1e-8)
        b.Float("nms_iou_threshold", 0.6)
        b.Int("num_classes", classes - 1)
        for k, v in (("y_scale", 10.0), ("x_scale", 10.0), ("h_scale", 5.0), ("w_scale", 5.0)):
            b.Float(k, v)
    return list(b.Finish())


@dataclass
class _Act:
    """Book-keeping for an activation tensor: shape, quantization and estimated RMS."""

    shape: tuple[int, ...]
    scale: float
    zero_point: int
    rms: float
    free: bool = True  # the producer may requantize to any scale (False: tied to its input)


class ModelBuilder:
    """Build a single-subgraph int8 TFLite model.

    Every method that adds an op returns the id of its output tensor. Shapes are NHWC with a
    batch of 1. ``build()`` returns the model's bytes.

    Example::

        b = ModelBuilder(seed=0)
        x = b.quantize(b.input((1, 32, 32, 3)))
        y = b.conv2d(x, 16)
        b.output(y)
        data = b.build()
    """

    def __init__(self, seed: int = 0, name: str = "model") -> None:
        self.rng = np.random.default_rng(seed)
        self.name = name
        self._tensors: list[schema.TensorT] = []
        self._buffers: list[schema.BufferT] = [schema.BufferT()]
        self._codes: dict[int | str, int] = {}
        self._code_list: list[schema.OperatorCodeT] = []
        self._ops: list[schema.OperatorT] = []
        self._acts: dict[int, _Act] = {}
        self._inputs: list[int] = []
        self._outputs: list[int] = []
        self._counter = 0
        #: Tensors whose quantization is tied to another tensor's (the input of a pool, mean or
        #: reshape, whose output copies it; the inputs of a concatenation): never requantized.
        self._tied: set[int] = set()

    # ---------------------------------------------------------------- tensors and ops
    def _name(self, kind: str) -> str:
        self._counter += 1
        return f"{self.name}/{kind}_{self._counter}"

    def _tensor(self, shape: Sequence[int], ttype: int, name: str,
                scale: Sequence[float] | None = None, zero_point: Sequence[int] | None = None,
                qdim: int = 0, data: np.ndarray | None = None) -> int:
        t = schema.TensorT()
        t.shape = list(int(d) for d in shape)
        t.type = ttype
        t.name = name
        if scale is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(s) for s in scale]
            q.zeroPoint = [int(z) for z in (zero_point if zero_point is not None
                                            else [0] * len(scale))]
            q.quantizedDimension = qdim
            t.quantization = q
        if data is not None:
            buf = schema.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self._buffers.append(buf)
            t.buffer = len(self._buffers) - 1
        else:
            t.buffer = 0
        self._tensors.append(t)
        return len(self._tensors) - 1

    def _act(self, shape: Sequence[int], rms: float, relu: bool, kind: str,
             fixed: tuple[float, int] | None = None) -> int:
        """An int8 activation tensor whose range covers about +-4 RMS (or [0, 6 RMS] after ReLU)."""
        if fixed is not None:
            scale, zp = fixed
        elif relu:
            scale, zp = max(6.0 * rms, 1e-6) / 255.0, -128
        else:
            scale, zp = max(4.0 * rms, 1e-6) / 127.0, 0
        t = self._tensor(shape, schema.TensorType.INT8, self._name(kind), [scale], [zp])
        self._acts[t] = _Act(tuple(int(d) for d in shape), scale, zp, rms, fixed is None)
        return t

    def _op(self, code: int, inputs: Sequence[int], outputs: Sequence[int],
            options_type: int = 0, options: object = None, custom: str = "") -> None:
        key: int | str = custom or code
        if key not in self._codes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = _VERSIONS.get(code, 1)
            if custom:
                oc.customCode = custom
            self._codes[key] = len(self._code_list)
            self._code_list.append(oc)
        op = schema.OperatorT()
        op.opcodeIndex = self._codes[key]
        op.inputs = list(inputs)
        op.outputs = list(outputs)
        op.builtinOptionsType = options_type
        op.builtinOptions = options
        self._ops.append(op)

    def shape(self, t: int) -> tuple[int, ...]:
        """Shape of activation tensor ``t``."""
        return self._acts[t].shape

    # ---------------------------------------------------------------- model edges
    def input(self, shape: Sequence[int], dtype: str = "float32", name: str = "input") -> int:
        """A model input: float32 in [-1, 1) (then :meth:`quantize`) or int8 with scale 1/128."""
        if dtype == "float32":
            t = self._tensor(shape, schema.TensorType.FLOAT32, name)
            self._acts[t] = _Act(tuple(shape), 1.0, 0, 0.58)
        else:
            t = self._tensor(shape, schema.TensorType.INT8, name, [1 / 128], [0])
            self._acts[t] = _Act(tuple(shape), 1 / 128, 0, 0.58)
        self._inputs.append(t)
        return t

    def quantize(self, x: int) -> int:
        """QUANTIZE a float input to int8 with scale 1/128 (range [-1, 1))."""
        a = self._acts[x]
        y = self._act(a.shape, a.rms, False, "quantize", fixed=(1 / 128, 0))
        self._op(_OP.QUANTIZE, [x], [y])
        return y

    def dequantize(self, x: int) -> int:
        """DEQUANTIZE int8 to float32."""
        a = self._acts[x]
        y = self._tensor(a.shape, schema.TensorType.FLOAT32, self._name("dequantize"))
        self._acts[y] = _Act(a.shape, 1.0, 0, a.rms)
        self._op(_OP.DEQUANTIZE, [x], [y])
        return y

    def output(self, t: int) -> None:
        """Mark ``t`` as a model output."""
        self._outputs.append(t)

    # ---------------------------------------------------------------- layers
    def _weights(self, shape: Sequence[int], fan_in: int, per_channel_dim: int | None
                 ) -> tuple[np.ndarray, list[float]]:
        q = self.rng.integers(-127, 128, size=tuple(shape), dtype=np.int8)
        std = math.sqrt(2.0 / max(fan_in, 1))
        base = std * math.sqrt(3.0) / 127.0
        if per_channel_dim is None:
            return q, [base]
        n = shape[per_channel_dim]
        return q, list(base * self.rng.uniform(0.8, 1.25, size=n))

    def _bias(self, n: int, in_scale: float, w_scales: list[float]) -> int:
        scales = [in_scale * s for s in w_scales]  # one per channel, or one per tensor
        data = self.rng.integers(-2000, 2000, size=n, dtype=np.int32)
        return self._tensor([n], schema.TensorType.INT32, self._name("bias"), scales,
                            [0] * len(scales), 0, data)

    @staticmethod
    def _out_hw(h: int, w: int, k: int | tuple[int, int], stride: int, padding: str
                ) -> tuple[int, int]:
        kh, kw = (k, k) if isinstance(k, int) else k
        if padding == "SAME":
            return -(-h // stride), -(-w // stride)
        return (h - kh) // stride + 1, (w - kw) // stride + 1

    def conv2d(self, x: int, filters: int, kernel: int | tuple[int, int] = 3, stride: int = 1,
               padding: str = "SAME", activation: str | None = "RELU",
               per_channel: bool = True) -> int:
        """CONV_2D with per-channel (else per-tensor) int8 weights, int32 bias and a fused
        activation.

        ``kernel`` is ``k`` (square) or ``(kh, kw)``, e.g. ``(1, 7)`` for Inception's 1x7.
        """
        a = self._acts[x]
        _, h, w, c = a.shape
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        wq, ws = self._weights([filters, kh, kw, c], kh * kw * c, 0 if per_channel else None)
        wt = self._tensor(wq.shape, schema.TensorType.INT8, self._name("conv/weights"), ws,
                          [0] * len(ws), 0, wq)
        bt = self._bias(filters, a.scale, ws)
        oh, ow = self._out_hw(h, w, (kh, kw), stride, padding)
        rms = a.rms * math.sqrt(2.0) * (0.7 if activation else 1.0)
        y = self._act((1, oh, ow, filters), rms, activation is not None, "conv")
        o = schema.Conv2DOptionsT()
        o.padding, o.strideH, o.strideW = _PAD[padding], stride, stride
        o.fusedActivationFunction = _ACT[activation]
        self._op(_OP.CONV_2D, [x, wt, bt], [y], _OPT.Conv2DOptions, o)
        return y

    def depthwise_conv2d(self, x: int, kernel: int = 3, stride: int = 1, multiplier: int = 1,
                         padding: str = "SAME", activation: str | None = "RELU",
                         per_channel: bool = True) -> int:
        """DEPTHWISE_CONV_2D with per-channel (else per-tensor) int8 weights."""
        a = self._acts[x]
        _, h, w, c = a.shape
        oc = c * multiplier
        wq, ws = self._weights([1, kernel, kernel, oc], kernel * kernel, 3 if per_channel else None)
        wt = self._tensor(wq.shape, schema.TensorType.INT8, self._name("dwconv/weights"), ws,
                          [0] * len(ws), 3, wq)
        bt = self._bias(oc, a.scale, ws)
        oh, ow = self._out_hw(h, w, kernel, stride, padding)
        rms = a.rms * math.sqrt(2.0) * (0.7 if activation else 1.0)
        y = self._act((1, oh, ow, oc), rms, activation is not None, "dwconv")
        o = schema.DepthwiseConv2DOptionsT()
        o.padding, o.strideH, o.strideW = _PAD[padding], stride, stride
        o.depthMultiplier = multiplier
        o.fusedActivationFunction = _ACT[activation]
        self._op(_OP.DEPTHWISE_CONV_2D, [x, wt, bt], [y], _OPT.DepthwiseConv2DOptions, o)
        return y

    def fully_connected(self, x: int, units: int, activation: str | None = None,
                        per_channel: bool = False) -> int:
        """FULLY_CONNECTED over the last dimension (per-tensor, else per-channel, int8 weights)."""
        a = self._acts[x]
        n_in = a.shape[-1]
        wq, ws = self._weights([units, n_in], n_in, 0 if per_channel else None)
        wt = self._tensor(wq.shape, schema.TensorType.INT8, self._name("fc/weights"), ws,
                          [0] * len(ws), 0, wq)
        bt = self._bias(units, a.scale, ws)
        rms = a.rms * math.sqrt(2.0) * (0.7 if activation else 1.0)
        y = self._act((*a.shape[:-1], units), rms, activation is not None, "fc")
        o = schema.FullyConnectedOptionsT()
        o.fusedActivationFunction = _ACT[activation]
        self._op(_OP.FULLY_CONNECTED, [x, wt, bt], [y], _OPT.FullyConnectedOptions, o)
        return y

    def tanh(self, x: int) -> int:
        """TANH (int8 output fixed at scale 1/128, zero point 0, as TFLite requires)."""
        a = self._acts[x]
        y = self._act(a.shape, 0.5, False, "tanh", fixed=(1 / 128, 0))
        self._op(_OP.TANH, [x], [y])
        return y

    def logistic(self, x: int) -> int:
        """LOGISTIC (sigmoid; int8 output fixed at scale 1/256, zero point -128)."""
        a = self._acts[x]
        y = self._act(a.shape, 0.3, False, "logistic", fixed=(1 / 256, -128))
        self._op(_OP.LOGISTIC, [x], [y])
        return y

    def add(self, a: int, b: int, activation: str | None = None) -> int:
        """Element-wise ADD of two tensors of the same shape."""
        ra, rb = self._acts[a], self._acts[b]
        rms = math.sqrt(ra.rms ** 2 + rb.rms ** 2)
        y = self._act(ra.shape, rms, activation is not None, "add")
        o = schema.AddOptionsT()
        o.fusedActivationFunction = _ACT[activation]
        self._op(_OP.ADD, [a, b], [y], _OPT.AddOptions, o)
        return y

    def concat(self, xs: Sequence[int], axis: int = -1) -> int:
        """CONCATENATION along ``axis`` (channels by default)."""
        shapes = [self._acts[x].shape for x in xs]
        ax = axis % len(shapes[0])
        shape = list(shapes[0])
        shape[ax] = sum(s[ax] for s in shapes)
        rms = max(self._acts[x].rms for x in xs)
        y = self._act(shape, rms, False, "concat")
        # XNNPACK's int8 concatenation needs every input at the output's quantization. As the
        # TFLite converter does, an input whose producer can requantize freely takes it; one
        # whose quantization is tied elsewhere gets an int8 -> int8 QUANTIZE in front.
        out = self._acts[y]
        joined = []
        for x in xs:
            a = self._acts[x]
            if (a.scale, a.zero_point) == (out.scale, out.zero_point):
                joined.append(x)
            elif a.free and x not in self._inputs and x not in self._tied:
                q = self._tensors[x].quantization
                q.scale, q.zeroPoint = [out.scale], [out.zero_point]
                a.scale, a.zero_point = out.scale, out.zero_point
                joined.append(x)
            else:
                r = self._act(a.shape, a.rms, False, "requantize",
                              fixed=(out.scale, out.zero_point))
                self._op(_OP.QUANTIZE, [x], [r])
                joined.append(r)
        self._tied.update(joined)
        self._tied.add(y)
        o = schema.ConcatenationOptionsT()
        o.axis = ax
        self._op(_OP.CONCATENATION, joined, [y], _OPT.ConcatenationOptions, o)
        return y

    def _pool(self, code: int, x: int, size: int, stride: int, padding: str) -> int:
        a = self._acts[x]
        _, h, w, c = a.shape
        oh, ow = self._out_hw(h, w, size, stride, padding)
        y = self._act((1, oh, ow, c), a.rms, False, "pool", fixed=(a.scale, a.zero_point))
        self._tied.update((x, y))
        o = schema.Pool2DOptionsT()
        o.padding, o.strideH, o.strideW = _PAD[padding], stride, stride
        o.filterHeight = o.filterWidth = size
        self._op(code, [x], [y], _OPT.Pool2DOptions, o)
        return y

    def max_pool(self, x: int, size: int = 2, stride: int = 2, padding: str = "VALID") -> int:
        """MAX_POOL_2D (output keeps the input's quantization, as int8 kernels require)."""
        return self._pool(_OP.MAX_POOL_2D, x, size, stride, padding)

    def avg_pool(self, x: int, size: int = 2, stride: int = 2, padding: str = "VALID") -> int:
        """AVERAGE_POOL_2D (output keeps the input's quantization)."""
        return self._pool(_OP.AVERAGE_POOL_2D, x, size, stride, padding)

    def global_avg_pool(self, x: int) -> int:
        """MEAN over height and width, keeping a (1, C) result."""
        a = self._acts[x]
        axes = self._tensor([2], schema.TensorType.INT32, self._name("mean/axes"),
                            data=np.array([1, 2], dtype=np.int32))
        y = self._act((1, a.shape[-1]), a.rms, False, "mean", fixed=(a.scale, a.zero_point))
        self._tied.update((x, y))
        o = schema.ReducerOptionsT()
        o.keepDims = False
        self._op(_OP.MEAN, [x, axes], [y], _OPT.ReducerOptions, o)
        return y

    def detection_postprocess(self, boxes: int, scores: int, max_detections: int = 10
                              ) -> tuple[int, int, int, int]:
        """``TFLite_Detection_PostProcess`` (a custom op LiteRT runs on the host CPU) on box
        encodings ``(1, anchors, 4)`` and class scores ``(1, anchors, classes)``, dequantized
        first as the TFLite converter does for an int8 model (LiteRT's kernel takes float or
        uint8, not int8), with the TF
        Object Detection API's TFLite export defaults (fast NMS, one class per detection,
        score threshold 1e-8, IoU 0.6); random anchors. Returns the float32 outputs: boxes,
        classes, scores, count."""
        _, anchors, classes = self.shape(scores)
        grid = self.rng.uniform(0.05, 0.95, (anchors, 4)).astype(np.float32)
        anc = self._tensor((anchors, 4), schema.TensorType.FLOAT32, self._name("anchors"),
                           data=grid)
        f32 = schema.TensorType.FLOAT32
        outs = (self._tensor((1, max_detections, 4), f32, self._name("detection_boxes")),
                self._tensor((1, max_detections), f32, self._name("detection_classes")),
                self._tensor((1, max_detections), f32, self._name("detection_scores")),
                self._tensor((1,), f32, self._name("num_detections")))
        ins = [self.dequantize(boxes), self.dequantize(scores), anc]
        self._op(_OP.CUSTOM, ins, outs, custom=POSTPROCESS_OP)
        self._ops[-1].customOptions = postprocess_options(classes, max_detections)
        return outs

    def reshape(self, x: int, shape: Sequence[int]) -> int:
        """RESHAPE keeping quantization."""
        a = self._acts[x]
        st = self._tensor([len(shape)], schema.TensorType.INT32, self._name("reshape/shape"),
                          data=np.array(shape, dtype=np.int32))
        y = self._act(tuple(shape), a.rms, False, "reshape", fixed=(a.scale, a.zero_point))
        self._tied.update((x, y))
        o = schema.ReshapeOptionsT()
        o.newShape = list(shape)
        self._op(_OP.RESHAPE, [x, st], [y], _OPT.ReshapeOptions, o)
        return y

    def softmax(self, x: int) -> int:
        """SOFTMAX (int8 output fixed at scale 1/256, zero point -128)."""
        a = self._acts[x]
        y = self._act(a.shape, 0.1, False, "softmax", fixed=(1 / 256, -128))
        o = schema.SoftmaxOptionsT()
        o.beta = 1.0
        self._op(_OP.SOFTMAX, [x], [y], _OPT.SoftmaxOptions, o)
        return y

    # ---------------------------------------------------------------- output
    def build(self) -> bytes:
        """Serialize the model (with a ``serving_default`` signature) to TFLite bytes."""
        if not self._outputs:
            raise ValueError("model has no outputs; call output() first")
        sg = schema.SubGraphT()
        sg.tensors = self._tensors
        sg.operators = self._ops
        sg.inputs = list(self._inputs)
        sg.outputs = list(self._outputs)
        sg.name = "main"
        model = schema.ModelT()
        model.version = 3
        model.description = f"tpusplit synthetic model {self.name}"
        model.operatorCodes = self._code_list
        model.subgraphs = [sg]
        model.buffers = self._buffers
        sig = schema.SignatureDefT()
        sig.signatureKey = "serving_default"
        sig.inputs = [self._map(t) for t in self._inputs]
        sig.outputs = [self._map(t) for t in self._outputs]
        model.signatureDefs = [sig]
        return serialize(model)

    def _map(self, t: int) -> schema.TensorMapT:
        m = schema.TensorMapT()
        m.name = self._tensors[t].name
        m.tensorIndex = t
        return m
