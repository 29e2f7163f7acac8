import math

import numpy as np
import pytest
import torch

from gtcrn_micro.audio.samples import load_sample
from gtcrn_micro.audio.stft import istft, n_frames, stft, window
from gtcrn_micro.config import AudioConfig

LENGTHS = [1, 100, 255, 256, 257, 511, 512, 513, 4001, 16_000]


@pytest.mark.parametrize("length", LENGTHS)
def test_shape_and_frame_count(length):
    spec = stft(torch.randn(length))
    assert spec.shape == (1, 257, math.ceil(length / 256) + 1, 2)
    assert n_frames(length) == spec.shape[2]


def test_batch_shape_and_dtype_kept():
    spec = stft(torch.randn(3, 1000, dtype=torch.float64))
    assert spec.shape == (3, 257, 5, 2) and spec.dtype == torch.float64


@pytest.mark.parametrize("length", LENGTHS)
def test_perfect_reconstruction_random(length):
    wav = torch.rand(2, length) * 2 - 1
    out = istft(stft(wav), length)
    assert out.shape == (2, length)
    assert (out - wav).abs().max() < 1e-5


def test_perfect_reconstruction_real_audio():
    wav = torch.from_numpy(load_sample("speech_en_1"))[:12_345]  # odd length, real speech
    out = istft(stft(wav), len(wav))
    assert (out[0] - wav).abs().max() < 1e-5


def test_perfect_reconstruction_numpy_input():
    wav = np.random.default_rng(0).uniform(-1, 1, 777).astype(np.float32)
    out = istft(stft(wav), len(wav))
    np.testing.assert_allclose(out[0].numpy(), wav, atol=1e-5)


def test_perfect_reconstruction_75_percent_overlap():
    cfg = AudioConfig(n_fft=512, hop_length=128)
    wav = torch.randn(1, 3000)
    assert stft(wav, cfg).shape[2] == math.ceil(3000 / 128) + 3
    assert (istft(stft(wav, cfg), 3000, cfg) - wav).abs().max() < 1e-5


def test_batch_equals_per_item():
    wav = torch.randn(4, 5000)
    spec = stft(wav)
    for b in range(4):
        torch.testing.assert_close(spec[b : b + 1], stft(wav[b]))
    out = istft(spec, 5000)
    for b in range(4):
        torch.testing.assert_close(out[b : b + 1], istft(spec[b : b + 1], 5000))


def test_matches_torch_stft_with_the_same_framing():
    wav = torch.randn(2, 3000, dtype=torch.float64)
    spec = stft(wav)  # (B,F,T,2)
    total = (spec.shape[2] - 1) * 256 + 512
    padded = torch.nn.functional.pad(wav, (256, total - 256 - 3000))
    ref = torch.stft(padded, 512, 256, window=window(dtype=torch.float64), center=False, return_complex=True)
    torch.testing.assert_close(torch.view_as_complex(spec.contiguous()), ref)


def test_frames_are_causal_blocks():
    """Frame t holds input samples [(t + 1) * hop - n_fft, (t + 1) * hop): an impulse at 300 is
    seen by frames 1 and 2 only."""
    wav = torch.zeros(2000)
    wav[300] = 1.0
    energy = stft(wav).pow(2).sum(dim=(0, 1, 3))  # (T,)
    assert torch.nonzero(energy > 1e-12).flatten().tolist() == [1, 2]


def test_window_is_periodic_sqrt_hann_with_unit_overlap_add():
    w = window()
    assert w.shape == (512,)
    n = torch.arange(512, dtype=torch.float64)
    torch.testing.assert_close(w.double() ** 2, 0.5 - 0.5 * torch.cos(2 * math.pi * n / 512), atol=1e-6, rtol=0)
    torch.testing.assert_close(w[:256] ** 2 + w[256:] ** 2, torch.ones(256))


def test_gradient_flows_through_stft_and_istft():
    wav = torch.randn(1, 1000, requires_grad=True)
    istft(stft(wav) * 2.0, 1000).sum().backward()
    torch.testing.assert_close(wav.grad, torch.full_like(wav, 2.0))


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="must divide n_fft / 2"):
        stft(torch.randn(1000), AudioConfig(hop_length=200))
    with pytest.raises(ValueError, match="pass \\(L,\\) or \\(B, L\\)"):
        stft(torch.randn(1, 1, 1000))
    with pytest.raises(ValueError, match="no samples"):
        stft(torch.zeros(0))
    with pytest.raises(TypeError, match="convert it to float"):
        stft(torch.zeros(100, dtype=torch.int16))
    spec = stft(torch.randn(1000))  # T = 5
    with pytest.raises(ValueError, match="does not fit 5 frames; use 1 .. 1280"):
        istft(spec, 1281)
    with pytest.raises(ValueError, match="pass \\(B, 257, T, 2\\)"):
        istft(spec[:, :100], 1000)
