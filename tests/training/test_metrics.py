import numpy as np
import pytest

from gtcrn_micro.training import pesq_wb, score_pair, si_snr, stoi
from tests.conftest import speech_like


@pytest.fixture(scope="module")
def clean():
    return speech_like(np.random.default_rng(0), 3.0)


def test_identical_signals_score_best(clean):
    s = score_pair(clean, clean)
    assert s["pesq"] > 4.5 and s["stoi"] > 0.99 and s["si_snr"] > 60


def test_metrics_fall_with_noise(clean):
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(len(clean)).astype(np.float32)
    scale = np.sqrt(np.mean(clean**2))
    mild, harsh = clean + 0.1 * scale * noise, clean + 1.0 * scale * noise
    assert pesq_wb(clean, mild) > pesq_wb(clean, harsh)
    assert stoi(clean, mild) > stoi(clean, harsh)
    assert si_snr(clean, mild) == pytest.approx(20.0, abs=0.5)
    assert si_snr(clean, harsh) == pytest.approx(0.0, abs=0.5)


def test_pesq_of_a_silent_or_broken_estimate():
    from gtcrn_micro.training.metrics import PESQ_FLOOR

    t = np.arange(32000) / 16000
    speechy = (np.sin(2 * np.pi * 200 * t) * (1 + np.sin(2 * np.pi * 3 * t)) * 0.2).astype(np.float32)
    assert pesq_wb(speechy, np.zeros_like(speechy)) == PESQ_FLOOR  # the pesq package itself fails here
    assert pesq_wb(speechy, 1e-3 * speechy[::-1]) >= PESQ_FLOOR
    bad = speechy.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        pesq_wb(speechy, bad)


def test_pesq_on_silence_is_nan_not_a_crash():
    assert np.isnan(pesq_wb(np.zeros(32000, np.float32), np.zeros(32000, np.float32)))
