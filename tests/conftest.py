"""Fixtures shared by the whole suite. Every audio file a test reads is generated here."""

import numpy as np
import pytest
import soundfile as sf


def speech_like(rng: np.random.Generator, seconds: float, sample_rate: int = 16_000) -> np.ndarray:
    """A voiced, syllable-like test signal: a gliding harmonic tone, amplitude-modulated at 4 Hz,
    with pauses. (L,) float32. Not speech, but it has speech's pitch, harmonics and rhythm."""
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    wav = sum(np.sin(k * phase) / k for k in range(1, 16))
    env = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None) ** 2
    return (0.1 * wav * env).astype(np.float32)


@pytest.fixture(scope="session")
def corpus_dirs(tmp_path_factory):
    """(speech_dir, noise_dir): 12 speech-like files and 6 noise files, 1.5-3 s, 16 kHz."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    speech, noise = root / "speech", root / "noise"
    speech.mkdir(), noise.mkdir()
    for i in range(12):
        sf.write(str(speech / f"utt{i:02d}.wav"), speech_like(rng, rng.uniform(1.5, 3.0)), 16_000)
    for i in range(6):
        n = rng.standard_normal(int(16_000 * rng.uniform(1.5, 3.0))).astype(np.float32)
        n = np.convolve(n, np.ones(1 + 3 * i) / (1 + 3 * i), mode="same")  # differently coloured noises
        sf.write(str(noise / f"noise{i}.wav"), 0.05 * n, 16_000)
    return speech, noise
