"""The reference GTCRN (gtcrn_micro/model/gtcrn.py): shapes, causality, size, gradients."""

import pytest
import torch

from gtcrn_micro.config import get_config
from gtcrn_micro.model import MODEL_BUILDERS, GTCRN, build_model

PAPER_PARAMS = 23_700  # "23.7K" (Rong et al., ICASSP 2024)
ERB_FIXED = 2 * 192 * 64  # bm and bs matrices


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GTCRN().eval()


def _spec(t, b=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, 257, t, 2, generator=g)


@pytest.mark.parametrize("t", [1, 2, 7, 63])
def test_shapes(model, t):
    spec = _spec(t, b=2)
    with torch.no_grad():
        feat = model.features(spec)
        mask, _ = model.core(feat)
        enh = model(spec)
    assert feat.shape == (2, 3, t, 129)
    assert mask.shape == (2, 2, t, 129)
    assert enh.shape == spec.shape
    assert mask.abs().max() < 1  # Tanh output


def test_forward_is_the_three_stages(model):
    spec = _spec(11)
    with torch.no_grad():
        staged = model.apply_mask(model.core(model.features(spec))[0], spec)
        assert torch.equal(model(spec), staged)


def test_features_match_audio_features(model):
    from gtcrn_micro.audio.features import spec_features

    spec = _spec(9)
    with torch.no_grad():
        assert torch.allclose(model.features(spec), model.erb.bm(spec_features(spec, 1.0)), atol=1e-6)


def test_zero_mask_gives_silence_and_unit_real_mask_gives_identity_below_erb(model):
    spec = _spec(4)
    zero = torch.zeros(1, 2, 4, 129)
    assert torch.equal(model.apply_mask(zero, spec), torch.zeros_like(spec))
    one = torch.zeros(1, 2, 4, 129)
    one[:, 0] = 1.0
    enh = model.apply_mask(one, spec)
    assert torch.allclose(enh[:, :65], spec[:, :65])  # the low 65 bins pass through the ERB as they are


@pytest.mark.parametrize("t0", [1, 17, 30])
def test_causal(model, t0):
    """Changing frames >= t0 leaves every output frame < t0 unchanged (eval mode)."""
    a = _spec(40, seed=1)
    b = a.clone()
    b[:, :, t0:] = _spec(40 - t0, seed=2)
    with torch.no_grad():
        ya, yb = model(a), model(b)
    assert (ya[:, :, :t0] - yb[:, :, :t0]).abs().max() <= 1e-6
    assert (ya[:, :, t0:] - yb[:, :, t0:]).abs().max() > 1e-3  # the change does reach later frames


def test_conv_receptive_field_is_33_frames():
    """With every GRU weight at zero only the convs carry time information: one input frame then
    reaches exactly the 32 frames after it (16 through the encoder's dilations 1, 2, 5, 16 through
    the decoder's 5, 2, 1)."""
    torch.manual_seed(0)
    model = GTCRN().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".att_gru." in name or ".rnns." in name:
                if "weight" in name:
                    p.zero_()
    t0, t = 5, 50
    a = _spec(t, seed=3)
    b = a.clone()
    b[:, :, t0] += 1.0
    with torch.no_grad():
        diff = (model(a) - model(b)).abs().amax(dim=(0, 1, 3))  # (T,)
    reached = torch.nonzero(diff > 0).flatten().tolist()  # beyond the field, outputs are bit-identical
    assert reached[0] == t0 and reached[-1] == t0 + 32
    assert set(reached) == set(range(t0, t0 + 33))


def test_param_counts(model):
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    fixed = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    assert abs(trainable - PAPER_PARAMS) <= 0.02 * PAPER_PARAMS, trainable
    assert fixed == ERB_FIXED


def test_gradients_reach_every_trainable_parameter():
    torch.manual_seed(0)
    model = GTCRN().train()
    spec = _spec(20, b=2)
    target = _spec(20, b=2, seed=5)
    loss = (model(spec) - target).pow(2).mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or p.grad.abs().max() == 0)]
    assert not missing
    assert all(p.grad is None for p in model.parameters() if not p.requires_grad)


def test_eval_is_deterministic(model):
    spec = _spec(15)
    with torch.no_grad():
        assert torch.equal(model(spec), model(spec))


def test_widths_follow_the_config():
    cfg = get_config("gtcrn").with_model(channels=8, dp_hidden=8, dilations=(1, 2), dp_blocks=1)
    small = GTCRN(cfg).eval()
    assert list(small.encoder.blocks) == ["conv1", "conv2", "gtconv1", "gtconv2"]
    assert small.encoder.blocks["gtconv2"].pad_frames == 4
    assert small.encoder.blocks["conv1"].conv.out_channels == 8
    assert not hasattr(small, "dpgrnn2")
    with torch.no_grad():
        assert small(_spec(6)).shape == (1, 257, 6, 2)
    assert sum(p.numel() for p in small.parameters() if p.requires_grad) < 12_000


def test_build_model():
    assert isinstance(build_model("gtcrn"), GTCRN)
    cfg = get_config("gtcrn").with_model(channels=8, dp_hidden=8)
    built = build_model(cfg)
    assert isinstance(built, GTCRN) and built.cfg is cfg
    assert MODEL_BUILDERS["gtcrn"] is GTCRN


def test_build_model_unregistered_name_is_a_clear_error(monkeypatch):
    monkeypatch.delitem(MODEL_BUILDERS, "micro", raising=False)
    with pytest.raises(ValueError, match="micro.*no model class registered"):
        build_model("micro")
    with pytest.raises(ValueError, match="Unknown model"):
        build_model("nosuch")


def test_state_shapes_follow_the_config(model):
    shapes = model.state_shapes()
    assert shapes["enc_gt0_conv"] == (16, 2, 33) and shapes["enc_gt2_conv"] == (16, 10, 33)
    assert shapes["dec_gt0_conv"] == (16, 10, 33) and shapes["dec_gt2_tra"] == (16,)
    assert shapes["dp0_h"] == (33, 16) and shapes["dp1_h"] == (33, 16)
    assert len(shapes) == 2 * 3 * 2 + 2
    state = model.initial_state(3)
    assert all(state[k].shape == (3, *s) and not state[k].any() for k, s in shapes.items())


def test_core_frame_by_frame_equals_offline(model):
    """Streaming contract: one frame at a time from an explicit state gives the offline masks."""
    model.eval()
    feat = model.features(_spec(20))
    with torch.no_grad():
        offline, final = model.core(feat)
        state, steps = model.initial_state(1), []
        for t in range(feat.shape[2]):
            mask, state = model.core(feat[:, :, t : t + 1], state)
            steps.append(mask)
        half, s_half = model.core(feat[:, :, :7])
        rest, _ = model.core(feat[:, :, 7:], s_half)
    assert torch.allclose(torch.cat(steps, 2), offline, atol=1e-5)
    assert torch.allclose(torch.cat([half, rest], 2), offline, atol=1e-5)
    assert all(torch.allclose(state[k], final[k], atol=1e-5) for k in final)
