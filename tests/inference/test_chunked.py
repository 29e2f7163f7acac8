"""Bounded memory (issue 23): every backend enhances in blocks with its state carried, and the
result is the one-pass result; files are read, checked and written a block at a time."""

import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from gtcrn_micro.audio import AudioError, AudioNotice, istft, load_audio, resample, stft
from gtcrn_micro.audio.blocks import ChunkedRun, SpecBlocks, StreamResampler, read_blocks, scan_audio
from gtcrn_micro.inference import load_enhancer
from tests.conftest import speech_like
from tests.inference._fixtures import make_checkpoint, single_thread  # noqa: F401  (autouse fixture)
from tests.streaming.test_streaming import _model

TINY = [37, 256, 1000]  # samples per block: below one hop, one hop, a few hops


def _noisy(seconds: float = 0.6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = speech_like(rng, seconds)
    return (c + 0.03 * rng.standard_normal(len(c))).astype(np.float32)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "micro.pt")


def _blocks(run: ChunkedRun, wav: np.ndarray, block: int) -> np.ndarray:
    """``run`` on ``wav`` fed ``block`` samples at a time through one fresh stream."""
    stream = run.new_stream()
    parts = [stream.process(wav[i : i + block]) for i in range(0, len(wav), block)]
    return np.concatenate(parts + [stream.flush()])


# ---------------------------------------------------------------- the building blocks
@pytest.mark.parametrize("length", [1, 255, 256, 257, 4000])
@pytest.mark.parametrize("block", [1, 37, 256, 10_000])
def test_spec_blocks_equal_stft_fn_istft(length, block):
    wav = np.random.default_rng(length).standard_normal(length).astype(np.float32)
    fn = lambda spec: spec * 0.5  # noqa: E731
    ref = istft(fn(stft(torch.from_numpy(wav))), length)[0].numpy()
    out = ChunkedRun(lambda: SpecBlocks(fn), block=block)(wav)
    np.testing.assert_allclose(out, ref, atol=1e-6)


@pytest.mark.parametrize("rates", [(44_100, 16_000), (48_000, 16_000), (8_000, 16_000), (22_050, 16_000)])
@pytest.mark.parametrize("block", [1, 13, 4096])
def test_resampling_in_blocks_equals_resample(rates, block):
    wav = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    ref = resample(wav, *rates)
    rs = StreamResampler(*rates, len(wav))
    out = np.concatenate([rs.process(wav[i : i + block]) for i in range(0, len(wav), block)] + [rs.flush()])
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-7)


# ---------------------------------------------------------------- every backend: blocks == one pass
@pytest.mark.parametrize("model", ["micro", "gtcrn"])
def test_torch_backend_in_blocks_equals_one_pass(tmp_path, model):
    net = _model(model)  # non-trivial BatchNorm statistics
    torch.save({"model": net.state_dict(), "model_name": model}, tmp_path / "bn.pt")
    enh = load_enhancer(model, tmp_path / "bn.pt", "torch")
    wav = _noisy()
    with torch.no_grad():
        ref = istft(net(stft(torch.from_numpy(wav))), len(wav))[0].numpy()  # the whole clip in one pass
    np.testing.assert_allclose(enh.enhance(wav), ref, atol=2e-6)
    for block in TINY:
        np.testing.assert_allclose(_blocks(enh.run, wav, block), ref, atol=2e-6)


def test_stream_backend_in_blocks_equals_one_pass_and_the_eager_step(ckpt):
    from gtcrn_micro.streaming import StreamingEnhancer

    enh = load_enhancer("micro", ckpt, "stream")
    wav = _noisy()
    se = StreamingEnhancer(enh.run.new_stream().streamer.model)  # eager, not traced
    full = np.concatenate([se.process(wav), se.flush()])
    ref = full[se.latency : se.latency + len(wav)]  # what the backend computed before it went in blocks
    np.testing.assert_array_equal(enh.enhance(wav), ref)  # the frozen trace is bit-exact
    for block in TINY:
        np.testing.assert_array_equal(_blocks(enh.run, wav, block), ref)


@pytest.mark.parametrize("kind", ["float", "int8", "int16x8"])
def test_tflite_backends_in_blocks_equal_one_pass(kind):
    """The shipped steps: one pass over every frame (the old TFLiteEnhancer) == blocks, the state carried."""
    enh = load_enhancer("micro", None, f"tflite-{kind}")
    wav = _noisy(0.4)
    from gtcrn_micro.export.enhance import TFLiteEnhancer, shipped_tflite
    from gtcrn_micro.model import build_model

    te = TFLiteEnhancer(build_model("micro"), shipped_tflite("micro", kind))
    spec = stft(torch.from_numpy(wav))  # (1,257,T,2)
    with torch.no_grad():
        feat = te.model.features(spec)[0].permute(1, 0, 2).unsqueeze(2).numpy()  # (T,3,1,129)
        mask = torch.from_numpy(te.step.stream(feat)[:, :, 0]).permute(1, 0, 2).unsqueeze(0)  # (1,2,T,129)
        ref = istft(te.model.apply_mask(mask, spec), len(wav))[0].numpy()
    np.testing.assert_allclose(enh.enhance(wav), ref, atol=1e-6)
    for block in TINY:
        np.testing.assert_allclose(_blocks(enh.run, wav, block), ref, atol=1e-6)


# ---------------------------------------------------------------- files in blocks
def _file_result(enh, src, dst, block):
    result = enh.enhance_file(src, dst, block=block)  # notices come back in the result
    return result, result.notices


def test_file_in_blocks_equals_the_whole_file(tmp_path, ckpt):
    """A stereo 44.1 kHz file read, resampled, enhanced and written in tiny blocks == loaded whole."""
    enh = load_enhancer("micro", ckpt, "torch")
    src = tmp_path / "talk.wav"
    wav = speech_like(np.random.default_rng(3), 0.5, 44_100)
    sf.write(str(src), np.stack([wav, 0.5 * wav], 1), 44_100, subtype="FLOAT")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AudioNotice)
        whole = load_audio(src)
        assert np.array_equal(np.concatenate(list(read_blocks(scan_audio(src, block=999), block=999))), whole)
    result, notes = _file_result(enh, src, tmp_path / "out.wav", block=999)
    out, rate = sf.read(str(tmp_path / "out.wav"), dtype="float32")
    ref = enh.enhance(whole)
    assert rate == 16_000 and out.shape == ref.shape == (8000,)
    np.testing.assert_allclose(out, ref, atol=1.5 / 32768)  # one 16-bit step
    assert result.seconds == pytest.approx(0.5)
    assert any("channels averaged" in n for n in notes) and any("resampled 44100" in n for n in notes)


def test_nan_in_a_later_block_names_the_first_bad_sample(tmp_path, ckpt):
    src = tmp_path / "nan.wav"
    wav = _noisy(0.5)
    wav[5000], wav[7000] = np.nan, np.inf
    sf.write(str(src), wav, 16_000, subtype="FLOAT")
    enh = load_enhancer("micro", ckpt, "torch")
    with pytest.raises(AudioError, match=r"2 samples are NaN or Inf \(first at sample 5000\)"):
        enh.enhance_file(src, tmp_path / "out.wav", block=1000)
    assert not (tmp_path / "out.wav").exists()


def test_silent_and_clipped_files_checked_over_all_blocks(tmp_path, ckpt):
    enh = load_enhancer("micro", ckpt, "torch")
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(5000, np.float32), 16_000)
    _, notes = _file_result(enh, silent, tmp_path / "s_out.wav", block=700)
    assert notes == ["silent.wav: is silent (peak below -120 dBFS); it will pass through as silence."]
    assert not sf.read(str(tmp_path / "s_out.wav"))[0].any()
    clipped = tmp_path / "clipped.wav"
    wav = _noisy(0.5)
    wav[::50] = 1.0  # 2 % at full scale, spread over every block
    sf.write(str(clipped), wav, 16_000, subtype="FLOAT")
    _, notes = _file_result(enh, clipped, tmp_path / "c_out.wav", block=700)
    assert any("2.0 % of samples are at full scale" in n for n in notes)
