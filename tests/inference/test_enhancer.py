import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

import gtcrn_micro.inference.enhancer as enhancer_mod
from gtcrn_micro.audio import AudioError, AudioNotice, istft, stft
from gtcrn_micro.inference import (BACKENDS, EnhanceError, MissingCheckpointError, enhance_path, load_enhancer,
                                   plan_outputs, register_backend)
from gtcrn_micro.model import build_model
from tests.conftest import speech_like
from tests.inference._fixtures import make_checkpoint, single_thread  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "micro.pt")


@pytest.fixture(scope="module")
def enhancer(ckpt):
    return load_enhancer("micro", ckpt)


@pytest.mark.parametrize("length", [1, 255, 256, 16_017])
def test_output_has_the_input_length(enhancer, length):
    wav = (0.1 * np.random.default_rng(length).standard_normal(length)).astype(np.float32)
    enh = enhancer.enhance(wav)
    assert enh.shape == (length,) and enh.dtype == np.float32 and np.isfinite(enh).all()


def test_torch_backend_is_stft_model_istft(enhancer, ckpt):
    wav = speech_like(np.random.default_rng(0), 0.5)
    torch.manual_seed(0)
    net = build_model("micro").eval()
    net.load_state_dict(torch.load(ckpt)["model"])
    with torch.no_grad():
        ref = istft(net(stft(torch.from_numpy(wav))), len(wav))[0].numpy()
    np.testing.assert_allclose(enhancer.enhance(wav), ref, atol=1e-6)
    assert enhancer.checkpoint == ckpt and enhancer.label == "micro/torch"


def test_silence_stays_silence(enhancer):
    with pytest.warns(AudioNotice, match="silent"):
        enh = enhancer.enhance(np.zeros(4000, np.float32))
    assert np.array_equal(enh, np.zeros(4000, np.float32))


@pytest.mark.parametrize(
    "wav, match",
    [
        (np.array([0.1, np.nan, 0.2] * 100, np.float32), "NaN"),
        (np.zeros(0, np.float32), "no samples"),
        (np.zeros((2, 800), np.float32), "one channel"),
        (np.zeros(800, np.int16), "int16"),
    ],
)
def test_bad_arrays_are_one_clear_audio_error(enhancer, wav, match):
    with pytest.raises(AudioError, match=match):
        enhancer.enhance(wav)


def test_missing_shipped_checkpoint_says_how_to_train_one(tmp_path, monkeypatch):
    monkeypatch.setattr(enhancer_mod, "_shipped_dir", lambda: tmp_path)
    with pytest.raises(MissingCheckpointError, match=r"gtcrn-micro train --model gtcrn .*--checkpoint"):
        load_enhancer("gtcrn")


def test_shipped_checkpoint_is_found_when_present(tmp_path, monkeypatch):
    make_checkpoint(tmp_path / "micro.pt")
    monkeypatch.setattr(enhancer_mod, "_shipped_dir", lambda: tmp_path)
    assert load_enhancer("micro").checkpoint == tmp_path / "micro.pt"


def test_checkpoint_of_another_model_is_a_clear_error(tmp_path):
    gtcrn = make_checkpoint(tmp_path / "gtcrn.pt", "gtcrn")
    with pytest.raises(EnhanceError, match="trained for model 'gtcrn'.*--model gtcrn"):
        load_enhancer("micro", gtcrn)
    torch.save({"model": torch.load(gtcrn)["model"]}, tmp_path / "anonymous.pt")  # no model_name recorded
    with pytest.raises(EnhanceError, match="does not fit model 'micro'"):
        load_enhancer("micro", tmp_path / "anonymous.pt")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_enhancer("micro", tmp_path / "missing.pt")


def test_checkpoint_with_changed_model_options_runs_as_trained(tmp_path):
    from dataclasses import asdict

    from gtcrn_micro.config import get_config

    cfg = get_config("micro").with_model(tra_energy="square")  # what `train --model-option tra_energy=square` saves
    torch.manual_seed(1)
    net = build_model(cfg).eval()
    torch.save({"model": net.state_dict(), "model_name": "micro", "model_config": asdict(cfg)}, tmp_path / "sq.pt")
    wav = speech_like(np.random.default_rng(1), 0.5)
    with torch.no_grad():
        ref = istft(net(stft(torch.from_numpy(wav))), len(wav))[0].numpy()
    np.testing.assert_allclose(load_enhancer("micro", tmp_path / "sq.pt").enhance(wav), ref, atol=1e-6)
    preset = build_model("micro").eval()  # TRA energy mean(|x|)
    preset.load_state_dict(net.state_dict())
    with torch.no_grad():
        other = istft(preset(stft(torch.from_numpy(wav))), len(wav))[0].numpy()
    assert np.abs(other - ref).max() > 1e-5  # the option matters (untrained, so little): as the preset it differs
    bad = asdict(cfg)
    bad["model"]["tra_energy"] = "log"
    torch.save({"model": net.state_dict(), "model_name": "micro", "model_config": bad}, tmp_path / "bad.pt")
    with pytest.raises(EnhanceError, match="model options this version cannot build"):
        load_enhancer("micro", tmp_path / "bad.pt")


def test_gtcrn_runs_too(tmp_path):
    enh = load_enhancer("gtcrn", make_checkpoint(tmp_path / "gtcrn.pt", "gtcrn")).enhance(np.full(3000, 0.1, np.float32))
    assert enh.shape == (3000,) and np.isfinite(enh).all()


def test_unknown_backends_and_runtimes_are_clear_errors(ckpt, tmp_path):
    with pytest.raises(ValueError, match="needs a .tflite file"):
        load_enhancer("micro", ckpt, backend="tflite-int8")
    with pytest.raises(FileNotFoundError, match="gtcrn-micro export"):
        load_enhancer("micro", tmp_path / "step_int8.tflite", backend="tflite-int8")
    with pytest.raises(EnhanceError, match="runs exported models only"):
        load_enhancer("micro", ckpt, backend="torch", runtime="tflm")
    with pytest.raises(EnhanceError, match="Unknown backend 'onnx'"):
        load_enhancer("micro", ckpt, backend="onnx")
    with pytest.raises(EnhanceError, match="Unknown model"):
        load_enhancer("big", ckpt)


def test_registered_backend_is_used_and_checked(monkeypatch):
    monkeypatch.setitem(BACKENDS, "half", lambda model, checkpoint: ((lambda wav: 0.5 * wav), None))
    e = load_enhancer("micro", backend="half")
    np.testing.assert_array_equal(e.enhance(np.full(10, 0.2, np.float32)), np.full(10, 0.1, np.float32))
    register_backend("broken", lambda model, checkpoint: ((lambda wav: wav * np.nan), None))
    try:
        with pytest.raises(EnhanceError, match="NaN or Inf"):
            load_enhancer("micro", backend="broken").enhance(np.full(10, 0.2, np.float32))
    finally:
        del BACKENDS["broken"]


def test_none_model_passes_the_input_through():
    e = load_enhancer("none")
    wav = np.linspace(-0.5, 0.5, 100, dtype=np.float32)
    assert np.array_equal(e.enhance(wav), wav) and e.label == "noisy input"


def test_file_notices_and_no_overwrite(enhancer, tmp_path):
    src = tmp_path / "stereo.wav"
    sf.write(str(src), np.stack([np.full(4410, 0.1), np.full(4410, 0.2)], 1), 44_100)
    result = enhancer.enhance_file(src, tmp_path / "out" / "x.wav")
    assert any("averaged to mono" in n for n in result.notices) and any("resampled" in n for n in result.notices)
    info = sf.info(str(tmp_path / "out" / "x.wav"))
    assert info.samplerate == 16_000 and info.frames == 1600 and info.channels == 1
    before = src.read_bytes()
    with pytest.raises(EnhanceError, match="input file itself"):
        enhancer.enhance_file(src, tmp_path / "." / "stereo.wav")
    assert src.read_bytes() == before


def test_folder_plan_keeps_names_and_refuses_clashes(tmp_path):
    inp = tmp_path / "in"
    (inp / "sub").mkdir(parents=True)
    for name in ("a.wav", "sub/b.flac"):
        sf.write(str(inp / name), np.zeros(160), 16_000)
    plan = plan_outputs(inp, tmp_path / "out")
    assert [(s.relative_to(inp).as_posix(), d.relative_to(tmp_path).as_posix()) for s, d in plan] == [
        ("a.wav", "out/a.wav"), ("sub/b.flac", "out/sub/b.wav")]
    with pytest.raises(EnhanceError, match="input folder itself"):
        plan_outputs(inp, inp)
    inside = inp / "enhanced"  # output inside the input: earlier outputs are not inputs again
    inside.mkdir()
    sf.write(str(inside / "a.wav"), np.zeros(160), 16_000)
    assert len(plan_outputs(inp, inside)) == 2
    sf.write(str(inp / "a.flac"), np.zeros(160), 16_000)
    with pytest.raises(EnhanceError, match="would both be written"):
        plan_outputs(inp, tmp_path / "out")
    with pytest.raises(FileNotFoundError):
        plan_outputs(tmp_path / "nope", tmp_path / "out")


def test_bad_file_in_a_folder_does_not_stop_the_others(enhancer, tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    sf.write(str(inp / "good.wav"), speech_like(np.random.default_rng(0), 0.3), 16_000)
    (inp / "broken.wav").write_bytes(b"RIFF....not audio at all")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # notices are collected, never printed as warnings
        results = enhance_path(inp, tmp_path / "out", enhancer)
    by_name = {r.src.name: r for r in results}
    assert by_name["good.wav"].error is None and (tmp_path / "out" / "good.wav").exists()
    assert "cannot be read" in by_name["broken.wav"].error and not (tmp_path / "out" / "broken.wav").exists()
    assert by_name["broken.wav"].line().startswith("error:")
