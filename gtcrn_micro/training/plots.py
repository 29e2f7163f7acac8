"""How the hybrid loss reacts to noise: its terms on noisy estimates at a range of SNRs (chapter 4).

Every figure is a :class:`~gtcrn_micro.audio.plots.PlotFigure` (no pyplot), like chapter 1's.
"""

from __future__ import annotations

import numpy as np
import torch

from ..audio.mix import mix_at_snr
from ..audio.plots import new_figure
from ..audio.stft import stft
from .losses import LossWeights, hybrid_loss

__all__ = ["loss_terms_vs_snr", "plot_loss_terms"]

TERMS = ("complex", "magnitude", "sisnr")


def loss_terms_vs_snr(clean: np.ndarray, noise: np.ndarray, snrs_db=(-5.0, 0.0, 5.0, 10.0, 20.0, 30.0),
                      weights: LossWeights = LossWeights(), rng: int = 0) -> list[dict[str, float]]:
    """``hybrid_loss`` of ``clean + noise`` (mixed at each SNR) taken as the estimate of ``clean``.

    clean, noise (L,) float32. One row per SNR: ``snr_db``, the raw terms and ``total``.
    """
    clean_spec = stft(torch.from_numpy(np.asarray(clean, np.float32)))  # (1,F,T,2)
    rows = []
    for snr in snrs_db:
        est, _ = mix_at_snr(clean, noise, snr, rng=rng)  # (L,): the "estimate" still holds the noise
        terms = hybrid_loss(stft(torch.from_numpy(est)), clean_spec, len(clean), weights)
        rows.append({"snr_db": float(snr)} | {k: float(v) for k, v in terms.items()})
    return rows


def plot_loss_terms(rows: list[dict[str, float]], weights: LossWeights = LossWeights()):
    """Each weighted term and the total against the SNR of the estimate (rows from :func:`loss_terms_vs_snr`)."""
    fig, ax = new_figure(figsize=(6.5, 3.2))
    snr = [r["snr_db"] for r in rows]
    for term in TERMS:
        w = getattr(weights, term)
        ax.plot(snr, [w * r[term] for r in rows], marker="o", label=f"{w:g} x {term}")
    ax.plot(snr, [r["total"] for r in rows], color="k", lw=2, label="total")
    ax.axhline(0.0, color="0.7", lw=0.8)
    ax.set(xlabel="SNR of the estimate (dB)", ylabel="weighted loss term")
    ax.legend(fontsize=8)
    return fig
