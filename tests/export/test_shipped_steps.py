"""The shipped TFLite steps belong to the shipped int8-source checkpoint, and the cards say so."""

import numpy as np
import torch

from gtcrn_micro.audio.mix import mix_at_snr
from gtcrn_micro.audio.samples import load_sample
from gtcrn_micro.audio.stft import istft, stft
from gtcrn_micro.export import TFLITE_SOURCE, TFLiteEnhancer
from gtcrn_micro.export.enhance import shipped_tflite
from gtcrn_micro.inference import shipped_checkpoint
from gtcrn_micro.model import build_model
from gtcrn_micro.training import load_checkpoint


def _snr_db(ref, y):
    return 10 * np.log10(np.sum(ref**2) / np.sum((ref - y) ** 2))


def test_the_float_step_reproduces_its_source_checkpoint_not_the_float_release():
    noisy, _ = mix_at_snr(load_sample("speech_en_2")[:16000], load_sample("noise_birds"), 5.0,
                          rng=np.random.default_rng(0))
    outs = {}
    for name in (TFLITE_SOURCE, "micro"):
        model = build_model("micro").eval()
        load_checkpoint(shipped_checkpoint(name), model)
        with torch.no_grad():
            outs[name] = istft(model(stft(torch.from_numpy(noisy))), len(noisy))[0].numpy()
    host = build_model("micro").eval()  # the host parts (STFT, ERB features, mask) have no trained weights
    y = TFLiteEnhancer(host, shipped_tflite("micro", "float")).enhance(noisy)
    assert _snr_db(outs[TFLITE_SOURCE], y) > 60
    if not all(torch.equal(a, b) for a, b in zip(load_checkpoint(shipped_checkpoint("micro"))["model"].values(),
                                                   load_checkpoint(shipped_checkpoint(TFLITE_SOURCE))["model"].values())):
        assert _snr_db(outs["micro"], y) < 60  # two different releases: the step matches only its own source


def test_the_cards_name_each_checkpoints_role():
    micro = shipped_checkpoint("micro").with_suffix(".md").read_text()
    source = shipped_checkpoint(TFLITE_SOURCE).with_suffix(".md").read_text()
    assert f"The exported TFLite steps come from `{TFLITE_SOURCE}`" in micro
    assert "Source of the shipped `micro_float/int8/int16x8.tflite` steps" in source
    assert "| micro (int8 TFLite Micro) |" in source


def test_shipped_s3_is_one_model_for_float_and_int8():
    from gtcrn_micro.training import model_from_checkpoint

    noisy, _ = mix_at_snr(load_sample("speech_en_2")[:16000], load_sample("noise_birds"), 5.0,
                          rng=np.random.default_rng(0))
    model, _ = model_from_checkpoint(shipped_checkpoint("s3"))
    with torch.no_grad():
        ref = istft(model(stft(torch.from_numpy(noisy))), len(noisy))[0].numpy()
    assert _snr_db(ref, TFLiteEnhancer(model, shipped_tflite("s3", "float")).enhance(noisy)) > 60
    assert _snr_db(ref, TFLiteEnhancer(model, shipped_tflite("s3", "int8")).enhance(noisy)) > 15  # quantized, same weights
    card = shipped_checkpoint("s3").with_suffix(".md").read_text()
    assert "one set of weights for float" in card and "| s3 (tflite-int8) |" in card
