import pytest
import torch

from gtcrn_micro.config import get_config
from gtcrn_micro.model import build_model, profile_model
from gtcrn_micro.model.micro import CachedConv2d, IntPReLU, MicroGTCRN, StreamGRU, UpConv


VARIANTS = {"gru": {"tra_energy": "square"}, "tcn": {"dual_path": "tcn", "tra_energy": "square"},
            "gru-abs": {"tra_energy": "abs"}, "gru-relu": {"activation": "relu", "tra_energy": "square"}}  # compare_candidates.py's


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def model(request):
    torch.manual_seed(0)
    m = MicroGTCRN(get_config("micro").with_model(**VARIANTS[request.param])).eval()
    for mod in m.modules():  # non-trivial BatchNorm statistics
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2), mod.running_var.uniform_(0.5, 1.5)
    return m


def test_budget():
    report = profile_model(build_model("micro"))
    assert report.params <= 25_000
    assert report.macs_per_second <= 35e6


def test_shapes_and_bounded_mask(model):
    spec = torch.randn(2, 257, 30, 2)
    assert model(spec).shape == (2, 257, 30, 2)
    mask, state = model.core(model.features(spec))
    assert mask.shape == (2, 2, 30, 129) and mask.abs().max() <= 1.0
    assert {k: tuple(v.shape[1:]) for k, v in state.items()} == model.state_shapes()


def test_streaming_equals_offline(model):
    spec = torch.randn(1, 257, 25, 2)
    feat = model.features(spec)
    with torch.no_grad():
        offline, _ = model.core(feat)
        state, frames = model.initial_state(1), []
        for t in range(feat.shape[2]):
            y, state = model.core(feat[:, :, t : t + 1], state)
            frames.append(y)
    assert (torch.cat(frames, 2) - offline).abs().max() < 1e-5


def test_causal(model):
    spec = torch.randn(1, 257, 30, 2)
    spec2 = spec.clone()
    spec2[:, :, 20:] = torch.randn(1, 257, 10, 2)
    with torch.no_grad():
        a, b = model(spec), model(spec2)
    assert (a[:, :, :20] - b[:, :, :20]).abs().max() < 1e-6
    assert (a[:, :, 20:] - b[:, :, 20:]).abs().max() > 1e-3


def test_upconv_equals_transposed_conv():
    torch.manual_seed(0)
    up = UpConv(16, 4, 5, 2)
    ct = torch.nn.ConvTranspose2d(16, 4, (1, 5), stride=(1, 2), padding=(0, 2))
    ct.weight.data = up.conv.weight.data.transpose(0, 1).flip(-1).contiguous()
    ct.bias.data = up.conv.bias.data
    x = torch.randn(2, 16, 3, 33)
    assert up(x).shape == (2, 4, 3, 65)
    assert (up(x) - ct(x)).abs().max() < 1e-5


def test_gru_cell_equals_nn_gru():
    torch.manual_seed(0)
    g = StreamGRU(8, 16)
    x, h = torch.randn(5, 7, 8), torch.randn(5, 16)
    y_seq, h_seq = g(x, h)
    hs = h
    for t in range(7):
        _, hs = g(x[:, t : t + 1], hs)  # one frame: the explicit cell
    assert (hs - h_seq).abs().max() < 1e-5


def test_int_prelu_is_prelu():
    act = IntPReLU(4)
    act.weight.data = torch.tensor([0.1, 0.2, 0.3, 0.4])
    x = torch.randn(2, 4, 3, 5)
    ref = torch.nn.functional.prelu(x, act.weight)
    assert (act(x) - ref).abs().max() < 1e-6


def test_cached_conv_cache_holds_the_last_frames():
    conv = CachedConv2d(2, 2, (3, 3), dilation_t=2, groups=2)
    x = torch.randn(1, 2, 9, 5)
    _, cache = conv(x, torch.zeros(1, 2, 4, 5))
    assert torch.equal(cache, x[:, :, -4:])


def test_unknown_dual_path_is_a_clear_error():
    with pytest.raises(ValueError, match="dual_path"):
        MicroGTCRN(get_config("micro").with_model(dual_path="lstm"))


def test_unknown_tra_energy_is_a_clear_error():
    with pytest.raises(ValueError, match="tra_energy"):
        MicroGTCRN(get_config("micro").with_model(tra_energy="log"))


def test_tra_energy_abs_is_the_mean_magnitude():
    torch.manual_seed(0)
    tra = MicroGTCRN(get_config("micro").with_model(tra_energy="abs")).enc_gt[0].tra
    x = torch.randn(1, 8, 4, 33)
    seen = {}
    tra.gru.register_forward_hook(lambda mod, args, out: seen.update(energy=args[0]))  # returns None: output kept
    with torch.no_grad():
        tra(x, torch.zeros(1, tra.gru.hidden_size))
    assert torch.allclose(seen["energy"], x.abs().mean(-1).transpose(1, 2))


def test_unknown_activation_is_a_clear_error():
    with pytest.raises(ValueError, match="activation"):
        MicroGTCRN(get_config("micro").with_model(activation="gelu"))


def test_relu_variant_has_no_prelu():
    m = MicroGTCRN(get_config("micro").with_model(activation="relu"))
    assert not any(isinstance(mod, IntPReLU) for mod in m.modules())
    assert sum(isinstance(mod, torch.nn.ReLU) for mod in m.modules()) == 17  # where the micro preset has IntPReLUs
    assert sum(isinstance(mod, IntPReLU) for mod in MicroGTCRN(get_config("micro")).modules()) == 17
