"""Export (chapter 6): the streaming step to ONNX, float / int8 / 16x8 TFLite, and TFLite Micro."""

from .calibration import calibration_mixtures, calibration_trace, sample_mixtures, validation_pairs
from .graph import StepGraph, export_onnx, record_trace, run_onnx_stream
from .analysis import layer_snr, plot_layer_snr
from .enhance import STEP_MODELS, TFLITE_SOURCE, TFLiteEnhancer
from .pipeline import export_model, int8_snr, int8_snr_with_calibration, load_step, snr_db
from .ranges import (TensorRange, calibrate_only, clipped_ranges, limit_to_saturation, measure_ranges, plot_ranges,
                     quantize_with_ranges, saturation_limits)
from .quant_math import affine_params, fake_quantize, quantization_snr, random_like_trace
from .runtime import TFLiteStep
from .tflite import (KINDS, TFLM_OPS, ExportError, check_full_integer, check_tflm_ops, model_summary,
                     onnx_to_saved_model, quantize, tflm_arena_bytes, tflm_arena_report,
                     tie_state_quantization)

__all__ = ["calibration_mixtures", "validation_pairs", "calibration_trace", "sample_mixtures", "StepGraph", "export_onnx", "record_trace", "run_onnx_stream", "export_model", "load_step", "snr_db", "int8_snr", "int8_snr_with_calibration", "TensorRange", "calibrate_only", "clipped_ranges", "measure_ranges", "plot_ranges", "quantize_with_ranges", "limit_to_saturation", "saturation_limits", "layer_snr", "plot_layer_snr",
           "STEP_MODELS", "TFLITE_SOURCE", "TFLiteEnhancer", "affine_params", "fake_quantize", "quantization_snr", "random_like_trace",
           "TFLiteStep", "KINDS", "TFLM_OPS", "ExportError", "check_full_integer", "check_tflm_ops", "model_summary",
           "onnx_to_saved_model", "quantize", "tflm_arena_bytes", "tflm_arena_report", "tie_state_quantization"]
