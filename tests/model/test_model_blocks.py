"""Blocks of GTCRN (gtcrn_micro/model/blocks.py): shapes, equivalences, and state carry-over."""

import pytest
import torch
from torch import nn

from gtcrn_micro.model.blocks import (
    DPGRNN,
    GRNN,
    SFE,
    TRA,
    ConvBlock,
    GTConvBlock,
    Mask,
    causal_pad,
    channel_shuffle,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_causal_pad_zeros_in_front_or_cache():
    x = torch.randn(2, 3, 5, 7)
    y = causal_pad(x, 4)
    assert y.shape == (2, 3, 9, 7)
    assert torch.equal(y[:, :, :4], torch.zeros(2, 3, 4, 7))
    assert torch.equal(y[:, :, 4:], x)
    cache = torch.randn(2, 3, 4, 7)
    assert torch.equal(causal_pad(x, 4, cache), torch.cat([cache, x], dim=2))


@pytest.mark.parametrize("kernel", [3, 5])
def test_sfe_matches_unfold(kernel):
    x = torch.randn(2, 4, 6, 33)  # (B,C,T,F)
    unfold = nn.Unfold((1, kernel), padding=(0, (kernel - 1) // 2))
    expected = unfold(x).reshape(2, 4 * kernel, 6, 33)
    assert torch.equal(SFE(kernel)(x), expected)


def test_channel_shuffle_interleaves():
    x1 = torch.randn(1, 8, 3, 5)
    x2 = torch.randn(1, 8, 3, 5)
    y = channel_shuffle(x1, x2)
    assert y.shape == (1, 16, 3, 5)
    assert torch.equal(y[:, 0::2], x1)
    assert torch.equal(y[:, 1::2], x2)


def test_tra_gain_in_unit_interval_and_state_carries_over():
    tra = TRA(8, 16).eval()
    x = torch.randn(2, 8, 10, 33)
    y, state = tra(x)
    assert y.shape == x.shape and state.shape == (1, 2, 16)
    ratio = y / x
    assert ((ratio > 0) & (ratio < 1)).all()
    # the gain is one number per (channel, frame): the same for every band
    assert torch.allclose(ratio, ratio[..., :1].expand_as(ratio), atol=1e-5)
    # running in two chunks with the state passed on equals one run (ready for streaming)
    y1, s1 = tra(x[:, :, :4])
    y2, s2 = tra(x[:, :, 4:], s1)
    assert torch.allclose(torch.cat([y1, y2], dim=2), y, atol=1e-6)
    assert torch.allclose(s2, state, atol=1e-6)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_grnn_groups_shapes_and_params(bidirectional):
    g = GRNN(16, 8, groups=2, bidirectional=bidirectional)
    dirs = 2 if bidirectional else 1
    y, h = g(torch.randn(5, 33, 16))
    assert y.shape == (5, 33, dirs * 8) and h.shape == (dirs, 5, 8)
    # two GRUs of half the width: half the weights of one GRU(16, 8)
    whole = nn.GRU(16, 8, bidirectional=bidirectional)
    n = sum(p.numel() for p in g.parameters())
    n_whole = sum(p.numel() for p in whole.parameters())
    bias = dirs * 2 * 3 * 8  # biases do not halve
    assert n - bias == (n_whole - bias) // 2


def test_grnn_group_sees_only_its_slice():
    g = GRNN(16, 8, groups=2)
    x = torch.randn(3, 7, 16)
    y, _ = g(x)
    x2 = x.clone()
    x2[..., 8:] += 1.0  # change only the second group's inputs
    y2, _ = g(x2)
    assert torch.equal(y[..., :4], y2[..., :4])  # first group's outputs untouched
    assert not torch.allclose(y[..., 4:], y2[..., 4:])


def test_grnn_state_carries_over():
    g = GRNN(16, 16, groups=2)
    x = torch.randn(4, 12, 16)
    y, h = g(x)
    ya, ha = g(x[:, :5])
    yb, hb = g(x[:, 5:], ha)
    assert torch.allclose(torch.cat([ya, yb], dim=1), y, atol=1e-6)
    assert torch.allclose(hb, h, atol=1e-6)


def test_convblock_halves_and_doubles_frequency():
    down = ConvBlock(9, 16, (1, 5), (1, 2), (0, 2))
    up = ConvBlock(16, 2, (1, 5), (1, 2), (0, 2), transpose=True, last=True)
    x = torch.randn(2, 9, 4, 129)
    h = down(x)
    assert h.shape == (2, 16, 4, 65)
    y = up(h)
    assert y.shape == (2, 2, 4, 129)
    assert y.abs().max() < 1  # Tanh on the last block


@pytest.mark.parametrize("dilation", [1, 2, 5])
def test_gtconvblock_shape_and_untouched_half(dilation):
    block = GTConvBlock(16, 16, (3, 3), dilation, 3, 16).eval()
    x = torch.randn(2, 16, 12, 33)
    y = block(x)
    assert y.shape == x.shape
    # half 2 passes untouched and lands on the odd channels after the shuffle
    assert torch.equal(y[:, 1::2], x[:, 8:])
    assert not torch.allclose(y[:, 0::2], x[:, :8])


@pytest.mark.parametrize("dilation", [1, 2, 5])
def test_causal_conv_equals_reference_stride1_transposed_conv(dilation):
    """The reference decoder's depthwise ConvTranspose2d (stride 1, time padding 2d after a
    front pad of 2d frames) is our causal Conv2d with the kernel flipped."""
    c, k = 16, 3
    deconv = nn.ConvTranspose2d(c, c, (k, 3), padding=((k - 1) * dilation, 1), dilation=(dilation, 1), groups=c)
    conv = nn.Conv2d(c, c, (k, 3), padding=(0, 1), dilation=(dilation, 1), groups=c)
    with torch.no_grad():
        conv.weight.copy_(deconv.weight.flip(2, 3))
        conv.bias.copy_(deconv.bias)
    x = torch.randn(1, c, 20, 33)
    pad = (k - 1) * dilation
    assert torch.allclose(conv(causal_pad(x, pad)), deconv(causal_pad(x, pad)), atol=1e-5)


def test_dpgrnn_shape_and_residual():
    dp = DPGRNN(16, 33, 16, groups=2).eval()
    x = torch.randn(2, 16, 9, 33)
    y = dp(x)
    assert y.shape == x.shape
    assert dp.intra_rnn.rnns[0].hidden_size == 4 and dp.intra_rnn.rnns[0].bidirectional
    assert dp.inter_rnn.rnns[0].hidden_size == 8 and not dp.inter_rnn.rnns[0].bidirectional
    # with both LayerNorm scales at zero and zero shift, the block is the identity (pure residual)
    with torch.no_grad():
        for ln in (dp.intra_ln, dp.inter_ln):
            ln.weight.zero_()
            ln.bias.zero_()
    assert torch.equal(dp(x), x)


def test_dpgrnn_inter_state_carries_over():
    dp = DPGRNN(16, 33, 16).eval()
    x = torch.randn(1, 10, 33, 16)  # (B,T,F,C)
    y, s = dp.inter(x)
    ya, sa = dp.inter(x[:, :6])
    yb, sb = dp.inter(x[:, 6:], sa)
    assert torch.allclose(torch.cat([ya, yb], dim=1), y, atol=1e-5)
    assert torch.allclose(sb, s, atol=1e-6)


def test_mask_is_complex_multiplication():
    mask = torch.randn(2, 2, 5, 257)
    spec = torch.randn(2, 2, 5, 257)
    y = Mask()(mask, spec)
    expected = torch.complex(mask[:, 0], mask[:, 1]) * torch.complex(spec[:, 0], spec[:, 1])
    assert torch.allclose(y[:, 0], expected.real, atol=1e-6)
    assert torch.allclose(y[:, 1], expected.imag, atol=1e-6)
