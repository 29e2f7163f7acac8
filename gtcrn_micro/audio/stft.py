"""Our own STFT and inverse STFT (chapter 1), written so the C version on the ESP32-S3 can mirror it.

Framing (GTCRN: n_fft 512, hop_length 256, periodic sqrt-Hann analysis and synthesis windows)::

    padded = [n_fft - hop_length zeros] + wav + [zeros up to the end of the last frame]
    frame t = padded[t * hop_length : t * hop_length + n_fft]          (center=False style)
    T = ceil(L / hop_length) + n_fft // hop_length - 1                 (= ceil(L / 256) + 1)

So frame ``t`` ends with input sample ``(t + 1) * hop_length - 1``: it is complete as soon as the
``t``-th block of ``hop_length`` new samples has arrived, which is what a streaming device sees.
:func:`istft` windows each frame again, overlap-adds them, and trims the same ``n_fft -
hop_length`` samples from the front. Because ``window**2`` is a periodic Hann window, the
overlapping squared windows sum to a constant (1 at 50 % overlap): reconstruction is perfect.

Algorithmic latency: one frame, ``n_fft`` samples = 32 ms. An output sample is final only when
every frame that overlaps it has been overlap-added, i.e. one hop after the block that holds
it, and that block itself takes one hop to fill: 16 ms buffering + 16 ms look-ahead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import AudioConfig

__all__ = ["window", "n_frames", "stft", "istft"]


def _check_cfg(cfg: AudioConfig | None) -> AudioConfig:
    cfg = cfg or AudioConfig()
    if cfg.window != "sqrt_hann":
        raise ValueError(f"window {cfg.window!r} is not supported; use 'sqrt_hann'.")
    if (cfg.n_fft // 2) % cfg.hop_length:
        raise ValueError(
            f"hop_length {cfg.hop_length} must divide n_fft / 2 = {cfg.n_fft // 2} "
            "for perfect reconstruction with a sqrt-Hann window."
        )
    return cfg


def window(cfg: AudioConfig | None = None, *, dtype=torch.float32, device=None) -> torch.Tensor:
    """Periodic sqrt-Hann window, (n_fft,): used for both analysis and synthesis."""
    cfg = _check_cfg(cfg)
    return torch.hann_window(cfg.n_fft, periodic=True, dtype=dtype, device=device).sqrt()


def n_frames(length: int, cfg: AudioConfig | None = None) -> int:
    """Number of STFT frames T for ``length`` samples: ceil(L / hop) + n_fft // hop - 1."""
    cfg = _check_cfg(cfg)
    return -(-int(length) // cfg.hop_length) + cfg.n_fft // cfg.hop_length - 1


def _ola_gain(cfg: AudioConfig) -> float:
    """Sum of the overlapping squared windows at any sample: n_fft / (2 * hop) for Hann (1.0 here)."""
    return cfg.n_fft / (2 * cfg.hop_length)


def stft(wav, cfg: AudioConfig | None = None) -> torch.Tensor:
    """Short-time Fourier transform.

    ``wav``: (L,) or (B, L) waveform (torch tensor or numpy array). Returns ``spec`` (B, F, T, 2)
    with F = n_fft // 2 + 1 = 257, T = :func:`n_frames` (L), and real/imag on the last axis
    (the original GTCRN interface). A (L,) input gives B = 1.
    """
    cfg = _check_cfg(cfg)
    wav = torch.as_tensor(wav)
    if not wav.is_floating_point():
        raise TypeError(f"wav has dtype {wav.dtype}; convert it to float, e.g. wav.float() / 32768.")
    if wav.dim() == 1:
        wav = wav.unsqueeze(0)  # (1,L)
    if wav.dim() != 2:
        raise ValueError(f"wav has shape {tuple(wav.shape)}; pass (L,) or (B, L) samples.")
    length = wav.shape[-1]
    if length == 0:
        raise ValueError("wav has no samples; pass at least one sample.")
    n_fft, hop = cfg.n_fft, cfg.hop_length
    total = (n_frames(length, cfg) - 1) * hop + n_fft
    front = n_fft - hop
    padded = F.pad(wav, (front, total - front - length))  # (B,total)
    frames = padded.unfold(-1, n_fft, hop)  # (B,T,n_fft)
    frames = frames * window(cfg, dtype=wav.dtype, device=wav.device)  # (B,T,n_fft)
    spec = torch.fft.rfft(frames, n=n_fft, dim=-1)  # (B,T,F) complex
    return torch.view_as_real(spec).permute(0, 2, 1, 3).contiguous()  # (B,F,T,2)


def istft(spec: torch.Tensor, length: int, cfg: AudioConfig | None = None) -> torch.Tensor:
    """Inverse of :func:`stft` by windowed overlap-add.

    ``spec``: (B, F, T, 2) real/imag. Returns (B, length): the samples after the front trim of
    ``n_fft - hop_length``. ``length`` may be at most T * hop_length; reconstruction is perfect
    when T = n_frames(length), as for any spec that came from ``stft`` of ``length`` samples.
    """
    cfg = _check_cfg(cfg)
    n_fft, hop = cfg.n_fft, cfg.hop_length
    if spec.dim() != 4 or spec.shape[1] != cfg.n_freqs or spec.shape[-1] != 2:
        raise ValueError(
            f"spec has shape {tuple(spec.shape)}; pass (B, {cfg.n_freqs}, T, 2) as made by stft()."
        )
    n_t = spec.shape[2]
    front = n_fft - hop
    total = (n_t - 1) * hop + n_fft
    if not 0 < length <= total - front:
        raise ValueError(
            f"length {length} does not fit {n_t} frames; use 1 .. {total - front} samples."
        )
    spec_c = torch.view_as_complex(spec.permute(0, 2, 1, 3).contiguous())  # (B,T,F) complex
    frames = torch.fft.irfft(spec_c, n=n_fft, dim=-1)  # (B,T,n_fft)
    frames = frames * window(cfg, dtype=frames.dtype, device=frames.device)  # (B,T,n_fft)
    wav = F.fold(
        frames.transpose(1, 2),  # (B,n_fft,T)
        output_size=(1, total),
        kernel_size=(1, n_fft),
        stride=(1, hop),
    )  # (B,1,1,total): overlap-add
    wav = wav.reshape(wav.shape[0], total) / _ola_gain(cfg)  # (B,total)
    return wav[:, front : front + length]  # (B,length)

