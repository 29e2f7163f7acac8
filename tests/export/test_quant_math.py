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
