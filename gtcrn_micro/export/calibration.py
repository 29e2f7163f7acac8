"""Calibration audio for integer quantization: real noisy speech, never the test set (chapter 6).

The integer model's ranges come from what the float model sees and produces while it streams
real noisy speech. Two sources:

- :func:`calibration_mixtures`: mixtures drawn from the *validation* split of training folders
  (the same split the trainer holds out), the right choice for shipped models;
- :func:`sample_mixtures`: the clips the package ships, mixed at a few SNRs, for the book and tests.
"""

from __future__ import annotations

import numpy as np
import torch

from ..audio.mix import mix_at_snr
from ..audio.samples import list_samples, load_sample
from ..audio.stft import stft
from ..data.mixing import AudioBank, MixConfig, MixtureDataset, find_audio, split_files
from .graph import record_trace

__all__ = ["sample_mixtures", "calibration_mixtures", "validation_pairs", "calibration_trace"]


def sample_mixtures(snrs_db=(0.0, 5.0, 10.0), seed: int = 0) -> list[np.ndarray]:
    """Every shipped speech clip mixed with a shipped noise clip at each SNR: list of (L,) noisy waveforms."""
    rng = np.random.default_rng(seed)
    speech, noise = list_samples("speech"), list_samples("noise")
    out = []
    for i, name in enumerate(speech):
        for j, snr in enumerate(snrs_db):
            noisy, _ = mix_at_snr(load_sample(name), load_sample(noise[(i + j) % len(noise)]), snr, rng=rng)
            out.append(noisy)
    return out


def validation_pairs(speech_dirs, noise_dirs, n: int, seconds: float = 4.0, val_fraction: float = 0.1,
                     seed: int = 999) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` (noisy, clean) mixtures from the validation split of the training folders (never the test set).

    Seed 999 is the held-out evaluation set of the int8 scripts; calibration uses another seed.
    """
    _, sp_val = split_files(find_audio(*speech_dirs), val_fraction)
    _, no_val = split_files(find_audio(*noise_dirs), val_fraction)
    ds = MixtureDataset(AudioBank(sp_val), AudioBank(no_val), n, MixConfig(segment_seconds=seconds), seed=seed)
    return [(a.numpy(), b.numpy()) for a, b in (ds[i] for i in range(n))]


def calibration_mixtures(speech_dirs, noise_dirs, n: int = 32, seconds: float = 4.0, val_fraction: float = 0.1,
                         seed: int = 1234) -> list[np.ndarray]:
    """``n`` noisy mixtures from the validation split of the training folders (never the test set)."""
    return [noisy for noisy, _ in validation_pairs(speech_dirs, noise_dirs, n, seconds, val_fraction, seed)]


def calibration_trace(model, noisy: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The float model streaming each noisy waveform: frames and states, see ``record_trace``."""
    feats = [model.features(stft(torch.from_numpy(np.asarray(w, np.float32)))) for w in noisy]
    return record_trace(model, feats)
