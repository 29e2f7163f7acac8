"""One model per job: a step model's release writes its float checkpoint and int8 step from the same
weights, scores both on the run's validation mixtures and puts that in the card."""

import json

import numpy as np
import pytest
import torch

from gtcrn_micro.training import PRESETS, TrainConfig, train
from gtcrn_micro.training.release import release_step_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def released(corpus_dirs, tmp_path_factory):
    speech, noise = corpus_dirs
    run = tmp_path_factory.mktemp("s3_run")
    settings = dict(PRESETS["cpu-tiny"]) | dict(epochs=1, steps_per_epoch=3, val_items=4, val_seconds=1.0,
                                                val_clean_share=0.5, split="speaker")
    train(TrainConfig(model="s3", model_overrides={"dual_path": "tcn", "dp_blocks": 1, "dilations": [1, 2]},
                      speech_dirs=[str(speech)], noise_dirs=[str(noise)], out_dir=str(run), progress=False,
                      threads=1, **settings))
    (run / "command.txt").write_text("gtcrn-micro train --model s3 --out RUN\n")
    dest = tmp_path_factory.mktemp("checkpoints")
    return run, dest, release_step_model(run, "s3", dest=dest, calib_items=4, measure_cost=False)


def test_float_and_int8_come_from_the_same_weights(released):
    from gtcrn_micro.export import load_step
    from gtcrn_micro.training import model_from_checkpoint

    run, dest, report = released
    for name in ("s3.pt", "s3_float.tflite", "s3_int8.tflite", "s3.md"):
        assert (dest / name).exists(), name
    best = torch.load(run / "best.pt", weights_only=False)["model"]
    shipped = torch.load(dest / "s3.pt", weights_only=False)["model"]
    assert all(torch.equal(best[k], shipped[k]) for k in best)
    model, _ = model_from_checkpoint(dest / "s3.pt")
    assert model.cfg.model.dual_path == "tcn" and model.cfg.model.dp_blocks == 1  # the run's options travel along
    assert report["export"]["float"]["snr_vs_torch_db"] > 60  # the float step is these weights
    assert report["export"]["int8"]["snr_vs_torch_db"] > 10  # and the int8 step too, quantized
    load_step(dest / "s3_int8.tflite", model)  # loads as the step of this model


def test_card_has_float_and_int8_validation_rows(released):
    _, dest, report = released
    val = report["validation"]
    from gtcrn_micro.data.splits import snr_band_order

    assert val["items"] == 4 and set(val["by_label"]) <= set(snr_band_order())
    assert np.isfinite(val["float_pesq"]) and np.isfinite(val["int8_pesq"])
    card = (dest / "s3.md").read_text()
    assert "## Float and int8 on the same validation mixtures" in card
    assert f"| all | 4 | {val['float_pesq']:.3f} | {val['int8_pesq']:.3f} |" in card
    assert "split by speaker" in card and "clean speech" in card
    assert "training split" in card  # where calibration came from: not validation, not the test set
    json.dumps(report, default=str)


def test_a_model_without_a_step_is_refused(corpus_dirs, tmp_path):
    speech, noise = corpus_dirs
    settings = dict(PRESETS["cpu-tiny"]) | dict(epochs=1, steps_per_epoch=2, val_items=2, val_seconds=1.0)
    train(TrainConfig(model="gtcrn", speech_dirs=[str(speech)], noise_dirs=[str(noise)], out_dir=str(tmp_path / "run"),
                      progress=False, threads=1, **settings))
    with pytest.raises(ValueError, match="no streaming step"):
        release_step_model(tmp_path / "run", "gtcrn", dest=tmp_path / "dest")


def test_card_describes_the_released_weights_while_the_run_goes_on(released):
    from gtcrn_micro.training.release import SNAPSHOT, write_step_card

    run, dest, report = released
    best = torch.load(run / "best.pt", weights_only=False)
    moved = dict(best, model={k: v + 1 if v.is_floating_point() else v for k, v in best["model"].items()})
    torch.save(moved, run / "best.pt")  # the run found a "better" epoch after the release
    card = write_step_card(report, "s3", dest, test_scores={"noisy input": {"pesq": 1.5, "stoi": 0.8, "si_snr": 5.0}})
    assert "| noisy input | 1.500 |" in (dest / "s3.md").read_text() and card == dest / "s3.pt"
    torch.save(moved, run / SNAPSHOT)  # but a snapshot that is not the shipped weights is refused
    with pytest.raises(ValueError, match="release the run again"):
        write_step_card(report, "s3", dest)
