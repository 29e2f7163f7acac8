"""Parity at every export stage on a small micro model: torch -> ONNX -> float TFLite -> int8 -> TFLM."""

import numpy as np
import pytest
import torch

from gtcrn_micro.audio.mix import mix_at_snr
from gtcrn_micro.audio.samples import load_sample
from gtcrn_micro.audio.stft import stft
from gtcrn_micro.config import get_config
from gtcrn_micro.export import (ExportError, StepGraph, check_full_integer, check_tflm_ops, export_model, load_step,
                                model_summary, record_trace)
from gtcrn_micro.model.micro import MicroGTCRN

SMALL = get_config("micro").with_model(channels=8, dilations=(1, 2), dp_blocks=1)


def small_model():
    torch.manual_seed(0)
    model = MicroGTCRN(SMALL).eval()
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):  # non-trivial statistics, as after training
            mod.running_mean.uniform_(-0.1, 0.1), mod.running_var.uniform_(0.5, 1.5)
    return model


def noisy_features(model, seconds=1.5):
    rng = np.random.default_rng(0)
    feats = []
    for speech, noise in [("speech_en_1", "noise_birds"), ("speech_hsb", "noise_wind")]:
        noisy, _ = mix_at_snr(load_sample(speech)[: int(seconds * 16000)], load_sample(noise), 5.0, rng=rng)
        feats.append(model.features(stft(torch.from_numpy(noisy).float())))
    return feats


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = small_model()
    trace = record_trace(model, noisy_features(model))
    out = tmp_path_factory.mktemp("export")
    return model, trace, out, export_model(model, out, trace, keep_saved_model=True)


def test_trace_replays_the_offline_model():
    model = small_model()
    feats = noisy_features(model, 0.5)
    trace = record_trace(model, feats)
    with torch.no_grad():
        offline = torch.cat([model.core(f)[0] for f in feats], 2)  # (1,2,T,129)
    assert np.abs(trace["mask"][:, :, 0].transpose(1, 0, 2) - offline[0].numpy()).max() < 1e-5
    assert trace["start"].sum() == 2 and not trace[StepGraph(model).state_names[0]][0].any()


def test_onnx_and_float_tflite_match_torch(exported):
    _, _, _, report = exported
    assert report["onnx_snr_db"] > 80
    assert report["float"]["snr_vs_torch_db"] > 80


def test_int8_is_full_integer_and_keeps_the_signal(exported):
    _, _, out, report = exported
    data = (out / "step_int8.tflite").read_bytes()
    check_full_integer(data)  # raises on any float tensor
    check_tflm_ops(data)
    assert report["int8"]["snr_vs_torch_db"] > 10
    assert report["int16x8"]["snr_vs_torch_db"] > report["int8"]["snr_vs_torch_db"]


def test_int8_states_feed_back_unchanged(exported):
    model, _, out, _ = exported
    step = load_step(out / "step_int8.tflite", model)
    assert step.state_mismatches() == []
    for name in step.state_names:
        assert step.qin[name] == step.qout[f"{name}_out"]
        assert step.qin[name][2] == np.int8


def test_tflm_is_bit_identical_to_litert_for_int8(exported):
    _, _, _, report = exported
    assert report["int8"]["tflm_identical_to_litert"] is True
    assert 0 < report["int8"]["tflm_arena_bytes"] < 200_000


def test_arena_breakdown_adds_up(exported):
    _, _, _, report = exported
    arena = report["int8"]["tflm_arena"]
    assert arena["head"] + arena["tail"] == arena["total"] == report["int8"]["tflm_arena_bytes"]
    assert "NodeAndRegistration struct" in arena["parts"] and "TfLiteEvalTensor data" in arena["parts"]
    assert 0 < sum(arena["parts"].values()) <= arena["tail"]


def test_float_model_is_refused_as_full_integer(exported):
    _, _, out, _ = exported
    with pytest.raises(ExportError, match="not full-integer"):
        check_full_integer((out / "step_float.tflite").read_bytes())


def test_an_op_tflm_lacks_is_named(exported, monkeypatch):
    _, _, out, _ = exported
    import gtcrn_micro.export.tflite as tfl

    monkeypatch.setattr(tfl, "TFLM_OPS", tfl.TFLM_OPS - {"TANH"})
    with pytest.raises(ExportError, match="no kernel for TANH"):
        tfl.check_tflm_ops((out / "step_int8.tflite").read_bytes())


def test_untied_states_are_refused(exported, tmp_path):
    model, trace, out, _ = exported
    from gtcrn_micro.export import quantize

    # quantize again without tying the state scales: streaming must refuse it
    data = quantize(out / "saved_model", "int8", trace, StepGraph(model).input_names)
    (tmp_path / "untied.tflite").write_bytes(data)
    step = load_step(tmp_path / "untied.tflite", model)
    assert step.state_mismatches()
    with pytest.raises(ExportError, match="different input and output quantization"):
        step.stream(trace["feat"][:3])


def test_summary_counts_ops(exported):
    _, _, out, _ = exported
    s = model_summary((out / "step_int8.tflite").read_bytes())
    assert s["n_ops"] == sum(s["ops"].values()) and s["float_tensors"] == []


def test_int8_enhancer_runs_the_whole_audio_path(exported):
    from gtcrn_micro.audio.stft import istft
    from gtcrn_micro.export.enhance import TFLiteEnhancer

    model, _, out, _ = exported
    wav = load_sample("speech_en_2")[:8000]
    with torch.no_grad():
        ref = istft(model(stft(torch.from_numpy(wav))), len(wav))[0].numpy()
    for kind, min_snr in (("float", 80.0), ("int8", 10.0)):
        y = TFLiteEnhancer(model, out / f"step_{kind}.tflite").enhance(wav)
        assert y.shape == wav.shape
        assert 10 * np.log10(np.sum(ref**2) / np.sum((ref - y) ** 2)) > min_snr, kind


def test_layer_snr_finds_every_op_and_the_input_is_nearly_exact(exported):
    from gtcrn_micro.export.analysis import layer_snr, plot_layer_snr

    model, trace, out, _ = exported
    g = StepGraph(model)
    rows = layer_snr(out / "step_float.tflite", out / "step_int8.tflite", trace, g.input_names, g.output_names, frames=20)
    assert len(rows) > 50
    assert [r["index"] for r in rows] == sorted(r["index"] for r in rows)  # execution order
    finite = [r["snr_db"] for r in rows if np.isfinite(r["snr_db"])]
    assert max(finite) > 30 and min(finite) < max(finite)  # some ops lose more than others
    fig = plot_layer_snr(rows)
    assert len(fig.axes[0].patches) >= len(rows)


def test_random_calibration_is_worse_than_streaming_traces(exported, tmp_path):
    from gtcrn_micro.export import int8_snr_with_calibration, random_like_trace

    model, trace, out, report = exported
    snr_random = int8_snr_with_calibration(out / "saved_model", model, random_like_trace(trace), trace,
                                           tmp_path / "random.tflite")
    assert snr_random < report["int8"]["snr_vs_torch_db"]


@pytest.mark.parametrize("kind,ranges", [("int8", "clipped"), ("int8", "minmax"), ("int16x8", "clipped")])
def test_integer_quantization_without_calibration_is_a_clear_error(tmp_path, kind, ranges):
    from gtcrn_micro.export.tflite import quantize

    with pytest.raises(ValueError, match="calibration trace"):
        quantize(tmp_path, kind, None, ["feat"], ranges=ranges)
