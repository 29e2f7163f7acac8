"""ONNX -> TFLite (float, int8, 16x8) with onnx2tf and streaming calibration, plus the checks (chapter 6).

The recipe (each step is a lesson from the earlier port that failed at int8):

1. ``onnx2tf -osd -kat <every input>``: every input keeps its ONNX (NCHW) layout, so the host
   feeds states back without transposes; ``-osd`` writes the saved model the quantizer reads.
2. ``TFLiteConverter`` with a representative dataset recorded from the float model streaming
   real noisy speech: feature frames *and the states the model produced*, not random tensors.
3. :func:`tie_state_quantization`: each state output gets its input's scale and zero point (a
   QUANTIZE op re-scales it where they differ), so an int8 state feeds back unchanged.
4. Checks that fail loudly: a float tensor in a full-integer model, an op TFLM lacks, a state
   scale mismatch, an arena over budget.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["ExportError", "TFLM_OPS", "KINDS", "onnx_to_saved_model", "quantize", "tie_state_quantization",
           "read_model", "write_model", "model_summary", "check_full_integer", "check_tflm_ops", "signature_io",
           "tflm_arena_bytes", "strip_tensor_names", "drop_output_transposes", "read_tflite_checked", "step_kind"]

KINDS = ("float", "int8", "int16x8")

# Builtin ops that TensorFlow Lite Micro implements (its MicroMutableOpResolver's Add* methods).
# Per-type support differs (16x8 GATHER, for one, is missing): the final word is the TFLM
# interpreter itself, which :func:`tflm_arena_bytes` runs.
TFLM_OPS = frozenset("""
ABS ADD ADD_N ARG_MAX ARG_MIN ASSIGN_VARIABLE AVERAGE_POOL_2D BATCH_MATMUL BATCH_TO_SPACE_ND BROADCAST_ARGS
BROADCAST_TO CALL_ONCE CAST CEIL CONCATENATION CONV_2D COS CUMSUM DEPTH_TO_SPACE DEPTHWISE_CONV_2D DEQUANTIZE
DIV ELU EMBEDDING_LOOKUP EQUAL EXP EXPAND_DIMS FILL FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GATHER_ND
GREATER GREATER_EQUAL HARD_SWISH IF L2_NORMALIZATION L2_POOL_2D LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND
LOGICAL_NOT LOGICAL_OR LOGISTIC LOG_SOFTMAX MAX_POOL_2D MAXIMUM MEAN MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL PACK
PAD PADV2 PRELU QUANTIZE READ_VARIABLE REDUCE_MAX RELU RELU6 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR
REVERSE_V2 ROUND RSQRT SELECT_V2 SHAPE SIN SLICE SOFTMAX SPACE_TO_BATCH_ND SPACE_TO_DEPTH SPLIT SPLIT_V SQRT
SQUARE SQUARED_DIFFERENCE SQUEEZE STRIDED_SLICE SUB SUM SVDF TANH TRANSPOSE TRANSPOSE_CONV
UNIDIRECTIONAL_SEQUENCE_LSTM UNPACK VAR_HANDLE WHILE ZEROS_LIKE
""".split())


class ExportError(RuntimeError):
    """A conversion step failed or a check did not hold; the message says which and why."""


def _schema():
    from tflite_micro.python.tflite_micro import runtime as tflm
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return tflm, schema


def read_model(data: bytes | str | Path):
    """A TFLite flatbuffer (bytes or path) as an editable object (``ModelT``)."""
    tflm, _ = _schema()
    if not isinstance(data, (bytes, bytearray)):
        data = Path(data).read_bytes()
    return tflm.convert_bytearray_to_object(bytearray(data))


class _Damaged(ValueError):
    """What :func:`read_tflite_checked` found wrong inside a flatbuffer that did parse."""


def _check_indices(model) -> None:
    """Raise :class:`_Damaged` if an index points outside the model or a constant an op reads has no data."""
    n_buffers, n_codes = len(model.buffers or []), len(model.operatorCodes or [])
    if not model.subgraphs:
        raise _Damaged("no subgraphs")
    for sg in model.subgraphs:
        n_tensors = len(sg.tensors or [])
        if not sg.operators:
            raise _Damaged("no operators")
        if any(not 0 <= t.buffer < n_buffers for t in sg.tensors or []):
            raise _Damaged("a tensor's buffer is out of range")
        ins, outs = list(sg.inputs if sg.inputs is not None else ()), list(sg.outputs if sg.outputs is not None else ())
        if any(not 0 <= i < n_tensors for i in ins + outs):
            raise _Damaged("a graph input or output is out of range")
        produced = set(ins)
        for op in sg.operators:
            produced.update(op.outputs if op.outputs is not None else ())
        for op in sg.operators:
            if not 0 <= op.opcodeIndex < n_codes:
                raise _Damaged("an operator code is out of range")
            op_ins, op_outs = list(op.inputs if op.inputs is not None else ()), list(op.outputs if op.outputs is not None else ())
            if any(not -1 <= i < n_tensors for i in op_ins + op_outs):
                raise _Damaged("an operator's tensor is out of range")
            for i in op_ins:  # a constant (neither computed nor fed in) must carry its values
                t = sg.tensors[i] if i >= 0 else None
                if t is None or i in produced or t.isVariable:
                    continue
                buf = model.buffers[t.buffer]
                if (buf.data is None or len(buf.data) == 0) and not getattr(buf, "offset", 0):
                    raise _Damaged(f"constant tensor {i} has no data")


def read_tflite_checked(path: str | Path):
    """``(model, data)`` of a .tflite file (``ModelT`` and its bytes), or one sentence that says what is wrong.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for an empty, truncated,
    corrupt or non-TFLite one: the flatbuffer reader fails on those with ``struct.error``,
    ``IndexError`` and the like (or not at all, until an interpreter crashes), so the identifier,
    the whole object tree and every index in it are checked here first.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"{path} {what}; pass a .tflite file written by `gtcrn-micro export`.")
    data = path.read_bytes()
    if not data:
        raise ValueError(f"{path.name} is empty; pass a .tflite file written by `gtcrn-micro export`.")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise ValueError(f"{path.name} is not a TFLite model (no TFL3 identifier); pass a .tflite file written by "
                         "`gtcrn-micro export`.")
    try:
        model = read_model(data)
        _check_indices(model)
    except Exception as err:  # struct.error, IndexError, UnicodeDecodeError, ...: a damaged flatbuffer
        kind = type(err).__name__ if type(err).__module__ == "builtins" else f"{type(err).__module__}.{type(err).__name__}"
        what = str(err) if isinstance(err, _Damaged) else f"{kind} while reading it"
        raise ValueError(f"{path.name} is truncated or corrupt ({what}); "
                         "export it again with `gtcrn-micro export`.") from None
    return model, data


def step_kind(model) -> str:
    """``"float"``, ``"int8"`` or ``"int16x8"``: the kind of an exported step, from the type of its first input."""
    sg = model.subgraphs[0]
    name = _type_name(sg.tensors[sg.inputs[0]].type)
    return {"FLOAT32": "float", "INT8": "int8", "INT16": "int16x8"}.get(name, name.lower())


def write_model(model) -> bytes:
    """Serialize a ``ModelT`` back to TFLite bytes."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _op_names(model) -> list[str]:
    tflm, schema = _schema()
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    sg = model.subgraphs[0]
    return [names[tflm.get_builtin_code_from_operator_code(model.operatorCodes[op.opcodeIndex])] for op in sg.operators]


def _type_name(code: int) -> str:
    _, schema = _schema()
    return {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}[code]


def signature_io(model, output_names: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """(input name -> tensor index, output name -> tensor index) from the model's signature.

    onnx2tf names signature outputs ``output_<k>`` after the k-th ONNX output; ``output_names``
    gives them back their ONNX names.
    """
    sd = model.signatureDefs[0]
    inputs = {t.name.decode(): t.tensorIndex for t in sd.inputs}
    outputs = {}
    for t in sd.outputs:
        name = t.name.decode()
        k = int(name.split("_")[-1]) if name.startswith("output_") else output_names.index(name)
        outputs[output_names[k]] = t.tensorIndex
    return inputs, outputs


def strip_tensor_names(data: bytes) -> bytes:
    """The same model without the names of its tensors: what the firmware embeds (chapter 6).

    TFLite Micro never reads a tensor's name, and onnx2tf's names are long: on the micro int8
    step they are about a fifth of the file. Ops, tensors, their order and indices, buffers and
    quantization are untouched, and the signature (names of the inputs and outputs, which the
    Python tools use to pair states) is kept.
    """
    model = read_model(data)
    for sg in model.subgraphs:
        for t in sg.tensors:
            t.name = None
    return write_model(model)


def model_summary(data) -> dict:
    """Ops (name -> count), tensor types, and the names of float tensors that ops compute on."""
    model = read_model(data)
    sg = model.subgraphs[0]
    ops = _op_names(model)
    float_tensors = set()
    for op in sg.operators:
        for i in list(op.inputs) + list(op.outputs):
            if i >= 0 and _type_name(sg.tensors[i].type) in ("FLOAT32", "FLOAT16"):
                float_tensors.add((sg.tensors[i].name or b"").decode() or f"#{i}")
    return {"ops": dict(collections.Counter(ops)), "n_ops": len(ops),
            "tensor_types": dict(collections.Counter(_type_name(t.type) for t in sg.tensors)),
            "float_tensors": sorted(float_tensors)}


def check_full_integer(data) -> None:
    """Raise if any op of the model reads or writes a float tensor (a 'float island')."""
    floats = model_summary(data)["float_tensors"]
    if floats:
        raise ExportError(f"The model is not full-integer: {len(floats)} float tensors between its input and "
                          f"output, e.g. {', '.join(floats[:3])}.")


def check_tflm_ops(data) -> None:
    """Raise if the model uses an op that TensorFlow Lite Micro does not implement (named)."""
    missing = sorted(set(model_summary(data)["ops"]) - TFLM_OPS)
    if missing:
        raise ExportError(f"TFLite Micro has no kernel for {', '.join(missing)}; change the model so it does not "
                          "need these ops.")


def onnx_to_saved_model(onnx_path: str | Path, out_dir: str | Path, input_names: list[str]) -> Path:
    """Run onnx2tf (``-osd -kat <inputs>``) on an ONNX step; returns the folder with the saved model.

    ``input_names``: the inputs whose ONNX (NCHW) layout must be kept (``-kat``); an empty list lets
    every input take TFLite's NHWC layout, which needs no TRANSPOSE ops.
    """
    out_dir = Path(out_dir)
    bin_dir = Path(sys.executable).parent  # onnx2tf calls the `onnxsim` executable: it must be on PATH
    exe = bin_dir / "onnx2tf"
    if not exe.exists():
        raise ExportError("onnx2tf is not installed in this environment; install requirements.txt (make venv).")
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    cmd = [str(exe), "-i", str(onnx_path), "-o", str(out_dir), "-osd", "-n", *(["-kat", *input_names] if input_names else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    (out_dir / "onnx2tf.log").parent.mkdir(parents=True, exist_ok=True)
    (out_dir / "onnx2tf.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode or not (out_dir / "saved_model.pb").exists():
        raise ExportError(f"onnx2tf failed (exit {proc.returncode}); see {out_dir / 'onnx2tf.log'}:\n"
                          + (proc.stdout + proc.stderr)[-1500:])
    return out_dir


# int8 activation ranges (see quantize) -> how the export report describes them
RANGE_CHOICES = {"clipped": "clipped, tail {tail:g} per side",
                 "clipped-saturation": "clipped, tail {tail:g} per side, sigmoid/tanh inputs limited",
                 "minmax": "converter min/max"}


def quantize(saved_model: str | Path, kind: str, trace: dict[str, np.ndarray] | None = None,
             input_names: list[str] | None = None, ranges: str = "clipped", tail: float = 1e-4) -> bytes:
    """Convert onnx2tf's saved model to TFLite: ``float``, full-integer ``int8`` or ``int16x8``.

    Integer kinds need ``trace`` (from :func:`~gtcrn_micro.export.graph.record_trace`): every
    recorded step is one representative sample, keyed by input name (NCHW, kept by ``-kat``).
    Inputs and outputs of integer models are integer too.
    ``ranges`` (int8 only): ``"clipped"`` measures every activation's values ourselves and leaves
    out the ``tail`` share on each side (:mod:`~gtcrn_micro.export.ranges`); ``"clipped-saturation"``
    also keeps sigmoid and tanh inputs inside the interval where their int8 output still changes;
    ``"minmax"`` keeps the converter's recorded ranges. int16x8 always uses the converter's ranges.
    The default, ``"clipped"``, is the choice with the best PESQ on held-out validation mixtures for
    the shipped checkpoint (``scripts/benchmark_ranges.py``).
    """
    import tensorflow as tf

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}.")
    if ranges not in RANGE_CHOICES:
        raise ValueError(f"ranges must be one of {', '.join(RANGE_CHOICES)}, not {ranges!r}.")
    if kind != "float" and (trace is None or not input_names):
        raise ValueError("Integer quantization needs a calibration trace and the input names.")
    if kind == "int8" and ranges != "minmax":
        from .ranges import (calibrate_only, clipped_ranges, limit_to_saturation, measure_ranges,
                             quantize_with_ranges, saturation_limits)

        calibrated = calibrate_only(saved_model, trace, input_names)
        ranges_ = clipped_ranges(measure_ranges(calibrated, trace, input_names), tail)
        if ranges == "clipped-saturation":
            ranges_ = limit_to_saturation(ranges_, saturation_limits(calibrated))
        return quantize_with_ranges(calibrated, ranges_)
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    if kind != "float":
        n = len(trace["feat"])

        def representative():
            for t in range(n):
                yield {k: trace[k][t : t + 1] for k in input_names}

        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = representative
        if kind == "int8":
            conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            conv.inference_input_type = conv.inference_output_type = tf.int8
        else:
            conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
            conv.inference_input_type = conv.inference_output_type = tf.int16
    return bytes(conv.convert())


def _qparams(tensor) -> tuple[float, int]:
    q = tensor.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        return 0.0, 0
    return float(q.scale[0]), int(q.zeroPoint[0])


def tie_state_quantization(data: bytes, state_names: list[str], output_names: list[str]) -> tuple[bytes, dict]:
    """Give every state output its input's scale and zero point, so int8 states feed back unchanged.

    Where the converter chose different parameters for a state's input and output, a QUANTIZE op
    (int -> int re-scaling, which TFLM implements) is appended after the output. Returns the new
    model bytes and ``{state: (in scale, in zp, out scale, out zp)}`` for the states it re-scaled.
    """
    import copy

    _, schema = _schema()
    model = read_model(data)
    sg = model.subgraphs[0]
    ins, outs = signature_io(model, output_names)
    quant_code = None
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == schema.BuiltinOperator.QUANTIZE:
            quant_code = i
    changed = {}
    for name in state_names:
        t_in, t_out = sg.tensors[ins[name]], sg.tensors[outs[f"{name}_out"]]
        (s_in, z_in), (s_out, z_out) = _qparams(t_in), _qparams(t_out)
        if s_in == s_out and z_in == z_out:
            continue
        if quant_code is None:
            oc = schema.OperatorCodeT()
            oc.builtinCode = schema.BuiltinOperator.QUANTIZE
            oc.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE
            oc.version = 2
            model.operatorCodes.append(oc)
            quant_code = len(model.operatorCodes) - 1
        new_t = copy.deepcopy(t_out)
        new_t.name = t_out.name + b"/tied"
        new_t.quantization = copy.deepcopy(t_in.quantization)
        empty = schema.BufferT()
        model.buffers.append(empty)
        new_t.buffer = len(model.buffers) - 1
        sg.tensors.append(new_t)
        new_idx = len(sg.tensors) - 1
        op = schema.OperatorT()
        op.opcodeIndex = quant_code
        op.inputs, op.outputs = [outs[f"{name}_out"]], [new_idx]
        op.builtinOptionsType = schema.BuiltinOptions.QuantizeOptions
        op.builtinOptions = schema.QuantizeOptionsT()
        sg.operators.append(op)
        sg.outputs = [new_idx if o == outs[f"{name}_out"] else o for o in sg.outputs]
        for t in model.signatureDefs[0].outputs:
            if t.tensorIndex == outs[f"{name}_out"]:
                t.tensorIndex = new_idx
        changed[name] = (s_in, z_in, s_out, z_out)
    return write_model(model), changed


def drop_output_transposes(data: bytes) -> tuple[bytes, list[str]]:
    """Remove every TRANSPOSE whose only use is to hand a graph output back in ONNX's layout.

    onnx2tf turns some outputs (a GRU's new state, say) back into NCHW with a TRANSPOSE at the very
    end of the graph. The host feeds a state back exactly as it came out, so the output can keep
    the layout the graph computed it in (the same as the state input's): the output becomes the
    TRANSPOSE's input and the op goes. Returns the new bytes and the names of the outputs changed.
    """
    _, schema = _schema()
    model = read_model(data)
    sg = model.subgraphs[0]
    names = _op_names(model)
    used = collections.Counter(i for op in sg.operators for i in op.inputs)
    drop, changed = [], []
    for k, (name, op) in enumerate(zip(names, sg.operators)):
        out = op.outputs[0]
        if name != "TRANSPOSE" or out not in sg.outputs or used[out] or op.inputs[0] in sg.inputs:
            continue
        src = op.inputs[0]
        sg.outputs = [src if o == out else o for o in sg.outputs]
        for t in model.signatureDefs[0].outputs:
            if t.tensorIndex == out:
                t.tensorIndex = src
                changed.append(t.name.decode())
        drop.append(k)
    sg.operators = [op for k, op in enumerate(sg.operators) if k not in drop]
    return write_model(model), changed


@contextmanager
def _capture_c_stderr():
    """Capture what C++ code writes to file descriptor 2 (TFLM's error and allocation reports)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        box = {"text": ""}
        try:
            yield box
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            box["text"] = tmp.read().decode(errors="replace")


def tflm_arena_report(path: str | Path, arena_size: int = 1 << 20) -> dict:
    """What TFLM's recording allocator reports for the model: ``{"total", "head", "tail", "parts"}``.

    ``head``: the planned non-persistent memory (activations, inputs, outputs, scratch), reused
    across ops; ``tail``: what lives as long as the interpreter (one eval tensor per tensor, one
    node struct per op, each op's own data such as per-channel multipliers). ``parts`` maps each
    tail category to its bytes. Measured on this machine: on a 64-bit host, pointers are twice as
    wide as on the ESP32-S3, so the tail there is smaller.
    Raises :class:`ExportError` with TFLM's own message when the model cannot run under TFLM at
    all (an op or a type it lacks). (Probing smaller arenas until allocation fails is not an
    option: the Python interpreter can crash on a partly allocated arena.)
    """
    import re

    from tflite_micro.python.tflite_micro import runtime as tflm

    with _capture_c_stderr() as err:
        try:
            interpreter = tflm.Interpreter.from_file(str(path), arena_size=arena_size)
            interpreter.print_allocations()
            ok = True
        except RuntimeError:
            ok = False
    text = err["text"]
    if not ok:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        raise ExportError(f"TFLite Micro cannot run {Path(path).name}: {' '.join(lines[:3]) or 'allocation failed'}")
    found = dict(re.findall(r"Arena allocation (total|head|tail) (\d+) bytes", text))
    if "total" not in found:
        raise ExportError(f"TFLite Micro did not report its arena for {Path(path).name}.")
    parts = {name: int(n) for name, n in re.findall(r"'([^']+)' used (\d+) bytes", text)}
    return {k: int(v) for k, v in found.items()} | {"parts": parts}


def tflm_arena_bytes(path: str | Path, arena_size: int = 1 << 20) -> int:
    """The tensor arena (bytes) TFLM's recording allocator reports for the model (see :func:`tflm_arena_report`)."""
    return tflm_arena_report(path, arena_size)["total"]
