import pytest
import torch

from gtcrn_micro.audio.stft import stft
from gtcrn_micro.training import hybrid_loss, si_snr_loss


def test_perfect_estimate_has_zero_spectral_terms_and_very_negative_sisnr():
    torch.manual_seed(0)
    wav = torch.randn(2, 8000) * 0.1
    spec = stft(wav)
    terms = hybrid_loss(spec, spec, 8000)
    assert terms["complex"] < 1e-10 and terms["magnitude"] < 1e-10
    assert terms["sisnr"] < -6  # -log10 of an SNR above 60 dB


def test_loss_grows_with_the_error():
    torch.manual_seed(0)
    wav = torch.randn(1, 8000) * 0.1
    noise = torch.randn(1, 8000)
    losses = [float(hybrid_loss(stft(wav + a * noise), stft(wav), 8000)["total"]) for a in (0.001, 0.01, 0.1)]
    assert losses[0] < losses[1] < losses[2]


def test_sisnr_loss_is_scale_invariant_and_matches_db():
    torch.manual_seed(0)
    ref = torch.randn(3, 4000)
    est = ref + 0.1 * torch.randn(3, 4000)  # about 20 dB
    a, b = si_snr_loss(est, ref), si_snr_loss(5.0 * est, ref)
    assert a == pytest.approx(float(b), rel=1e-4)
    assert -float(a) * 10 == pytest.approx(20.0, abs=0.6)


def test_gradient_is_finite_on_silence():
    spec = torch.zeros(1, 257, 10, 2, requires_grad=True)
    terms = hybrid_loss(spec, stft(torch.randn(1, 2304) * 0.1), 2304)
    terms["total"].backward()
    assert torch.isfinite(spec.grad).all()
