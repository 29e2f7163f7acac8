"""Speech-quality metrics (chapter 4): PESQ-wb, STOI, SI-SNR, and DNSMOS for no-reference audio.

PESQ comes from the ``pesq`` package (ITU-T P.862.2 wide band), STOI from ``pystoi``, DNSMOS from
``speechmos`` (its wheel carries the ONNX models, so it runs offline).
"""

from __future__ import annotations

import numpy as np

from ..audio.mix import si_snr

__all__ = ["si_snr", "pesq_wb", "stoi", "dnsmos", "score_pair", "METRICS"]

METRICS = ("pesq", "stoi", "si_snr")


PESQ_FLOOR = 0.999  # the lower limit of P.862.2's mapping to MOS-LQO: 0.999 + 4 / (1 + exp(...))


def pesq_wb(ref: np.ndarray, est: np.ndarray, sample_rate: int = 16_000) -> float:
    """Wide-band PESQ (1.04 .. 4.64). Returns NaN when PESQ finds no speech in ``ref``.

    An all-zero ``est`` (a model that outputs silence) scores :data:`PESQ_FLOOR`: the ``pesq``
    package itself fails on it (it divides by the zero level). A NaN or infinite ``est`` is an error.
    """
    from pesq import NoUtterancesError, pesq

    ref, est = np.asarray(ref, np.float64), np.asarray(est, np.float64)
    if not np.all(np.isfinite(est)):
        raise ValueError("pesq_wb: the estimate holds NaN or infinite samples.")
    if not np.any(est):
        try:  # is there speech in ref to score against?
            pesq(sample_rate, ref, ref, "wb")
        except NoUtterancesError:
            return float("nan")
        return PESQ_FLOOR
    try:
        return float(pesq(sample_rate, ref, est, "wb"))
    except NoUtterancesError:
        return float("nan")


def stoi(ref: np.ndarray, est: np.ndarray, sample_rate: int = 16_000) -> float:
    """Short-time objective intelligibility (0 .. 1)."""
    from pystoi import stoi as _stoi

    return float(_stoi(np.asarray(ref, np.float64), np.asarray(est, np.float64), sample_rate, extended=False))


def dnsmos(wav: np.ndarray, sample_rate: int = 16_000) -> dict[str, float]:
    """DNSMOS P.835 (no reference): ``{"ovrl", "sig", "bak", "p808"}`` mean opinion scores."""
    from speechmos import dnsmos as _dnsmos

    wav = np.asarray(wav, np.float32)
    peak = np.abs(wav).max()
    if peak > 1.0:
        wav = wav / peak
    out = _dnsmos.run(wav, sr=sample_rate)
    return {"ovrl": float(out["ovrl_mos"]), "sig": float(out["sig_mos"]), "bak": float(out["bak_mos"]),
            "p808": float(out["p808_mos"])}


def score_pair(ref: np.ndarray, est: np.ndarray, sample_rate: int = 16_000) -> dict[str, float]:
    """PESQ-wb, STOI and SI-SNR of ``est`` against ``ref``."""
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    return {"pesq": pesq_wb(ref, est, sample_rate), "stoi": stoi(ref, est, sample_rate), "si_snr": si_snr(ref, est)}
