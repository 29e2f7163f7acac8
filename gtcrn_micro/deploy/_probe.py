"""Tiny int8 one-op .tflite models built without TensorFlow (for the S3 cost model, chapter 6).

:func:`one_op_model` writes a flatbuffer with one CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED,
ADD, SUB or MUL whose tensors carry int8 quantization, so TFLite Micro can run it. The cost
model uses them twice: the tests check its kernel-path rules on them, and
``scripts/profile_esp32s3.py`` counts the instructions TFLM's reference kernels spend on the
shapes of ESP-NN's published benchmark rows (the calibration).
"""

from __future__ import annotations

import numpy as np

__all__ = ["one_op_model", "CALIBRATION_PROBES"]

_OPTIONS = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
            "FULLY_CONNECTED": "FullyConnectedOptions", "ADD": "AddOptions", "SUB": "SubOptions",
            "MUL": "MulOptions"}


def _q(schema, scale, zero_point, dim: int = 0):
    q = schema.QuantizationParametersT()
    q.scale = [float(s) for s in np.atleast_1d(scale)]
    q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point)]
    q.quantizedDimension = dim
    return q


def one_op_model(op: str, input_shape, *, filter_shape=None, input2_shape=None, stride=(1, 1),
                 dilation=(1, 1), padding: str = "VALID", depth_multiplier: int = 1, seed: int = 0) -> bytes:
    """One int8 op as TFLite bytes.

    ``input_shape`` is NHWC for the convolutions, (batches, depth) for FULLY_CONNECTED;
    ``filter_shape``: CONV_2D (Cout, Kh, Kw, Cin/groups), DEPTHWISE_CONV_2D (1, Kh, Kw, C*mult),
    FULLY_CONNECTED (units, depth); ``input2_shape`` (ADD/SUB/MUL) defaults to ``input_shape``
    and may broadcast. ``stride`` and ``dilation`` are (h, w).
    """
    from ..export.tflite import _schema, write_model

    _, s = _schema()
    rng = np.random.default_rng(seed)
    op = op.upper()
    if op not in _OPTIONS:
        raise ValueError(f"one_op_model builds {', '.join(_OPTIONS)}, not {op}.")
    buffers = [s.BufferT()]  # buffer 0: the empty sentinel every model starts with
    tensors = []

    def tensor(shape, ttype, quant, data=None):
        t = s.TensorT()
        t.shape, t.type, t.quantization = [int(d) for d in shape], ttype, quant
        b = s.BufferT()
        if data is not None:
            b.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8).tolist()
        buffers.append(b)
        t.buffer = len(buffers) - 1
        tensors.append(t)
        return len(tensors) - 1

    i8, i32 = s.TensorType.INT8, s.TensorType.INT32
    x = tensor(input_shape, i8, _q(s, 0.05, -3))
    inputs, outputs = [x], []
    opts = getattr(s, _OPTIONS[op] + "T")()
    pad = {"SAME": s.Padding.SAME, "VALID": s.Padding.VALID}[padding]
    if op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        n, h, w, c = input_shape
        cout = filter_shape[0] if op == "CONV_2D" else filter_shape[3]
        kh, kw = filter_shape[1], filter_shape[2]
        ekh, ekw = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
        if padding == "SAME":
            oh, ow = -(-h // stride[0]), -(-w // stride[1])
        else:
            oh, ow = (h - ekh) // stride[0] + 1, (w - ekw) // stride[1] + 1
        wscale = rng.uniform(0.005, 0.02, cout)
        wt = tensor(filter_shape, i8, _q(s, wscale, np.zeros(cout, int), 0 if op == "CONV_2D" else 3),
                    rng.integers(-127, 128, filter_shape, dtype=np.int8))
        bias = tensor([cout], i32, _q(s, 0.05 * wscale, np.zeros(cout, int)),
                      rng.integers(-500, 500, cout, dtype=np.int32))
        inputs += [wt, bias]
        opts.padding, opts.strideH, opts.strideW = pad, stride[0], stride[1]
        opts.dilationHFactor, opts.dilationWFactor = dilation
        if op == "DEPTHWISE_CONV_2D":
            opts.depthMultiplier = depth_multiplier
        outputs.append(tensor([n, oh, ow, cout], i8, _q(s, 0.1, 2)))
    elif op == "FULLY_CONNECTED":
        units, depth = filter_shape
        wt = tensor(filter_shape, i8, _q(s, 0.01, 0), rng.integers(-127, 128, filter_shape, dtype=np.int8))
        bias = tensor([units], i32, _q(s, 0.0005, 0), rng.integers(-500, 500, units, dtype=np.int32))
        inputs += [wt, bias]
        outputs.append(tensor([int(np.prod(input_shape)) // depth, units], i8, _q(s, 0.1, 2)))
    else:
        shape2 = list(input2_shape or input_shape)
        inputs.append(tensor(shape2, i8, _q(s, 0.04, 5)))
        out_shape = list(np.broadcast_shapes(tuple(input_shape), tuple(shape2)))
        outputs.append(tensor(out_shape, i8, _q(s, 0.12 if op != "MUL" else 0.01, -1)))

    code = getattr(s.BuiltinOperator, op)
    oc = s.OperatorCodeT()
    oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
    o = s.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = 0, inputs, outputs
    o.builtinOptionsType, o.builtinOptions = getattr(s.BuiltinOptions, _OPTIONS[op]), opts
    sg = s.SubGraphT()
    sg.tensors, sg.operators = tensors, [o]
    sg.inputs = [i for i in inputs if tensors[i].buffer and not buffers[tensors[i].buffer].data]
    sg.outputs = outputs
    m = s.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [oc], [sg], buffers
    m.description = b"gtcrn_micro one-op probe"
    return write_model(m)


# ESP-NN README, "Kernelwise performance on ESP32-S3 chip" (the table of the README revision that
# also lists ESP32-P4 and ESP32-S31): (row, ANSI C ticks, optimized ticks, memory, model arguments).
CALIBRATION_PROBES: list[tuple[str, int, int, str, dict]] = [
    ("elementwise_add, size 1615", 281_337, 74_440, "external", dict(op="ADD", input_shape=[1, 1615])),
    ("elementwise_mul, size 1615", 122_703, 35_002, "external", dict(op="MUL", input_shape=[1, 1615])),
    ("conv 1x1 64->64, input 10x10", 4_712_500, 331_008, "external",
     dict(op="CONV_2D", input_shape=[1, 10, 10, 64], filter_shape=[64, 1, 1, 64])),
    ("conv 1x1 16->16, input 8x8", 312_754, 39_022, "external",
     dict(op="CONV_2D", input_shape=[1, 8, 8, 16], filter_shape=[16, 1, 1, 16])),
    ("conv 3x3 3->64, input 8x8, pad 0", 2_193_289, 394_842, "external",
     dict(op="CONV_2D", input_shape=[1, 8, 8, 3], filter_shape=[64, 3, 3, 3])),
    ("conv 3x3 16->16, input 8x8, stride 2, SAME", 362_880, 46_838, "internal",
     dict(op="CONV_2D", input_shape=[1, 8, 8, 16], filter_shape=[16, 3, 3, 16], stride=(2, 2), padding="SAME")),
    ("depthwise 3x3x16, input 18x18, pad 0", 1_159_831, 184_176, "external",
     dict(op="DEPTHWISE_CONV_2D", input_shape=[1, 18, 18, 16], filter_shape=[1, 3, 3, 16])),
    ("fully connected, len 271, ch 3", 8_439, 1_543, "internal",
     dict(op="FULLY_CONNECTED", input_shape=[1, 271], filter_shape=[3, 271])),
]
