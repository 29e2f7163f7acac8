"""ERB filterbank: keep the low bins, pool the high bins into triangular ERB bands (chapter 1).

``bm`` maps a (..., 257) spectrum-like tensor to (..., 129) ERB features; ``bs`` maps back.
The filterbank weights are fixed (not trained): 2 x 192 x 64 = 24,576 numbers for GTCRN.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..config import AudioConfig, Config, ERBConfig

__all__ = ["hz_to_erb", "erb_to_hz", "erb_filterbank", "ERB"]


def hz_to_erb(freq_hz):
    """Glasberg-Moore ERB-rate scale (in ERB numbers)."""
    return 21.4 * np.log10(0.00437 * np.asarray(freq_hz, dtype=np.float64) + 1.0)


def erb_to_hz(erb):
    """Inverse of :func:`hz_to_erb`."""
    return (10.0 ** (np.asarray(erb, dtype=np.float64) / 21.4) - 1.0) / 0.00437


def erb_filterbank(audio: AudioConfig | None = None, erb: ERBConfig | None = None) -> np.ndarray:
    """Triangular ERB filters for the high bins.

    Returns a float32 array of shape ``(high_bands, n_freqs - low_bins)`` = (64, 192): row ``b``
    weights the high STFT bins that fall into ERB band ``b``. Band centres are spaced evenly on the
    ERB scale from the first high bin to ``high_lim_hz``; neighbouring triangles overlap so that
    every high bin's weights sum to 1.
    """
    audio = audio or AudioConfig()
    erb = erb or ERBConfig()
    n_fft, fs, n_bands = audio.n_fft, audio.sample_rate, erb.high_bands
    low_lim_hz = erb.low_bins / n_fft * fs
    points = np.linspace(hz_to_erb(low_lim_hz), hz_to_erb(erb.high_lim_hz), n_bands)
    bins = np.round(erb_to_hz(points) / fs * n_fft).astype(np.int64)  # centre bin of each band
    eps = 1e-12
    filters = np.zeros((n_bands, audio.n_freqs), dtype=np.float64)
    k = np.arange(bins[0], bins[1])
    filters[0, k] = (bins[1] - k + eps) / (bins[1] - bins[0] + eps)  # first band: falling edge only
    for i in range(n_bands - 2):
        rise = np.arange(bins[i], bins[i + 1])
        fall = np.arange(bins[i + 1], bins[i + 2])
        filters[i + 1, rise] = (rise - bins[i] + eps) / (bins[i + 1] - bins[i] + eps)
        filters[i + 1, fall] = (bins[i + 2] - fall + eps) / (bins[i + 2] - bins[i + 1] + eps)
    last = np.arange(bins[-2], bins[-1] + 1)
    filters[-1, last] = 1.0 - filters[-2, last]  # last band: rising edge up to Nyquist
    return np.abs(filters[:, erb.low_bins :]).astype(np.float32)


class ERB(nn.Module):
    """Band merging (``bm``) and band splitting (``bs``) with fixed ERB weights."""

    def __init__(self, cfg: Config | None = None):
        super().__init__()
        cfg = cfg or Config()
        self.low_bins = cfg.erb.low_bins
        fb = torch.from_numpy(erb_filterbank(cfg.audio, cfg.erb))  # (64, 192)
        n_high = cfg.audio.n_freqs - cfg.erb.low_bins
        self.erb_fc = nn.Linear(n_high, cfg.erb.high_bands, bias=False)
        self.ierb_fc = nn.Linear(cfg.erb.high_bands, n_high, bias=False)
        self.erb_fc.weight = nn.Parameter(fb, requires_grad=False)  # (64, 192)
        self.ierb_fc.weight = nn.Parameter(fb.T.contiguous(), requires_grad=False)  # (192, 64)

    def bm(self, x: torch.Tensor) -> torch.Tensor:
        """(..., 257) -> (..., 129): low bins as they are, high bins pooled into ERB bands."""
        low = x[..., : self.low_bins]  # (..., 65)
        high = self.erb_fc(x[..., self.low_bins :])  # (..., 64)
        return torch.cat([low, high], dim=-1)  # (..., 129)

    def bs(self, x: torch.Tensor) -> torch.Tensor:
        """(..., 129) -> (..., 257): spread each ERB band back over its bins."""
        low = x[..., : self.low_bins]  # (..., 65)
        high = self.ierb_fc(x[..., self.low_bins :])  # (..., 192)
        return torch.cat([low, high], dim=-1)  # (..., 257)
