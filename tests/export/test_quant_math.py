import numpy as np
import pytest

from gtcrn_micro.export.quant_math import affine_params, fake_quantize, quantization_snr, random_like_trace


def test_affine_params_cover_the_range_and_zero():
    scale, zp = affine_params(-1.0, 3.0)
    assert scale == pytest.approx(4.0 / 255)
    assert -128 <= zp <= 127
    assert fake_quantize(np.array([0.0, 1.0]), lo=-1.0, hi=3.0)[0] == 0.0  # zero (padding, ReLU) is exact
    assert (127 - zp) * scale == pytest.approx(3.0, abs=scale)


def test_error_is_at_most_half_a_step_inside_the_range():
    x = np.linspace(-2, 2, 1001)
    scale, _ = affine_params(-2, 2)
    assert np.abs(fake_quantize(x) - x).max() <= scale / 2 + 1e-12


def test_more_bits_and_narrower_ranges_give_higher_snr():
    x = np.random.default_rng(0).standard_normal(10000)
    assert quantization_snr(x, 16) > quantization_snr(x, 8) + 40
    # an outlier stretches the range and costs resolution for everything else
    assert quantization_snr(np.append(x, 100.0)) < quantization_snr(x) - 10


def test_clipping_outside_the_given_range():
    assert fake_quantize(np.array([5.0]), lo=-1, hi=1)[0] == pytest.approx(1.0, abs=0.01)


def test_random_trace_keeps_shapes_and_flags():
    trace = {"feat": np.zeros((4, 3), np.float32), "start": np.array([True, False, False, False])}
    r = random_like_trace(trace)
    assert r["feat"].shape == (4, 3) and r["feat"].std() > 0.1 and (r["start"] == trace["start"]).all()


def test_validation_pairs_share_the_calibration_mixtures_for_one_seed(corpus_dirs):
    from gtcrn_micro.export import calibration_mixtures, validation_pairs

    speech, noise = corpus_dirs
    pairs = validation_pairs([speech], [noise], 3, seconds=1.0, val_fraction=0.34, seed=5)
    assert len(pairs) == 3 and all(n.shape == c.shape == (16_000,) for n, c in pairs)
    assert all(np.abs(n - c).max() > 0 for n, c in pairs)  # noise was added
    cal = calibration_mixtures([speech], [noise], n=3, seconds=1.0, val_fraction=0.34, seed=5)
    assert all(np.array_equal(a, n) for a, (n, _) in zip(cal, pairs))  # the same noisy audio for the same seed
    other = validation_pairs([speech], [noise], 3, seconds=1.0, val_fraction=0.34, seed=6)
    assert not np.array_equal(other[0][0], pairs[0][0])  # held-out seed: other mixtures
