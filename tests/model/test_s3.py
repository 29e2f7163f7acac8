"""The ESP32-S3-native model (model/s3.py): offline == streaming, its cost, clear errors."""

import pytest
import torch

from gtcrn_micro.config import get_config
from gtcrn_micro.model import S3GTCRN, build_model, profile_model
from gtcrn_micro.model.s3 import CausalDepthwise, FreqStridedDepthwise, GRUConvCell


def randomized(model):
    torch.manual_seed(1)
    for mod in model.modules():  # non-trivial BatchNorm statistics, as after training
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.3, 0.3), mod.running_var.uniform_(0.5, 1.5)
    return model.eval()


@pytest.mark.parametrize("options", [{}, {"dual_path": "gru", "dp_blocks": 2}, {"dual_path": "gru", "tra_where": "encoder"},
                                     {"sfe_kernel": 1, "gt_kernel_f": 3, "tra_where": "none"}])
def test_offline_equals_streaming(options):
    torch.manual_seed(0)
    model = randomized(build_model(get_config("s3").with_model(**options)))
    feat = torch.randn(1, 3, 30, 129)
    with torch.no_grad():
        offline, final = model.core(feat)
        state, steps = model.initial_state(1), []
        for t in range(feat.shape[2]):
            mask, state = model.core(feat[:, :, t : t + 1], state)
            steps.append(mask)
    assert torch.allclose(offline, torch.cat(steps, 2), atol=1e-5)
    for k in final:  # the offline pass ends in the state the stream ends in
        assert torch.allclose(final[k], state[k], atol=1e-5), k


def test_dilated_depthwise_step_takes_every_dth_frame():
    torch.manual_seed(0)
    conv = randomized(CausalDepthwise(16, 3, 4))
    x = torch.randn(2, 16, 12, 5)
    with torch.no_grad():
        whole, _ = conv(x, torch.zeros(2, 16, 8, 5))
        cache, frames = torch.zeros(2, 16, 8, 5), []
        for t in range(12):
            y, cache = conv(x[:, :, t : t + 1], cache)
            frames.append(y)
    assert torch.allclose(whole, torch.cat(frames, 2), atol=1e-6)


def test_gru_cell_as_convs_equals_nn_gru():
    torch.manual_seed(0)
    cell = GRUConvCell(16, 8)
    x, h = torch.randn(2, 16, 1, 33), torch.randn(2, 8, 1, 33).tanh()
    seq = x.permute(0, 3, 2, 1).reshape(66, 1, 16)
    with torch.no_grad():
        ref, _ = cell.gru(seq, h.permute(0, 3, 2, 1).reshape(1, 66, 8))
        step = cell.cell(x, h)
    assert torch.allclose(step.permute(0, 3, 2, 1).reshape(66, 1, 8), ref, atol=1e-6)


def test_strided_depthwise_step_and_offline_agree():
    torch.manual_seed(0)
    conv = FreqStridedDepthwise(16, 5, 2)
    x = torch.randn(1, 16, 4, 65)
    with torch.no_grad():
        whole = conv(x)
        frames = torch.cat([conv(x[:, :, t : t + 1]) for t in range(4)], 2)
    assert whole.shape == (1, 16, 4, 33) and torch.allclose(whole, frames, atol=1e-6)


def test_mask_is_clamped_on_the_host_only():
    model = randomized(build_model("s3"))
    spec = torch.randn(1, 257, 4, 2)
    mask = torch.full((1, 2, 4, 129), 3.0)
    assert torch.allclose(model.apply_mask(mask, spec), model.apply_mask(torch.ones_like(mask), spec))


def test_budget_and_registration():
    model = build_model("s3")
    assert isinstance(model, S3GTCRN)
    report = profile_model(model)
    assert report.params <= 25_000 and report.macs_per_second <= 35e6


def test_channels_must_suit_the_simd_kernels():
    with pytest.raises(ValueError, match="multiple of 16"):
        build_model(get_config("s3").with_model(channels=12))
