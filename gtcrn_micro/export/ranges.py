"""Activation ranges for int8 measured by us, not taken from the converter's calibrator (chapter 5).

The TFLite converter quantizes in two steps: *calibrate* (run the float model on the
representative data and record each tensor's min and max) and *quantize* (turn each range into a
scale and zero point). For this model the recorded ranges of some tensors are far wider than any
value the tensor ever holds: ``measure_ranges`` finds, for the micro model, sigmoid outputs
recorded as [-3.4, 4.2] and tensors whose recorded range is up to 19x the range they really
take. A range 19x too wide spends 4 of int8's 8 bits on values that never occur.

The recipe here keeps the converter's own quantizer and replaces only its ranges:

1. :func:`calibrate_only`: the converter's calibration step, which gives a float model that
   carries a (min, max) per activation tensor;
2. :func:`measure_ranges`: run that float model on the same representative data with every tensor
   preserved, and histogram what each tensor holds;
3. :func:`clipped_ranges`: each tensor's range covers all but a ``tail`` share (1e-4 by default)
   of its values on each side: a handful of outliers no longer set the step for everything else;
   :func:`limit_to_saturation` then keeps the input of each sigmoid and tanh inside the interval
   where the op's int8 output still changes (beyond it, the output is the same last level);
4. :func:`quantize_with_ranges`: write the ranges into the calibrated model and run the
   converter's quantizer (the same MLIR quantizer ``TFLiteConverter`` calls) on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tflite import ExportError, read_model, write_model

__all__ = ["TensorRange", "calibrate_only", "measure_ranges", "clipped_ranges", "saturation_limits",
           "limit_to_saturation", "apply_ranges",
           "quantize_with_ranges"]


@dataclass
class TensorRange:
    """What one activation tensor holds: the converter's recorded range and a histogram over it."""

    name: str
    recorded: tuple[float, float]  # (min, max) the converter's calibrator recorded
    hist: np.ndarray  # counts in equal bins over ``recorded``; values outside go to the end bins
    seen: tuple[float, float]  # (min, max) of the values the tensor really held

    @property
    def inflation(self) -> float:
        """Recorded range width over the width of what was really seen (1.0 = exact)."""
        width = self.seen[1] - self.seen[0]
        return float("inf") if width <= 0 else (self.recorded[1] - self.recorded[0]) / width


def _representative(trace: dict[str, np.ndarray], input_names: list[str]):
    n = len(trace["feat"])

    def gen():
        for t in range(n):
            yield {k: trace[k][t : t + 1] for k in input_names}

    return gen


def calibrate_only(saved_model, trace: dict[str, np.ndarray], input_names: list[str]) -> bytes:
    """The converter's calibration step alone: a float TFLite model with a recorded (min, max) per tensor."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_model))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = _representative(trace, input_names)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    conv._experimental_calibrate_only = True  # stop after calibration (the converter's own switch)
    return bytes(conv.convert())


def _range_tensors(sg) -> list[int]:
    """Indices of activation tensors (graph inputs and op outputs) that carry one recorded (min, max)."""
    produced = set(sg.inputs) | {o for op in sg.operators for o in op.outputs}
    out = []
    for i in sorted(produced):
        q = sg.tensors[i].quantization
        if q is not None and q.min is not None and len(q.min) == 1 and q.max is not None and len(q.max) == 1:
            out.append(i)
    return out


def measure_ranges(calibrated: bytes, trace: dict[str, np.ndarray], input_names: list[str],
                   bins: int = 4096, every: int = 1) -> dict[int, TensorRange]:
    """Stream the trace through the calibrated float model; histogram every activation tensor.

    Every ``every``-th recorded step is fed with the recorded inputs (feature frame and the float
    model's own states). Returns tensor index -> :class:`TensorRange`.
    """
    import tensorflow as tf

    model = read_model(calibrated)
    sg = model.subgraphs[0]
    idx = _range_tensors(sg)
    if not idx:
        raise ExportError("The calibrated model carries no recorded ranges; was it made by calibrate_only?")
    ins = {t.name.decode(): t.tensorIndex for t in model.signatureDefs[0].inputs}
    it = tf.lite.Interpreter(model_content=calibrated, experimental_preserve_all_tensors=True,
                             experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    details = it.get_input_details()
    feed = {k: details[list(sg.inputs).index(ins[k])]["index"] for k in input_names}
    rec = {i: (float(sg.tensors[i].quantization.min[0]), float(sg.tensors[i].quantization.max[0])) for i in idx}
    hist = {i: np.zeros(bins, np.int64) for i in idx}
    lo = {i: np.inf for i in idx}
    hi = {i: -np.inf for i in idx}
    for t in range(0, len(trace["feat"]), every):
        for k in input_names:
            it.set_tensor(feed[k], trace[k][t : t + 1])
        it.invoke()
        for i in idx:
            x = it.get_tensor(i).ravel()
            a, b = rec[i]
            lo[i], hi[i] = min(lo[i], float(x.min())), max(hi[i], float(x.max()))
            if b > a:
                k = np.clip(((x - a) * (bins / (b - a))).astype(np.int64), 0, bins - 1)
                hist[i] += np.bincount(k, minlength=bins)
    return {i: TensorRange(sg.tensors[i].name.decode(), rec[i], hist[i], (lo[i], hi[i])) for i in idx}


def clipped_ranges(stats: dict[int, TensorRange], tail: float = 1e-4) -> dict[int, tuple[float, float]]:
    """Per tensor, the range that leaves out ``tail`` of the values on each side (0 = exact min and max)."""
    out = {}
    for i, r in stats.items():
        a, b = r.recorded
        n = r.hist.sum()
        if n == 0 or b <= a:
            continue
        if tail <= 0:
            out[i] = r.seen
            continue
        cum = np.cumsum(r.hist) / n
        bins = len(r.hist)
        k0 = int(np.searchsorted(cum, tail, side="right"))
        k1 = int(np.searchsorted(cum, 1 - tail, side="left"))
        lo = max(a + (b - a) * k0 / bins, r.seen[0])
        hi = min(a + (b - a) * (k1 + 1) / bins, r.seen[1])
        out[i] = (lo, hi) if hi > lo else r.seen
    return out


# Beyond these inputs the int8 output of the op no longer changes: LOGISTIC's output step is 1/256,
# and sigmoid(x) rounds to its last level for |x| > 6.3; TANH's step is 1/128 and tanh(x) rounds to
# its last level for |x| > 2.6. A wider input range only makes the input steps coarser.
SATURATION = {"LOGISTIC": 8.0, "TANH": 4.0}


def saturation_limits(calibrated: bytes) -> dict[int, float]:
    """Tensor index -> bound, for tensors read only by ops that saturate (sigmoid, tanh) beyond it."""
    from .tflite import _op_names

    model = read_model(calibrated)
    sg = model.subgraphs[0]
    readers: dict[int, list[str]] = {}
    for op, name in zip(sg.operators, _op_names(model)):
        for i in op.inputs:
            if i >= 0:
                readers.setdefault(i, []).append(name)
    outputs = set(sg.outputs)
    return {i: max(SATURATION[n] for n in names) for i, names in readers.items()
            if i not in outputs and all(n in SATURATION for n in names)}


def limit_to_saturation(ranges: dict[int, tuple[float, float]], limits: dict[int, float]) -> dict[int, tuple[float, float]]:
    """``ranges`` with every tensor in ``limits`` kept inside [-bound, bound] (it must still hold 0)."""
    out = dict(ranges)
    for i, bound in limits.items():
        if i in out:
            lo, hi = out[i]
            out[i] = (max(lo, -bound), min(hi, bound))
    return out


def apply_ranges(calibrated: bytes, ranges: dict[int, tuple[float, float]]) -> bytes:
    """The calibrated model with each listed tensor's recorded (min, max) replaced."""
    model = read_model(calibrated)
    sg = model.subgraphs[0]
    for i, (lo, hi) in ranges.items():
        sg.tensors[i].quantization.min = [float(lo)]
        sg.tensors[i].quantization.max = [float(hi)]
    return write_model(model)


def quantize_with_ranges(calibrated: bytes, ranges: dict[int, tuple[float, float]] | None = None) -> bytes:
    """Full-integer int8 model (int8 inputs and outputs) from a calibrated model, with ``ranges`` if given.

    Calls the MLIR quantizer with the arguments ``TFLiteConverter`` uses for full-integer int8, so
    ``ranges=None`` gives the converter's own result.
    """
    import tensorflow as tf
    from tensorflow.lite.python.convert import mlir_quantize

    data = apply_ranges(calibrated, ranges) if ranges else calibrated
    return bytes(mlir_quantize(data, disable_per_channel=False, input_data_type=tf.int8, output_data_type=tf.int8))


def plot_ranges(stats: dict[int, TensorRange], ranges: dict[int, tuple[float, float]] | None = None):
    """Per tensor: width of the recorded range against the width of what it really held (log-log).

    With ``ranges`` (from :func:`clipped_ranges`), the clipped widths are drawn too. Returns the figure.
    """
    from ..audio.plots import new_figure

    keys = [i for i, r in stats.items() if r.seen[1] > r.seen[0]]
    seen = np.array([stats[i].seen[1] - stats[i].seen[0] for i in keys])
    rec = np.array([stats[i].recorded[1] - stats[i].recorded[0] for i in keys])
    fig, ax = new_figure(figsize=(6, 4.2))
    ax.loglog(seen, rec, "o", ms=3, alpha=0.6, label="recorded by the converter's calibrator")
    if ranges:
        clip = np.array([ranges[i][1] - ranges[i][0] if i in ranges else np.nan for i in keys])
        ax.loglog(seen, clip, "x", ms=3, alpha=0.6, label="clipped (ours)")
    lim = [min(seen.min(), rec.min()) * 0.8, max(seen.max(), rec.max()) * 1.25]
    ax.plot(lim, lim, "k--", lw=0.8, label="= what the tensor held")
    ax.set_xlabel("width of the values the tensor held")
    ax.set_ylabel("width of the quantization range")
    ax.legend(fontsize=8)
    return fig
