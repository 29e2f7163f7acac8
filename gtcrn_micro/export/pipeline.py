"""The whole export: torch -> ONNX -> onnx2tf -> float / int8 / 16x8 TFLite, each checked against the stage before.

``export_model(model, out_dir, trace)`` writes ``step.onnx``, ``step_float.tflite``,
``step_int8.tflite``, ``step_int16x8.tflite`` and ``report.json`` (parity SNRs, ops, sizes,
arena bytes) into ``out_dir``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from torch import nn

from .graph import StepGraph, export_onnx, run_onnx_stream, to_step_layout
from .runtime import TFLiteStep
from .tflite import (KINDS, RANGE_CHOICES, ExportError, check_full_integer, check_tflm_ops, drop_output_transposes,
                     model_summary, onnx_to_saved_model, quantize, tie_state_quantization)
from .opcheck import check_s3_graph, count_findings, graph_findings
from .tflm_run import run_tflm_isolated

__all__ = ["snr_db", "export_model", "load_step", "int8_snr", "int8_snr_with_calibration"]


def snr_db(ref: np.ndarray, est: np.ndarray) -> float:
    """SNR (dB) of ``est`` against ``ref`` over all elements."""
    ref, est = np.asarray(ref, np.float64), np.asarray(est, np.float64)
    err = np.sum((ref - est) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(np.sum(ref**2) / err))


def load_step(path: str | Path, model: nn.Module, runtime: str = "litert") -> TFLiteStep:
    """Open an exported step of ``model`` (for its shapes) in LiteRT or TFLM."""
    graph = StepGraph(model)
    shapes = graph.input_shapes()
    mask_shape = (1, 2, 1, shapes["feat"][-1])
    return TFLiteStep(path, shapes, mask_shape, runtime=runtime)


def export_model(model: nn.Module, out_dir: str | Path, trace: dict[str, np.ndarray], kinds=KINDS,
                 min_float_snr_db: float = 60.0, keep_saved_model: bool = False, ranges: str = "clipped",
                 tail: float = 1e-4) -> dict:
    """Export ``model``'s streaming step and check every stage; returns (and writes) the report.

    ``trace``: from :func:`~gtcrn_micro.export.graph.record_trace` on real noisy speech; it is the
    calibration data of the integer models and the reference of every parity check.
    ``ranges``/``tail``: how int8 activation ranges are chosen (see :func:`~.tflite.quantize`).
    Raises :class:`ExportError` when ONNX or float TFLite drift from torch by more than
    ``min_float_snr_db``, or when an integer model has float tensors, ops TFLM lacks, or states
    whose input and output scales differ.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    graph = StepGraph(model)
    ref = trace["mask"]
    report: dict = {"inputs": graph.input_shapes(), "calibration_frames": int(len(ref))}

    onnx_path = export_onnx(model, out / "step.onnx")
    report["onnx_snr_db"] = snr_db(ref, run_onnx_stream(onnx_path, trace, graph.state_names))
    if report["onnx_snr_db"] < min_float_snr_db:
        raise ExportError(f"ONNX step differs from torch: {report['onnx_snr_db']:.1f} dB SNR.")

    keep = graph.input_names if graph.layout == "nchw" else []
    saved = onnx_to_saved_model(onnx_path, out / "saved_model", keep)
    qtrace = to_step_layout(trace, graph.input_names, graph.layout)  # what the converter's calibration feeds
    for kind in kinds:
        path = out / f"step_{kind}.tflite"
        if kind == "float":  # re-converted (not onnx2tf's own file) so that it carries the signature
            data = quantize(saved, "float")
            path.write_bytes(drop_output_transposes(data)[0] if graph.layout == "nhwc" else data)
        else:
            data = quantize(saved, kind, qtrace, graph.input_names, ranges=ranges, tail=tail)
            if graph.layout == "nhwc":
                data = drop_output_transposes(data)[0]
            data, retied = tie_state_quantization(data, graph.state_names, graph.output_names)
            path.write_bytes(data)
            check_full_integer(data)
            report.setdefault("slow_path_ops", {})[kind] = count_findings(graph_findings(data))
            if graph.layout == "nhwc" and kind == "int8":  # a model built for the S3 must stay on its fast kernels
                check_s3_graph(data, path.name)
            report.setdefault("retied_states", {})[kind] = sorted(retied)
        check_tflm_ops(path.read_bytes())
        summary = model_summary(path.read_bytes())
        entry = {"bytes": path.stat().st_size, "ops": summary["ops"], "n_ops": summary["n_ops"]}
        if kind == "int8":
            entry["ranges"] = RANGE_CHOICES[ranges].format(tail=tail)
        step = load_step(path, model, "litert")
        if step.integer and step.state_mismatches():
            raise ExportError(f"{path.name}: state scales still differ for {step.state_mismatches()}.")
        masks = step.stream(trace["feat"], trace["start"])
        entry["snr_vs_torch_db"] = snr_db(ref, masks)
        if kind == "float" and entry["snr_vs_torch_db"] < min_float_snr_db:
            raise ExportError(f"Float TFLite differs from torch: {entry['snr_vs_torch_db']:.1f} dB SNR.")
        try:
            tflm = run_tflm_isolated(path, graph.input_shapes(), step.want["mask"], trace["feat"], trace["start"])
            entry["tflm_arena_bytes"], tflm_masks = tflm["arena_bytes"], tflm["masks"]
            entry["tflm_arena"] = tflm["arena"]  # head (planned activations) / tail (per-op and per-tensor data)
            entry["tflm_identical_to_litert"] = bool(np.array_equal(tflm_masks, masks))
            entry["tflm_equal_fraction"] = float(np.mean(tflm_masks == masks))  # share of mask values equal
            entry["tflm_snr_vs_litert_db"] = snr_db(masks, tflm_masks)
            entry["tflm_snr_vs_torch_db"] = snr_db(ref, tflm_masks)
        except ExportError as err:
            entry["tflm_error"] = str(err)
        report[kind] = entry
    if not keep_saved_model:
        shutil.rmtree(saved, ignore_errors=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str))
    return report


def int8_snr(data: bytes, model: nn.Module, trace: dict[str, np.ndarray], path: str | Path) -> float:
    """Tie the states of int8 model ``data``, write it to ``path``, stream ``trace``; SNR (dB) vs the float masks."""
    graph = StepGraph(model)
    data, _ = tie_state_quantization(data, graph.state_names, graph.output_names)
    Path(path).write_bytes(data)
    return snr_db(trace["mask"], load_step(path, model).stream(trace["feat"], trace["start"]))


def int8_snr_with_calibration(saved_model: str | Path, model: nn.Module, calibration: dict[str, np.ndarray],
                              trace: dict[str, np.ndarray], path: str | Path, ranges: str = "clipped") -> float:
    """Quantize to int8 with ``calibration`` data, stream ``trace`` through it; SNR (dB) vs the float masks.

    The book uses it to show what calibrating on the wrong data does.
    """
    graph = StepGraph(model)
    calibration = to_step_layout(calibration, graph.input_names, graph.layout)
    return int8_snr(quantize(saved_model, "int8", calibration, graph.input_names, ranges=ranges), model, trace, path)
