"""Spectral features: magnitude, power-law compression and the model input (chapter 1).

Power-law compression maps a complex spectrum ``S`` to ``|S|**c * S / |S|``: the phase is kept,
the magnitude's dynamic range shrinks (with c = 0.3, 100 dB becomes 30 dB). The ``micro`` model
uses c = 0.3 so its int8 inputs stay in a narrow, bounded range; the reference GTCRN uses c = 1.
"""

from __future__ import annotations

import torch

__all__ = ["EPS", "magnitude", "compress", "decompress", "spec_features"]

EPS = 1e-12  # added under the square root: |0| = 1e-6 instead of a NaN gradient


def _check_spec(spec: torch.Tensor) -> None:
    if spec.dim() < 1 or spec.shape[-1] != 2:
        raise ValueError(
            f"spec has shape {tuple(spec.shape)}; pass real/imag on the last axis, (B, F, T, 2)."
        )


def magnitude(spec: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """(..., 2) real/imag -> (...) magnitude sqrt(re^2 + im^2 + eps), finite gradient at 0."""
    _check_spec(spec)
    return torch.sqrt(spec[..., 0] ** 2 + spec[..., 1] ** 2 + eps)


def compress(spec: torch.Tensor, exponent: float, eps: float = EPS) -> torch.Tensor:
    """(B, F, T, 2) -> (B, F, T, 2): magnitude raised to ``exponent``, phase kept.

    ``exponent`` 1.0 returns ``spec`` unchanged; 0.3 is the ``micro`` model's setting.
    """
    if exponent <= 0:
        raise ValueError(f"exponent {exponent} must be positive, e.g. 0.3 (or 1.0 for none).")
    _check_spec(spec)
    if exponent == 1.0:
        return spec
    gain = magnitude(spec, eps) ** (exponent - 1.0)  # (B,F,T) = |S|^c / |S|
    return spec * gain.unsqueeze(-1)  # (B,F,T,2)


def decompress(spec: torch.Tensor, exponent: float, eps: float = EPS) -> torch.Tensor:
    """Inverse of :func:`compress`: (B, F, T, 2) -> (B, F, T, 2) with magnitude ** (1 / exponent)."""
    if exponent <= 0:
        raise ValueError(f"exponent {exponent} must be positive, e.g. 0.3 (or 1.0 for none).")
    return compress(spec, 1.0 / exponent, eps)


def spec_features(spec: torch.Tensor, exponent: float = 1.0) -> torch.Tensor:
    """Model input before the ERB: (B, F, T, 2) -> (B, 3, T, F) = [|S|, Re, Im] of the compressed spec.

    With ``exponent`` 1.0 this is the original GTCRN input; the ``micro`` model passes 0.3.
    """
    if spec.dim() != 4:
        raise ValueError(f"spec has shape {tuple(spec.shape)}; pass (B, F, T, 2) as made by stft().")
    spec = compress(spec, exponent)  # (B,F,T,2)
    mag = magnitude(spec)  # (B,F,T)
    feat = torch.stack([mag, spec[..., 0], spec[..., 1]], dim=1)  # (B,3,F,T)
    return feat.transpose(2, 3)  # (B,3,T,F)
