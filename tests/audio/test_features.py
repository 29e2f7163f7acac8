import pytest
import torch

from gtcrn_micro.audio.features import compress, decompress, magnitude, spec_features
from gtcrn_micro.audio.stft import stft


@pytest.fixture
def spec():
    torch.manual_seed(0)
    return stft(torch.randn(2, 4000, dtype=torch.float64) * 0.1)  # (2,257,17,2)


def test_magnitude(spec):
    ref = torch.view_as_complex(spec.contiguous()).abs()
    torch.testing.assert_close(magnitude(spec), ref, atol=1e-6, rtol=1e-9)


@pytest.mark.parametrize("c", [0.3, 0.5, 2.0])
def test_compress_raises_magnitude_and_keeps_phase(spec, c):
    z, zc = torch.view_as_complex(spec.contiguous()), torch.view_as_complex(compress(spec, c).contiguous())
    big = z.abs() > 1e-3  # away from the eps floor
    torch.testing.assert_close(zc.abs()[big], z.abs()[big] ** c, rtol=1e-6, atol=0)
    torch.testing.assert_close(zc.angle()[big], z.angle()[big], rtol=0, atol=1e-9)


def test_exponent_one_is_identity(spec):
    assert compress(spec, 1.0) is spec


@pytest.mark.parametrize("c", [0.3, 0.5])
def test_round_trip(spec, c):
    torch.testing.assert_close(decompress(compress(spec, c), c), spec, atol=1e-6, rtol=1e-6)


def test_compression_shrinks_dynamic_range(spec):
    db = 20 * torch.log10(magnitude(spec))
    db_c = 20 * torch.log10(magnitude(compress(spec, 0.3)))
    big = magnitude(spec) > 1e-3
    spread, spread_c = db[big].max() - db[big].min(), db_c[big].max() - db_c[big].min()
    torch.testing.assert_close(spread_c, 0.3 * spread, rtol=1e-4, atol=0)


def test_zero_input_has_no_nan_in_value_or_gradient():
    spec = torch.zeros(1, 257, 4, 2, requires_grad=True)
    out = compress(spec, 0.3)
    feat = spec_features(spec, 0.3)
    assert torch.isfinite(out).all() and torch.isfinite(feat).all()
    assert out.abs().max() == 0
    (out.sum() + feat.sum() + magnitude(spec).sum()).backward()
    assert torch.isfinite(spec.grad).all()


def test_spec_features_layout(spec):
    feat = spec_features(spec)  # (B,3,T,F)
    assert feat.shape == (2, 3, 17, 257)
    torch.testing.assert_close(feat[:, 0], magnitude(spec).transpose(1, 2))
    torch.testing.assert_close(feat[:, 1], spec[..., 0].transpose(1, 2))
    torch.testing.assert_close(feat[:, 2], spec[..., 1].transpose(1, 2))


def test_spec_features_compressed(spec):
    feat = spec_features(spec, 0.3)
    comp = compress(spec, 0.3)
    torch.testing.assert_close(feat[:, 1], comp[..., 0].transpose(1, 2))
    assert feat[:, 0].max() < magnitude(spec).max() ** 0.3 + 1e-6


def test_bad_inputs():
    with pytest.raises(ValueError, match="must be positive"):
        compress(torch.zeros(1, 2, 3, 2), 0.0)
    with pytest.raises(ValueError, match="real/imag on the last axis"):
        magnitude(torch.zeros(1, 257, 3))
    with pytest.raises(ValueError, match="pass \\(B, F, T, 2\\)"):
        spec_features(torch.zeros(257, 3, 2))
