"""ESP32-S3 cost model of an int8 step graph, op by op, by kernel path (chapter 6). An estimate.

For each op of a .tflite: the kernel it runs on the ESP32-S3 under esp-tflite-micro with ESP-NN
(:func:`kernel_path`, rules read in the sources and named in ``RULES``), its work (MACs or
elements), and low / central / high CPU cycles:

- ESP-NN SIMD kernels: cycles per MAC or element from the ticks ESP-NN's README publishes for
  the ESP32-S3 (``ESPNN_FAST``), low-high over its rows, central the geometric mean;
- TFLM portable reference kernels and ESP-NN's ANSI-C fallbacks: the x86 instructions the same
  kernel spends per unit under TFLM's Python interpreter, counted with valgrind's callgrind
  (:func:`callgrind_instructions_per_step`), times one factor, S3 cycles per x86 instruction,
  calibrated on one-op models of the shapes of ESP-NN's published ANSI-C rows
  (``CALIBRATION``; ``scripts/profile_esp32s3.py`` measures both and writes them to
  ``benchmarks/deploy/s3_calibration.json``); low and high use the smallest and largest factor
  over those rows, central their median;
- TFLM's own per-op dispatch, measured the same way.

Plus the float front and back end on the host side of the graph (STFT, ERB, iSTFT), as in
:mod:`gtcrn_micro.deploy.budget`. The result is a range, not a measurement: the cycle counter
in the generated firmware project measures the real number.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["s3_profile", "profile_markdown", "profile_table", "kernel_path", "op_table",
           "callgrind_instructions_per_step", "ESPNN_FAST", "CALIBRATION", "REFERENCE_X86", "RULES",
           "CALIBRATION_PATH", "CPU_MHZ"]

CPU_MHZ = 240
CALIBRATION_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "deploy" / "s3_calibration.json"
ESPNN_README = ("ESP-NN README (github.com/espressif/esp-nn, 'Kernelwise performance on ESP32-S3 chip', 240 MHz; "
                "the revision that also lists ESP32-P4 and ESP32-S31)")

# ESP-NN optimized (SIMD) kernels: (low, high, unit, source) in S3 cycles per unit, from the README's ticks.
ESPNN_FAST: dict[str, tuple[float, float, str, str]] = {
    "conv 1x1": (331_008 / (10 * 10 * 64 * 64), 39_022 / (8 * 8 * 16 * 16), "MAC",
                 "ESP-NN conv 1x1 rows: 64->64 on 10x10 331,008 ticks; 16->16 on 8x8 39,022"),
    "conv kxk": (46_838 / (4 * 4 * 16 * 9 * 16), 394_842 / (6 * 6 * 64 * 27), "MAC",
                 "ESP-NN conv rows: 3x3 16->16 stride 2 on 8x8 46,838 ticks; 3x3 3->64 on 8x8 394,842"),
    "depthwise": (184_176 / (16 * 16 * 16 * 9), 2 * 184_176 / (16 * 16 * 16 * 9), "MAC",
                  "ESP-NN depthwise 3x3x16 on 18x18 184,176 ticks; high = 2x (other shapes), assumed"),
    "fully connected": (1_543 / (271 * 3), 2 * 1_543 / (271 * 3), "MAC",
                        "ESP-NN fully connected len 271 x 3 1,543 ticks; high = 2x (short rows, s16 path), assumed"),
    "add": (74_440 / 1615 / 2, 74_440 / 1615, "element",
            "ESP-NN elementwise_add of 1615 74,440 ticks (external RAM); low = half for internal RAM, assumed"),
    "mul": (35_002 / 1615 / 2, 35_002 / 1615, "element",
            "ESP-NN elementwise_mul of 1615 35,002 ticks (external RAM); low = half for internal RAM, assumed"),
    "max pool": (48_069 / (14 * 14 * 16), 2 * 48_069 / (14 * 14 * 16), "element",
                 "ESP-NN max pool 3x3 on 16x16x16 48,069 ticks per output; high = 2x, assumed"),
    "avg pool": (118_052 / (14 * 14 * 16), 2 * 118_052 / (14 * 14 * 16), "element",
                 "ESP-NN avg pool 3x3 on 16x16x16 118,052 ticks per output; high = 2x, assumed"),
    "softmax": (11_107 / 256, 2 * 11_107 / 256, "element", "ESP-NN softmax 8x32 11,107 ticks; high = 2x, assumed"),
}

# Measured by scripts/profile_esp32s3.py and read from benchmarks/deploy/s3_calibration.json (one source):
# CALIBRATION: S3 cycles per x86 instruction (ESP-NN ANSI-C ticks / TFLM reference-kernel instructions on the
# same shape; low, central = median, high over ESP-NN's rows) and the interpreter's dispatch per op;
# REFERENCE_X86: x86 instructions per unit (MAC for CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED, else output
# element; input element for MEAN) of each TFLM kernel, measured on micro_int8.tflite: the fallback when
# valgrind does not measure the model itself.
def _load_calibration() -> tuple[dict, dict]:
    if not CALIBRATION_PATH.exists():
        return {"factor_low": float("nan"), "factor_central": float("nan"), "factor_high": float("nan"),
                "dispatch_x86_per_op": float("nan")}, {}
    data = json.loads(CALIBRATION_PATH.read_text())
    return data["calibration"], data["reference_x86_per_unit"]


CALIBRATION, REFERENCE_X86 = _load_calibration()
ASSUMED_X86_PER_ELEMENT = 30.0  # an op type neither measured nor in REFERENCE_X86: assumed

# Each rule: where it was read. esp-tflite-micro = github.com/espressif/esp-tflite-micro,
# esp-nn = github.com/espressif/esp-nn (src/... at commit 10170423 / 2dcd2ace, 2026 revisions).
RULES: dict[str, str] = {
    "esp-nn ops": "esp-tflite-micro tensorflow/lite/micro/kernels/esp_nn/: only add.cc, conv.cc, depthwise_conv.cc, "
                  "fully_connected.cc, mul.cc, pooling.cc, softmax.cc replace TFLM kernels; every other op is TFLM's "
                  "portable reference C",
    "add/mul broadcast": "esp-tflite-micro kernels/esp_nn/add.cc, mul.cc: ProcessBroadcastShapes (true when the two "
                         "inputs' flat sizes differ) -> reference_integer_ops::BroadcastAdd4DSlow / BroadcastMul4DSlow; "
                         "else esp_nn_add_elementwise_s8 / esp_nn_mul_elementwise_s8",
    "conv dilation": "esp-tflite-micro kernels/esp_nn/conv.cc EvalQuantizedPerChannel: dilation_width_factor == 1 and "
                     "dilation_height_factor == 1 -> esp_nn_conv_s8, else reference_integer_ops::ConvPerChannel",
    "conv groups": "esp-nn src/convolution/esp_nn_conv_esp32s3.c esp_nn_conv_s8_esp32s3: input channels != filter "
                   "channels (grouped) -> esp_nn_conv_s8_ansi",
    "conv 1x1": "esp-nn esp_nn_conv_esp32s3.c: 1x1, pad 0, stride 1: channels % 8 == 0 -> mult8 1x1 assembly, "
                "else esp_nn_conv_s8_1x1 (SIMD, any channel count)",
    "conv kxk": "esp-nn esp_nn_conv_esp32s3.c: 3x3 optimized path when esp_nn_conv_s8_3x3_can_use; filter_wd*ch < 16 "
                "and window >= 16 -> im2col + SIMD dot; else filter-aligned, input-padded assembly",
    "depthwise dilation": "esp-tflite-micro kernels/esp_nn/depthwise_conv.cc: dilation != 1 -> "
                          "reference_integer_ops::DepthwiseConvPerChannel",
    "depthwise simd": "esp-nn src/convolution/esp_nn_depthwise_conv_s8_esp32s3.c esp_nn_depthwise_conv_s8_esp32s3: "
                      "mult 1, width-1 input, (K,1) filter, stride_w 1, pad_w 0, channels % 16 == 0 -> s8 kx1 SIMD; "
                      "mult 1 and channels % 8 == 0 -> s8/s16 SIMD (3x3 or general); mult 1 and channels > 3 -> "
                      "channels padded to 8 by C loops, then s16 SIMD; mult % 8 or % 4 == 0 -> s16 SIMD; else "
                      "esp_nn_depthwise_conv_s8_opt (generic C)",
    "fully connected": "esp-tflite-micro kernels/esp_nn/fully_connected.cc calls esp_nn_fully_connected_s8 once per "
                       "batch row (input += accum_depth); esp-nn src/fully_connected/esp_nn_fully_connected_esp32s3.c: "
                       "s8 dot SIMD when row_len >= 192 + 16*(row_len % 16) (64 + 8*(row_len % 16) at input zero "
                       "point 0) and an aligned operand, else s16 assembly when the input is 8-byte aligned, else ANSI C",
    "sub": "esp-tflite-micro has no ESP-NN SUB: TFLM reference (BroadcastSub... when shapes differ)",
    "int16": "esp-tflite-micro conv.cc, depthwise_conv.cc, fully_connected.cc, add.cc: int16 activations -> TFLM "
             "reference kernels",
}

_FREE = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}


def _opts(op) -> dict:
    o = op.builtinOptions
    if o is None:
        return {}
    keys = ("strideH", "strideW", "dilationHFactor", "dilationWFactor", "padding", "depthMultiplier",
            "fusedActivationFunction")
    return {k: getattr(o, k) for k in keys if hasattr(o, k)}


def op_table(model) -> list[dict]:
    """Per op of subgraph 0: op, shapes, types, options, work (MACs or elements), groups, broadcast."""
    from ..export.tflite import _op_names, _type_name
    from ._inspect import op_costs

    sg = model.subgraphs[0]
    rows = []
    for k, (name, op, cost) in enumerate(zip(_op_names(model), sg.operators, op_costs(model))):
        shape = lambda i: [int(d) for d in sg.tensors[i].shape] if i >= 0 and sg.tensors[i].shape is not None else []  # noqa: E731
        ins = [shape(i) for i in op.inputs]
        outs = [shape(i) for i in op.outputs]
        in_type = _type_name(sg.tensors[op.inputs[0]].type) if len(op.inputs) and op.inputs[0] >= 0 else ""
        o = _opts(op)
        row = {"index": k, "op": name, "inputs": ins, "output": outs[0] if outs else [], "type": in_type,
               "macs": cost["macs"], "elements": cost["in_elements"] if name == "MEAN" else cost["out_elements"],
               "kernel": cost["kernel"], "stride": [o.get("strideH", 1), o.get("strideW", 1)],
               "dilation": [o.get("dilationHFactor", 1), o.get("dilationWFactor", 1)],
               "padding": "SAME" if o.get("padding", 1) == 0 else "VALID", "groups": 1, "broadcast": False,
               "depth_multiplier": o.get("depthMultiplier", 1) or 1}
        if name == "CONV_2D" and len(ins) > 1 and ins[0] and ins[1]:
            row["groups"] = ins[0][-1] // max(ins[1][-1], 1)
        if name in ("ADD", "SUB", "MUL") and len(ins) > 1:
            row["broadcast"] = int(np.prod(ins[0])) != int(np.prod(ins[1]))
        row["units"] = row["macs"] or row["elements"]
        rows.append(row)
    return rows


def _pads(r: dict) -> list[int]:
    """TFLM's leading padding (h, w) for a convolution row."""
    if r["padding"] == "VALID":
        return [0, 0]
    out = []
    for d in (0, 1):
        k = r["kernel"][d]
        eff = r["dilation"][d] * (k - 1) + 1
        total = max((r["output"][1 + d] - 1) * r["stride"][d] + eff - r["inputs"][0][1 + d], 0)
        out.append(total // 2)
    return out


def kernel_path(r: dict) -> tuple[str, str, str]:
    """(path, kernel, rule) for one row of :func:`op_table`.

    path: ``esp-nn`` (SIMD), ``esp-nn-slow`` (ESP-NN's C fallbacks or channel padding),
    ``reference`` (TFLM portable C), ``free`` (a reshape: a copy at most).
    """
    op = r["op"]
    if op in _FREE:
        return "free", "reshape (memcpy when the buffers differ)", "esp-nn ops"
    if r["type"] == "INT16" and op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL"):
        return "reference", f"TFLM reference {op} (int16)", "int16"
    if op == "CONV_2D":
        if r["dilation"] != [1, 1]:
            return "reference", "reference_integer_ops::ConvPerChannel (dilated)", "conv dilation"
        if r["groups"] > 1:
            return "esp-nn-slow", f"esp_nn_conv_s8_ansi (grouped, {r['groups']} groups)", "conv groups"
        c = r["inputs"][0][-1]
        if r["kernel"] == [1, 1] and _pads(r) == [0, 0] and r["stride"] == [1, 1]:
            kern = "mult8 1x1 assembly" if c % 8 == 0 else "esp_nn_conv_s8_1x1 (channels not % 8)"
            return "esp-nn", kern, "conv 1x1"
        if r["kernel"][1] * c < 16 and r["kernel"][0] * r["kernel"][1] * c >= 16:
            return "esp-nn", "im2col + SIMD dot", "conv kxk"
        return "esp-nn", "3x3 optimized or filter-aligned padded assembly", "conv kxk"
    if op == "DEPTHWISE_CONV_2D":
        if r["dilation"] != [1, 1]:
            return "reference", "reference_integer_ops::DepthwiseConvPerChannel (dilated)", "depthwise dilation"
        c, m = r["inputs"][0][-1], r["depth_multiplier"]
        if m == 1 and c % 8 == 0:
            return "esp-nn", "depthwise s8/s16 SIMD (mult 1, channels % 8 == 0)", "depthwise simd"
        if m == 1 and c > 3:
            return "esp-nn-slow", f"channels {c} padded to {(c + 7) // 8 * 8} by C loops, then s16 SIMD", "depthwise simd"
        if m % 4 == 0:
            return "esp-nn", f"depthwise s16 SIMD (multiplier {m})", "depthwise simd"
        return "esp-nn-slow", "esp_nn_depthwise_conv_s8_opt (generic C)", "depthwise simd"
    if op == "FULLY_CONNECTED":
        depth = r["inputs"][1][-1] if len(r["inputs"]) > 1 and r["inputs"][1] else 0
        batches = r["macs"] // max(depth * r["output"][-1], 1) if depth else 1
        if batches > 1 and depth % 8:
            return "esp-nn-slow", "esp_nn_fully_connected_s8 ANSI C (rows after the first not 8-byte aligned)", \
                "fully connected"
        return "esp-nn", "esp_nn_fully_connected_s8 (s8 dot or s16 SIMD)", "fully connected"
    if op in ("ADD", "MUL"):
        if r["broadcast"]:
            return "reference", f"reference_integer_ops::Broadcast{op.title()}4DSlow (broadcast)", "add/mul broadcast"
        return "esp-nn", f"esp_nn_{op.lower()}_elementwise_s8", "add/mul broadcast"
    if op in ("MAX_POOL_2D", "AVERAGE_POOL_2D", "SOFTMAX"):
        return "esp-nn", f"ESP-NN {op.lower()}", "esp-nn ops"
    if op == "SUB":
        return "reference", "TFLM reference SUB" + (" (broadcast)" if r["broadcast"] else ""), "sub"
    return "reference", f"TFLM reference {op}", "esp-nn ops"


def _fast_rate(r: dict) -> str:
    op = r["op"]
    if op == "CONV_2D":
        return "conv 1x1" if r["kernel"] == [1, 1] else "conv kxk"
    return {"DEPTHWISE_CONV_2D": "depthwise", "FULLY_CONNECTED": "fully connected", "ADD": "add", "MUL": "mul",
            "MAX_POOL_2D": "max pool", "AVERAGE_POOL_2D": "avg pool", "SOFTMAX": "softmax"}[op]


# ------------------------------------------------------------------ callgrind
_EVAL_OPS = {"ConvEval": "CONV_2D", "DepthwiseConvEval": "DEPTHWISE_CONV_2D", "EvalMean": "MEAN", "EvalSum": "SUM",
             "EvalMax": "REDUCE_MAX", "EvalMin": "REDUCE_MIN", "EvalReshapeReference": "RESHAPE",
             "EvalQuantizeReference": "QUANTIZE", "AverageEval": "AVERAGE_POOL_2D", "MaxEval": "MAX_POOL_2D",
             "Relu6Eval": "RELU6", "L2Eval": "L2_POOL_2D", "EvalSvdf": "SVDF", "SplitVEval": "SPLIT_V",
             "PadEval": "PAD", "MirrorPadEval": "MIRROR_PAD"}


def _eval_op(name: str) -> str:
    if name in _EVAL_OPS:
        return _EVAL_OPS[name]
    base = name[:-4] if name.endswith("Eval") else name
    return re.sub(r"(?<!^)(?=[A-Z])", "_", base).upper()


def _callgrind(path: Path, invokes: int, out: Path) -> None:
    script = Path(__file__).with_name("_tflm_invoke.py")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(script), str(path),
           str(invokes)]
    res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"PYTHONHASHSEED": "0"})
    if res.returncode != 0:
        raise RuntimeError(f"callgrind failed on {path.name}: {res.stderr.strip().splitlines()[-1:]}")


def _annotate(out: Path) -> tuple[int, dict[str, list[int]], int]:
    """(program total, {Eval name: [inclusive Ir, calls]} under InvokeSubgraph, InvokeSubgraph inclusive Ir)."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=calling", "--threshold=100", str(out)],
                          capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))
    evals: dict[str, list[int]] = {}
    invoke = 0
    block = re.search(r"\n\s*([\d,]+) \([^)]*\)\s+\*\s+\?\?\?:tflite::micro::MicroInterpreterGraph::InvokeSubgraph"
                      r"\(int\) \[[^\n]*\n((?:\s+[\d,]+ \([^)]*\)\s+>[^\n]*\n)*)", text)
    if block:
        invoke = int(block.group(1).replace(",", ""))
        for line in block.group(2).splitlines():
            m = re.match(r"\s*([\d,]+) .*?>\s+\?\?\?:(?:tflite::)?(?:micro::)?(?:\(anonymous namespace\)::)?"
                         r"(\w+)\(tflite::micro::TfLiteContext\*, tflite::micro::TfLiteNode\*\) \(([\d,]+)x\)", line)
            if m:
                row = evals.setdefault(m.group(2), [0, 0])
                row[0] += int(m.group(1).replace(",", ""))
                row[1] += int(m.group(3).replace(",", ""))
    return total, evals, invoke


def callgrind_instructions_per_step(path: str | Path, invokes: int = 10) -> dict:
    """x86 instructions per step of a .tflite under TFLM's Python interpreter, counted by callgrind.

    Two runs of the same child process, ``invokes`` Invoke calls and none: their difference,
    divided by ``invokes``, is the step's cost with loading, imports and allocation cancelled
    (repeatable whatever the machine's load). Returns ``{"instructions_per_step", "invokes",
    "totals": [with, without], "by_op": {op: {"instructions_per_step", "calls_per_step",
    "eval"}}, "dispatch_per_step"}``: ``by_op`` holds the inclusive count of each kernel's Eval
    called from the interpreter's loop; ``dispatch_per_step`` the loop's own share.
    Needs valgrind (``apt-get install valgrind``).
    """
    path = Path(path)
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        raise RuntimeError("valgrind is not installed; install it (apt-get install valgrind) to count instructions.")
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for n in (invokes, 0):
            out = Path(tmp) / f"cg{n}.out"
            _callgrind(path, n, out)
            runs[n] = _annotate(out)
    (t_n, evals, invoke), (t_0, _, _) = runs[invokes], runs[0]
    by_op: dict[str, dict] = {}
    for name, (ir, calls) in evals.items():
        row = by_op.setdefault(_eval_op(name), {"instructions_per_step": 0.0, "calls_per_step": 0.0, "eval": name})
        row["instructions_per_step"] += ir / invokes
        row["calls_per_step"] += calls / invokes
    kernels = sum(r["instructions_per_step"] for r in by_op.values())
    return {"instructions_per_step": (t_n - t_0) / invokes, "invokes": invokes, "totals": [t_n, t_0],
            "interpreter_invoke_per_step": invoke / invokes, "kernels_per_step": kernels,
            "dispatch_per_step": invoke / invokes - kernels, "by_op": by_op}


# ------------------------------------------------------------------ the profile
def _arena_bytes(path: Path) -> int:
    """TFLM's arena for the model, from a child process (TFLM's Python extension must not share one with TF)."""
    code = ("import json, sys\nfrom gtcrn_micro.export.tflite import tflm_arena_report\n"
            "print(json.dumps(tflm_arena_report(sys.argv[1])))")
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()]
        raise ValueError(f"TFLite Micro cannot load {path.name}: {lines[-1] if lines else 'it crashed'}")
    return int(json.loads(res.stdout.strip().splitlines()[-1])["total"])


def s3_profile(path: str | Path, model: str = "micro", measure: bool = False, invokes: int = 5,
               arena: bool = True, cpu_mhz: int = CPU_MHZ) -> dict:
    """The ESP32-S3 cost of one step of an int8 .tflite, per op and in total (an estimate).

    ``measure``: count this model's own reference-kernel instructions with callgrind (needs
    valgrind; about a minute); otherwise use ``REFERENCE_X86``, measured on the shipped
    micro_int8.tflite. ``model`` names the config whose front/back end (STFT, ERB, iSTFT) is
    added. Raises ``ValueError`` (one sentence) on a file that is not a readable .tflite.
    """
    from ..config import get_config
    from ..export.opcheck import graph_findings
    from ..export.tflite import read_tflite_checked, strip_tensor_names
    from .budget import _dsp_cycles

    path = Path(path)
    tfl, data = read_tflite_checked(path)  # one sentence (ValueError, FileNotFoundError) for a bad file
    rows = op_table(tfl)
    cal = CALIBRATION
    if not cal or math.isnan(cal["factor_central"]):
        raise FileNotFoundError(f"{CALIBRATION_PATH} is missing; run `python scripts/profile_esp32s3.py` to write it.")
    measured = callgrind_instructions_per_step(path, invokes) if measure else None
    x86_rate: dict[str, tuple[float, str]] = {}
    units_by_op: dict[str, int] = {}
    for r in rows:
        units_by_op[r["op"]] = units_by_op.get(r["op"], 0) + r["units"]
    for op, units in units_by_op.items():
        if measured and op in measured["by_op"] and units:
            x86_rate[op] = (measured["by_op"][op]["instructions_per_step"] / units, "callgrind on this model")
        elif op in REFERENCE_X86:
            x86_rate[op] = (REFERENCE_X86[op], "callgrind on micro_int8.tflite")
        else:
            x86_rate[op] = (ASSUMED_X86_PER_ELEMENT, "assumed")
    dispatch_x86 = (measured["dispatch_per_step"] / max(len(rows), 1)) if measured else cal["dispatch_x86_per_op"]
    factors = (cal["factor_low"], cal["factor_central"], cal["factor_high"])
    ops = []
    for r in rows:
        path_name, kernel, rule = kernel_path(r)
        if path_name == "esp-nn":
            key = _fast_rate(r)
            lo, hi, unit, src = ESPNN_FAST[key]
            rate = [lo, math.sqrt(lo * hi), hi]
            source = src
        else:
            x86, how = x86_rate[r["op"]]
            rate = [x86 * f for f in factors]
            unit = "MAC" if r["macs"] else "element"
            source = f"{x86:.3g} x86 instructions/{unit} ({how}) x {factors[1]:.3g} S3 cycles/instruction " \
                     f"({factors[0]:.3g}-{factors[2]:.3g})"
        cycles = [r["units"] * x + dispatch_x86 * f for x, f in zip(rate, factors)]
        ops.append({"index": r["index"], "op": r["op"], "path": path_name, "kernel": kernel, "rule": rule,
                    "units": r["units"], "unit": "MAC" if r["macs"] else "element",
                    "cycles": [int(c) for c in cycles], "rate": [round(x, 3) for x in rate], "source": source})
    cfg = get_config(model)
    dsp = _dsp_cycles(cfg)
    dsp3 = [dsp["cycles"][0], math.sqrt(dsp["cycles"][0] * dsp["cycles"][1]), dsp["cycles"][1]]
    graph = [sum(o["cycles"][i] for o in ops) for i in range(3)]
    total = [g + d for g, d in zip(graph, dsp3)]
    hop_ms = cfg.audio.hop_ms
    budget = hop_ms * 1e-3 * cpu_mhz * 1e6
    hist: dict[str, int] = {}
    for r in rows:
        hist[r["op"]] = hist.get(r["op"], 0) + 1
    paths: dict[str, int] = {}
    for o in ops:
        paths[o["path"]] = paths.get(o["path"], 0) + 1
    not_fast = sum(1 for o in ops if o["path"] in ("reference", "esp-nn-slow"))
    result = {
        "tflite": path.name, "model": model, "cpu_mhz": cpu_mhz, "hop_ms": hop_ms,
        "ops": len(rows),
        "reference_kernel_ops": sum(1 for o in ops if o["path"] == "reference"),
        "slow_path_ops": not_fast,
        "paths": paths,
        "macs": int(sum(r["macs"] for r in rows)),
        "graph_cycles": [int(g) for g in graph], "dsp_cycles": [int(d) for d in dsp3],
        "total_cycles": [int(t) for t in total],
        "ms_per_hop_low": round(total[0] / (cpu_mhz * 1e3), 3),
        "ms_per_hop_central": round(total[1] / (cpu_mhz * 1e3), 3),
        "ms_per_hop_high": round(total[2] / (cpu_mhz * 1e3), 3),
        "core_share_low": round(total[0] / budget, 4),
        "core_share_central": round(total[1] / budget, 4),
        "core_share_high": round(total[2] / budget, 4),
        "arena_bytes": _arena_bytes(path) if arena else None,
        "model_bytes": len(strip_tensor_names(data)),
        "transpose_ops": hist.get("TRANSPOSE", 0),
        "grouped_convs": sum(1 for r in rows if r["groups"] > 1),
        "dilated_convs": sum(1 for r in rows if r["dilation"] != [1, 1]),
        "broadcast_binary_ops": sum(1 for r in rows if r["broadcast"]),
        "logistic_tanh_ops": hist.get("LOGISTIC", 0) + hist.get("TANH", 0),
        "slow_path_findings": graph_findings(data),  # the export check's list: each avoidable slow op, named
        "op_histogram": dict(sorted(hist.items(), key=lambda kv: -kv[1])),
        "x86_instructions_per_step": round(measured["instructions_per_step"]) if measured else None,
        "calibration": {k: cal[k] for k in ("factor_low", "factor_central", "factor_high", "dispatch_x86_per_op")},
        "per_op": ops,
        "note": ("An estimate, not a measurement: ESP-NN kernels from ESP-NN's published ESP32-S3 ticks, reference "
                 "kernels from x86 instructions counted by callgrind under TFLM's Python interpreter times one S3 "
                 f"cycles/instruction factor ({factors[0]:.3g}-{factors[2]:.3g}, central {factors[1]:.3g}) calibrated "
                 "on ESP-NN's ANSI-C rows; low-high is the spread of those rates, about "
                 f"{total[2] / max(total[0], 1):.1f}x wide. Totals include the float front/back end (STFT, ERB, "
                 "iSTFT) per hop, and a share of one 240 MHz core per 16 ms hop."),
    }
    return result


def profile_table(p: dict) -> str:
    """The per-op table and totals as plain text (what ``gtcrn-micro profile --target esp32s3`` prints)."""
    lines = [f"{p['tflite']}: {p['ops']} ops per step, {p['reference_kernel_ops']} on TFLM reference kernels, "
             f"{p['slow_path_ops'] - p['reference_kernel_ops']} on ESP-NN C fallbacks; {p['macs']:,} MACs",
             f"{'#':>4} {'op':<18} {'path':<12} {'MACs/elements':>14} {'cycles low':>11} {'central':>10} {'high':>10}  "
             "rate source"]
    for o in p["per_op"]:
        lines.append(f"{o['index']:>4} {o['op']:<18} {o['path']:<12} {o['units']:>10,} {o['unit'][:4]:<3} "
                     f"{o['cycles'][0]:>11,} {o['cycles'][1]:>10,} {o['cycles'][2]:>10,}  {o['source'][:90]}")
    g, d, t = p["graph_cycles"], p["dsp_cycles"], p["total_cycles"]
    lines += [f"graph: {g[0]:,} / {g[1]:,} / {g[2]:,} cycles; front/back end (float DSP): {d[0]:,} / {d[1]:,} / "
              f"{d[2]:,}; total {t[0]:,} / {t[1]:,} / {t[2]:,}",
              f"per {p['hop_ms']:g} ms hop at {p['cpu_mhz']} MHz: {p['ms_per_hop_low']:.2f} / "
              f"{p['ms_per_hop_central']:.2f} / {p['ms_per_hop_high']:.2f} ms (low / central / high) = "
              f"{p['core_share_low']:.0%} / {p['core_share_central']:.0%} / {p['core_share_high']:.0%} of one core",
              f"arena {p['arena_bytes']} bytes, model {p['model_bytes']:,} bytes (names stripped); TRANSPOSE "
              f"{p['transpose_ops']}, grouped convs {p['grouped_convs']}, dilated convs {p['dilated_convs']}, "
              f"broadcasting ADD/MUL/SUB {p['broadcast_binary_ops']}, LOGISTIC+TANH {p['logistic_tanh_ops']}"]
    found = p.get("slow_path_findings") or []
    lines += [f"avoidable slow-path op {f['index']} {f['op']}: {f['kind']} ({f['detail']})" for f in found[:20]]
    if len(found) > 20:
        lines.append(f"... and {len(found) - 20} more avoidable slow-path ops")
    lines.append(p["note"])
    return "\n".join(lines)


def profile_markdown(p: dict, command: str = "") -> str:
    """The profile as Markdown (benchmarks/deploy/s3_profile_*.md)."""
    lines = [f"# ESP32-S3 cost of `{p['tflite']}`, one {p['hop_ms']:g} ms hop at {p['cpu_mhz']} MHz", "",
             f"Generated by `{command or 'scripts/profile_esp32s3.py'}`. **An estimate**; method in "
             "`gtcrn_micro/deploy/s3cost.py` and `s3_calibration.md`.", "",
             "| what | value |", "|---|---|",
             f"| ops per step | {p['ops']} |", f"| on TFLM reference kernels | {p['reference_kernel_ops']} |",
             f"| on ESP-NN C fallbacks | {p['slow_path_ops'] - p['reference_kernel_ops']} |",
             f"| TRANSPOSE / grouped conv / dilated conv | {p['transpose_ops']} / {p['grouped_convs']} / {p['dilated_convs']} |",
             f"| broadcasting ADD/MUL/SUB | {p['broadcast_binary_ops']} |",
             f"| LOGISTIC + TANH | {p['logistic_tanh_ops']} |",
             f"| TFLM arena / model bytes | {p['arena_bytes']:,} / {p['model_bytes']:,} |",
             f"| ms per hop (low / central / high) | {p['ms_per_hop_low']:.2f} / {p['ms_per_hop_central']:.2f} / "
             f"{p['ms_per_hop_high']:.2f} |",
             f"| share of one core (low / central / high) | {p['core_share_low']:.0%} / {p['core_share_central']:.0%} / "
             f"{p['core_share_high']:.0%} |"]
    if p.get("x86_instructions_per_step"):
        lines.append(f"| x86 instructions per step (TFLM Python, callgrind) | {p['x86_instructions_per_step']:,} |")
    lines += ["", p["note"], "", "## By op type", "",
              "| op | count | path(s) | MACs or elements | cycles central | share |", "|---|---|---|---|---|---|"]
    by: dict[str, dict] = {}
    for o in p["per_op"]:
        b = by.setdefault(o["op"], {"n": 0, "paths": set(), "units": 0, "c": 0})
        b["n"] += 1
        b["paths"].add(o["path"])
        b["units"] += o["units"]
        b["c"] += o["cycles"][1]
    for op, b in sorted(by.items(), key=lambda kv: -kv[1]["c"]):
        lines.append(f"| {op} | {b['n']} | {', '.join(sorted(b['paths']))} | {b['units']:,} | {b['c']:,} | "
                     f"{b['c'] / p['total_cycles'][1]:.0%} |")
    lines += [f"| float front/back end | - | host DSP | - | {p['dsp_cycles'][1]:,} | "
              f"{p['dsp_cycles'][1] / p['total_cycles'][1]:.0%} |", "", "## Per op", "",
              "| # | op | path | kernel | units | cycles low / central / high |", "|---|---|---|---|---|---|"]
    for o in p["per_op"]:
        lines.append(f"| {o['index']} | {o['op']} | {o['path']} | {o['kernel']} | {o['units']:,} {o['unit']}s | "
                     f"{o['cycles'][0]:,} / {o['cycles'][1]:,} / {o['cycles'][2]:,} |")
    lines += ["", "## Rules (where each was read)", ""]
    lines += [f"- **{k}**: {v}" for k, v in RULES.items()]
    return "\n".join(lines) + "\n"
