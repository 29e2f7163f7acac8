"""Mixing speech and noise at a chosen SNR, and the SNR measures used to judge the result (chapter 1).

All functions take numpy waveforms; powers are computed in float64 so the SNR you ask for is the
SNR you get.
"""

from __future__ import annotations

import numpy as np

from .io import SILENCE_PEAK, AudioError, check_audio

__all__ = ["fit_length", "mix_at_snr", "snr_db", "si_snr"]

_EPS = 1e-12  # keeps the SNR of a perfect estimate finite


def _signal(wav, name: str) -> np.ndarray:
    """A (L,) float64 copy of a waveform that is usable for mixing (not silent, finite)."""
    wav = np.asarray(wav, dtype=np.float64)
    if wav.size and np.max(np.abs(wav)) < SILENCE_PEAK:
        raise AudioError(f"{name}: is silent, so no SNR can be set; choose a clip that is not silent.")
    return check_audio(wav, 0, name=name, expected_rate=None).astype(np.float64)


def fit_length(noise: np.ndarray, length: int, rng=None) -> np.ndarray:
    """(N,) -> (length,): loop a short noise, or crop a long one at a random offset from ``rng``.

    ``rng``: a :class:`numpy.random.Generator`, a seed, or None (fresh randomness).
    """
    reps = -(-length // len(noise))
    if reps > 1:
        return np.tile(noise, reps)[:length]  # (length,)
    offset = int(np.random.default_rng(rng).integers(0, len(noise) - length + 1))
    return noise[offset : offset + length]  # (length,)


def mix_at_snr(clean, noise, snr_db: float, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """Add ``noise`` to ``clean`` so that 10 log10(P_clean / P_noise) equals ``snr_db`` exactly.

    ``clean``: (L,); ``noise``: (N,), looped or cropped to L (random offset from ``rng``, a
    Generator, a seed, or None). Returns ``(noisy, scaled_noise)``, both (L,) float32, with
    ``noisy = clean + scaled_noise``. Raises :class:`AudioError` for silent clean or noise.
    """
    clean, noise = _signal(clean, "clean"), _signal(noise, "noise")  # (L,), (N,)
    noise = fit_length(noise, len(clean), rng)  # (L,)
    if np.max(np.abs(noise)) < SILENCE_PEAK:
        raise AudioError("noise: the segment picked is silent; use a noise clip without silent gaps.")
    p_clean, p_noise = np.mean(clean**2), np.mean(noise**2)
    scaled = noise * np.sqrt(p_clean / (p_noise * 10.0 ** (snr_db / 10.0)))  # (L,)
    return (clean + scaled).astype(np.float32), scaled.astype(np.float32)


def _ratio_db(signal: np.ndarray, error: np.ndarray):
    """10 log10(sum signal^2 / sum error^2) over the last axis: float for 1-D, else array."""
    out = 10.0 * np.log10((np.sum(signal**2, axis=-1) + _EPS) / (np.sum(error**2, axis=-1) + _EPS))
    return float(out) if out.ndim == 0 else out


def _pair(ref, est) -> tuple[np.ndarray, np.ndarray]:
    ref, est = np.asarray(ref, dtype=np.float64), np.asarray(est, dtype=np.float64)
    if ref.shape != est.shape:
        raise ValueError(f"ref {ref.shape} and est {est.shape} differ in shape; pass aligned signals.")
    return ref, est


def snr_db(ref, est):
    """SNR of ``est`` against ``ref`` in dB: 10 log10(sum ref^2 / sum (ref - est)^2).

    Inputs (..., L); returns a float for (L,) inputs, else an array (...).
    """
    ref, est = _pair(ref, est)
    return _ratio_db(ref, est - ref)


def si_snr(ref, est):
    """Scale-invariant SNR in dB (zero-mean, ``est`` projected on ``ref``).

    Inputs (..., L); returns a float for (L,) inputs, else an array (...).
    """
    ref, est = _pair(ref, est)
    ref = ref - ref.mean(axis=-1, keepdims=True)
    est = est - est.mean(axis=-1, keepdims=True)
    scale = np.sum(est * ref, axis=-1, keepdims=True) / (np.sum(ref**2, axis=-1, keepdims=True) + _EPS)
    target = scale * ref  # (...,L)
    return _ratio_db(target, est - target)
