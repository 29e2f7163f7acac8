"""The hybrid loss GTCRN is trained with (chapter 4).

``loss = 30 * (MSE of compressed Re + MSE of compressed Im) + 70 * MSE of compressed |S| + SI-SNR term``

The complex terms compare spectra whose magnitude is compressed to |S|^0.3 with the phase kept
(so quiet bins count, not only the loud ones); the magnitude term does the same for |S|^0.3 alone;
the SI-SNR term, ``-log10(SNR)`` of the waveforms, watches the phase-sensitive time signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..audio.features import compress, magnitude
from ..audio.stft import istft
from ..config import AudioConfig

__all__ = ["LossWeights", "hybrid_loss", "si_snr_loss"]


@dataclass(frozen=True)
class LossWeights:
    complex: float = 30.0  # weight of the compressed real + imaginary MSE
    magnitude: float = 70.0  # weight of the compressed magnitude MSE
    sisnr: float = 1.0  # weight of the -log10 SI-SNR term
    exponent: float = 0.3  # power-law compression of the magnitudes


def si_snr_loss(est: torch.Tensor, ref: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Mean of ``-log10(SI-SNR)`` (in power ratio) over the batch; est, ref (B,L)."""
    ref_z = ref - ref.mean(-1, keepdim=True)
    est_z = est - est.mean(-1, keepdim=True)
    target = (est_z * ref_z).sum(-1, keepdim=True) * ref_z / (ref_z.pow(2).sum(-1, keepdim=True) + eps)  # (B,L)
    ratio = target.pow(2).sum(-1) / ((est_z - target).pow(2).sum(-1) + eps)  # (B,)
    return -torch.log10(ratio + eps).mean()


def hybrid_loss(est_spec: torch.Tensor, clean_spec: torch.Tensor, length: int,
                weights: LossWeights = LossWeights(), audio: AudioConfig | None = None) -> dict[str, torch.Tensor]:
    """est_spec, clean_spec (B,F,T,2) -> dict of the loss terms and their weighted ``total``."""
    def compressed(spec):
        spec_c = compress(spec, weights.exponent)  # (B,F,T,2)
        return spec_c, magnitude(spec_c)  # (B,F,T,2), (B,F,T)

    est_c, est_mag = compressed(est_spec)
    ref_c, ref_mag = compressed(clean_spec)
    terms = {
        "complex": torch.mean((est_c - ref_c) ** 2) * 2,  # = MSE(Re) + MSE(Im)
        "magnitude": torch.mean((est_mag - ref_mag) ** 2),
        "sisnr": si_snr_loss(istft(est_spec, length, audio), istft(clean_spec, length, audio)),
    }
    terms["total"] = weights.complex * terms["complex"] + weights.magnitude * terms["magnitude"] + weights.sisnr * terms["sisnr"]
    return terms
