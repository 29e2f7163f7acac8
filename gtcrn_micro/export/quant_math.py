"""The arithmetic of integer quantization, small enough to read (chapter 6).

A real number x is stored as an integer q with ``x ~ scale * (q - zero_point)``. The range
[lo, hi] that calibration saw fixes ``scale = (hi - lo) / (2**bits - 1)``; everything outside is
clipped, everything inside is rounded to the nearest of 2**bits levels.
"""

from __future__ import annotations

import numpy as np

__all__ = ["affine_params", "fake_quantize", "quantization_snr", "random_like_trace"]


def affine_params(lo: float, hi: float, bits: int = 8) -> tuple[float, int]:
    """(scale, zero_point) of a signed ``bits``-bit affine quantizer covering [lo, hi] (and 0)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    scale = (hi - lo) / (qmax - qmin) if hi > lo else 1.0
    zero_point = int(np.clip(round(qmin - lo / scale), qmin, qmax))
    return scale, zero_point


def fake_quantize(x: np.ndarray, bits: int = 8, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Quantize then dequantize ``x`` with a per-tensor range (its own min/max unless given)."""
    x = np.asarray(x, np.float64)
    scale, zp = affine_params(x.min() if lo is None else lo, x.max() if hi is None else hi, bits)
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return (np.clip(np.round(x / scale) + zp, qmin, qmax) - zp) * scale


def quantization_snr(x: np.ndarray, bits: int = 8, lo: float | None = None, hi: float | None = None) -> float:
    """SNR (dB) of ``x`` against its fake-quantized self."""
    x = np.asarray(x, np.float64)
    err = np.sum((x - fake_quantize(x, bits, lo, hi)) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(np.sum(x**2) / err))


def random_like_trace(trace: dict[str, np.ndarray], seed: int = 0) -> dict[str, np.ndarray]:
    """A calibration 'trace' of standard-normal tensors with the real trace's shapes: what not to calibrate on."""
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(v.shape).astype(np.float32) if v.dtype == np.float32 else v) for k, v in trace.items()}
