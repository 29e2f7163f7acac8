"""Streaming (gtcrn_micro/streaming): chunk-by-chunk output equals the offline model, shifted by the latency."""

import numpy as np
import pytest
import torch

from gtcrn_micro.audio import istft, load_sample, stft
from gtcrn_micro.inference import load_enhancer
from gtcrn_micro.model import build_model
from gtcrn_micro.streaming import StreamingEnhancer, plot_state_sizes, state_summary
from tests.inference._fixtures import make_checkpoint, single_thread  # noqa: F401  (autouse fixture)

TOL = 1e-5
MODELS = ["micro", "gtcrn"]


def _model(name: str, seed: int = 0) -> torch.nn.Module:
    """A random model in eval mode with non-trivial BatchNorm statistics (so eval differs from train)."""
    torch.manual_seed(seed)
    net = build_model(name)
    g = torch.Generator().manual_seed(seed)
    for mod in net.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.rand(mod.num_features, generator=g) - 0.5)
            mod.running_var.copy_(0.5 + 1.5 * torch.rand(mod.num_features, generator=g))
    return net.eval()


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    return _model(request.param)


def _offline(net, wav: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return istft(net(stft(torch.from_numpy(wav))), len(wav))[0].numpy()


def _stream(se: StreamingEnhancer, wav: np.ndarray, chunk: int) -> np.ndarray:
    """Everything the stream returns for ``wav`` fed in ``chunk``-sample pieces, plus the flush."""
    parts = [se.process(wav[i : i + chunk]) for i in range(0, len(wav), chunk)]
    return np.concatenate(parts + [se.flush()])


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(16_000 * seconds))).astype(np.float32)


def test_latency_is_one_frame_minus_one_hop(model):
    se = StreamingEnhancer(model)
    assert se.latency == model.cfg.audio.n_fft - model.cfg.audio.hop_length == 256
    assert se.latency_ms == pytest.approx(16.0)


def test_stream_equals_offline_on_noise(model):
    wav = _noise(0.7, seed=1)
    se = StreamingEnhancer(model)
    out = _stream(se, wav, 256)
    assert len(out) == len(wav) + se.latency
    ref = _offline(model, wav)
    assert np.abs(out[se.latency :] - ref).max() <= TOL
    assert np.abs(ref).max() > 1e-2  # the comparison is not between two silences


def test_stream_equals_offline_on_a_shipped_clip(model):
    wav = load_sample("speech_en_1")[8000:24000]  # 1 s of real speech
    se = StreamingEnhancer(model)
    out = _stream(se, wav, 333)
    assert np.abs(out[se.latency :] - _offline(model, wav)).max() <= TOL


def test_chunk_size_does_not_change_the_output(model):
    wav = _noise(0.3, seed=2)
    se = StreamingEnhancer(model)
    outs = {chunk: _stream(se, wav, chunk) for chunk in (1, 100, 256, 333, len(wav))}
    for chunk, out in outs.items():
        assert np.array_equal(out, outs[256]), chunk


def test_process_returns_only_whole_hops():
    se = StreamingEnhancer(_model("micro"))
    sizes = [len(se.process(np.zeros(n, np.float32))) for n in (1, 255, 1, 1, 600)]
    assert sizes == [0, 256, 0, 0, 512]  # frames complete at 256 samples, then every 256
    assert len(se.flush()) == 858 + 256 - 768  # total = input + latency


def test_reset_mid_stream_starts_a_fresh_stream(model):
    first, rest = _noise(0.25, seed=3), _noise(0.4, seed=4)
    se = StreamingEnhancer(model)
    se.process(first)
    se.reset()
    out = _stream(se, rest, 256)
    assert np.abs(out[se.latency :] - _offline(model, rest)).max() <= TOL


def test_flush_ends_the_stream():
    net = _model("micro")
    se = StreamingEnhancer(net)
    wav = _noise(0.2, seed=5)
    a = _stream(se, wav, 256)
    b = _stream(se, wav, 256)  # after flush the next stream starts from zero state
    assert np.array_equal(a, b)
    assert len(se.flush()) == 0  # nothing fed: nothing to return


class _PassThrough(torch.nn.Module):
    """The smallest streaming-capable model: a unit mask and a running frame count as its state.
    Lets the 60 s test exercise the stream's own buffers in about a second."""

    def __init__(self):
        super().__init__()
        self.cfg = build_model("micro").cfg

    def initial_state(self, batch=1):
        return {"count": torch.zeros(batch, 1)}

    def features(self, spec):
        return spec

    def core(self, feat, state):
        return torch.ones_like(feat), {"count": state["count"] + 1}

    def apply_mask(self, mask, spec):
        return mask * spec


def test_buffers_stay_constant_over_a_long_stream():
    se = StreamingEnhancer(_PassThrough())
    start = se.buffer_sizes()
    wav = _noise(60.0, seed=6)
    n_out = 0
    for i in range(0, len(wav), 256):  # 60 s in 256-sample chunks
        n_out += len(se.process(wav[i : i + 256]))
        assert se.buffer_sizes() == start
    assert n_out == len(wav) and int(se.state["count"]) == len(wav) // 256
    assert start == {"input": 512, "overlap_add": 512, "state": 1}
    tail = se.flush()
    assert np.abs(tail - wav[-256:]).max() < 1e-5  # unit mask: the stream is the input, 256 samples late


def test_model_state_keeps_its_shapes(model):
    se = StreamingEnhancer(model)
    se.process(_noise(0.1, seed=7))
    assert {k: tuple(v.shape[1:]) for k, v in se.state.items()} == model.state_shapes()


def test_rejects_multichannel_chunks():
    with pytest.raises(ValueError, match="1-D"):
        StreamingEnhancer(_model("micro")).process(np.zeros((2, 10), np.float32))


@pytest.mark.parametrize("name", MODELS)
def test_stream_backend_equals_torch_backend(tmp_path, name):
    ckpt = make_checkpoint(tmp_path / f"{name}.pt", name)
    wav = load_sample("speech_en_2")[:12_000]
    streamed = load_enhancer(name, ckpt, backend="stream").enhance(wav)
    offline = load_enhancer(name, ckpt, backend="torch").enhance(wav)
    assert streamed.shape == wav.shape
    assert np.abs(streamed - offline).max() <= TOL


@pytest.mark.parametrize("name", MODELS)
def test_state_summary_and_plot(name):
    net = build_model(name)
    rows = state_summary(net)
    assert [r["name"] for r in rows] == list(net.state_shapes())
    assert {r["kind"] for r in rows} == {"conv cache", "TRA GRU hidden", "inter GRU hidden"}
    fig = plot_state_sizes(net)
    assert len(fig.axes[0].patches) == len(rows)


def test_load_stream_model_prefers_a_checkpoint(tmp_path, monkeypatch):
    import gtcrn_micro.inference.enhancer as enhancer_mod
    from gtcrn_micro.streaming import load_stream_model

    ckpt = make_checkpoint(tmp_path / "micro.pt", "micro", seed=3)
    net, source = load_stream_model("micro", ckpt)
    assert source == ckpt and not net.training
    assert torch.equal(net.state_dict()["enc1.0.weight"], torch.load(ckpt)["model"]["enc1.0.weight"])
    monkeypatch.setattr(enhancer_mod, "_shipped_dir", lambda: tmp_path / "none")
    net, source = load_stream_model("gtcrn")  # nothing shipped: an untrained model
    assert source is None and type(net).__name__ == "GTCRN"


def test_benchmark_step_and_results_file(tmp_path):
    import json

    from gtcrn_micro.streaming import benchmark_step, load_streaming_benchmark

    r = benchmark_step(_PassThrough(), frames=20, warmup=2)
    assert r["frames"] == 20 and r["p50_ms"] <= r["p90_ms"] <= r["p99_ms"] <= r["max_ms"]
    assert r["rtf"] == pytest.approx(r["mean_ms"] / 16.0) and r["latency_samples"] == 256
    assert 0 < r["rtf_cpu"] == pytest.approx(r["cpu_mean_ms"] / 16.0)
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"results": {"micro": r}}))
    assert load_streaming_benchmark(path)["results"]["micro"]["frames"] == 20
    with pytest.raises(FileNotFoundError, match="benchmark_streaming.py"):
        load_streaming_benchmark(tmp_path / "missing.json")
