import numpy as np
import pytest

from gtcrn_micro.audio.io import AudioError
from gtcrn_micro.audio.mix import fit_length, mix_at_snr, si_snr, snr_db

from .conftest import tone


@pytest.fixture
def clean():
    return tone(220, 1.0) * np.hanning(16_000).astype(np.float32)  # (16000,)


def _power_db(x):
    return 10 * np.log10(np.mean(np.asarray(x, np.float64) ** 2))


@pytest.mark.parametrize("target", [-5.0, 0.0, 5.0, 12.5, 30.0])
def test_snr_is_exactly_what_was_asked(clean, rng, target):
    noise = rng.standard_normal(40_000).astype(np.float32) * 0.3
    noisy, scaled = mix_at_snr(clean, noise, target, rng=1)
    assert noisy.shape == scaled.shape == clean.shape
    assert noisy.dtype == np.float32
    assert abs(_power_db(clean) - _power_db(scaled) - target) < 1e-4  # the definition
    assert abs(snr_db(clean, noisy) - target) < 1e-3  # the metric agrees
    np.testing.assert_allclose(noisy, clean + scaled, atol=1e-6)


def test_short_noise_is_looped(clean, rng):
    noise = rng.standard_normal(5000).astype(np.float32) * 0.2
    _, scaled = mix_at_snr(clean, noise, 0.0)
    np.testing.assert_allclose(scaled[:5000], scaled[5000:10_000])
    gain = scaled[0] / noise[0]
    np.testing.assert_allclose(scaled[:5000], gain * noise, rtol=1e-5, atol=1e-7)


def test_long_noise_is_cropped_at_a_seeded_offset(clean, rng):
    noise = rng.standard_normal(50_000).astype(np.float32) * 0.2
    a = mix_at_snr(clean, noise, 0.0, rng=7)[1]
    b = mix_at_snr(clean, noise, 0.0, rng=7)[1]
    c = mix_at_snr(clean, noise, 0.0, rng=8)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    crop = fit_length(noise, len(clean), np.random.default_rng(7))
    np.testing.assert_allclose(a / a[0] * crop[0], crop, rtol=1e-4, atol=1e-5)


def test_fit_length_offsets_stay_inside(rng):
    noise = np.arange(100, dtype=np.float32)
    for seed in range(20):
        seg = fit_length(noise, 60, seed)
        assert seg.shape == (60,) and np.all(np.diff(seg) == 1)


def test_silent_inputs_are_refused(clean, rng):
    noise = rng.standard_normal(16_000).astype(np.float32)
    with pytest.raises(AudioError, match="clean: is silent, so no SNR can be set"):
        mix_at_snr(np.zeros(16_000, np.float32), noise, 5.0)
    with pytest.raises(AudioError, match="noise: is silent"):
        mix_at_snr(clean, np.zeros(1000, np.float32), 5.0)
    gappy = np.concatenate([np.zeros(40_000, np.float32), noise[:100]])  # silent but for the end
    with pytest.raises(AudioError, match="segment picked is silent"):
        mix_at_snr(clean, gappy, 5.0, rng=0)


def test_nan_inputs_are_refused(clean):
    noise = np.ones(16_000, np.float32)
    noise[3] = np.nan
    with pytest.raises(AudioError, match="NaN or Inf"):
        mix_at_snr(clean, noise, 5.0)


def test_snr_db_known_values(clean):
    clean = clean.astype(np.float64)
    assert abs(snr_db(clean, 1.1 * clean) - 20.0) < 1e-9
    assert abs(snr_db(clean, 0.0 * clean) - 0.0) < 1e-9
    assert snr_db(clean, clean) > 100


def test_snr_batch():
    ref = np.stack([np.ones(10), 2 * np.ones(10)])
    est = ref + np.stack([0.1 * np.ones(10), np.ones(10)])
    out = snr_db(ref, est)
    assert out.shape == (2,)
    np.testing.assert_allclose(out, [20.0, 10 * np.log10(4.0)], atol=1e-9)


def test_si_snr_ignores_scale_and_offset(clean, rng):
    est = clean + 0.1 * rng.standard_normal(len(clean)).astype(np.float32)
    base = si_snr(clean, est)
    assert abs(si_snr(clean, 3.0 * est + 0.2) - base) < 1e-6
    assert abs(snr_db(clean, 3.0 * est) - base) > 3  # plain SNR does care
    assert si_snr(clean, 0.5 * clean) > 100


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="differ in shape"):
        snr_db(np.ones(10), np.ones(11))
