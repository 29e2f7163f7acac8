"""Shared helpers for the audio tests: every file they read is written here, in a temp folder."""

import numpy as np
import pytest
import soundfile as sf


def tone(freq_hz: float, seconds: float, sample_rate: int = 16_000, amp: float = 0.5) -> np.ndarray:
    """(L,) float32 sine."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (amp * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


@pytest.fixture
def write_audio(tmp_path):
    """write_audio(name, data, sample_rate=16000, subtype="PCM_16") -> path of a new file."""

    def _write(name, data, sample_rate=16_000, subtype="PCM_16"):
        path = tmp_path / name
        sf.write(str(path), data, sample_rate, subtype=subtype)
        return path

    return _write


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
