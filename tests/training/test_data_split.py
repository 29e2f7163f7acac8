"""build_datasets with the speaker split and the new validation set; old runs' mixtures unchanged."""

import argparse

import numpy as np
import pytest
import soundfile as sf
import torch

import gtcrn_micro.training.trainer as trainer
from gtcrn_micro.data import CLEAN_SNR_DB, speaker_of
from gtcrn_micro.data.splits import item_labels
from gtcrn_micro.training import PRESETS, TrainConfig, load_checkpoint, train
from tests.conftest import speech_like

# |noisy|.sum() and |clean|.sum() of items 0..3 (training: epoch 1) of the config in the test below,
# computed with the code before the speaker split existed (commit da5a942).
OLD_TRAIN = [[1038.25439453125, 879.38671875], [343.3162536621094, 199.48187255859375],
             [1481.62109375, 938.17041015625], [237.0409698486328, 211.84080505371094]]
OLD_VAL = [[653.7965698242188, 472.43804931640625], [446.16375732421875, 379.38787841796875],
           [477.41314697265625, 374.066162109375], [798.407470703125, 409.7740478515625]]


def old_config(corpus_dirs, **kw):
    speech, noise = corpus_dirs
    return TrainConfig(speech_dirs=[str(speech)], noise_dirs=[str(noise)], val_items=4, val_seconds=1.0,
                       val_fraction=0.34, segment_seconds=1.0, snr_max=30.0, min_speech_active=0.3, **kw)


def test_old_configs_draw_the_same_mixtures_as_before(corpus_dirs):
    train_set, val_set, _ = trainer.build_datasets(old_config(corpus_dirs))
    train_set.set_epoch(1)
    assert [p.name for p in val_set.speech.files] == ["utt02.wav", "utt05.wav", "utt06.wav", "utt10.wav"]
    for ds, ref in ((train_set, OLD_TRAIN), (val_set, OLD_VAL)):
        got = [[float(np.abs(x.numpy()).sum()) for x in ds[i]] for i in range(4)]
        np.testing.assert_allclose(got, ref, rtol=1e-4)


@pytest.fixture(scope="module")
def speaker_dirs(tmp_path_factory):
    """Three speech folders (8, 5 and 3 speaker folders of 2 files) and a noise folder of 20 files."""
    root = tmp_path_factory.mktemp("by_speaker")
    rng = np.random.default_rng(3)
    dirs = []
    for name, n in (("big", 8), ("mid", 5), ("tiny", 3)):
        for s in range(n):
            for u in range(2):
                path = root / name / f"{name}{s}" / f"{u}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(str(path), speech_like(rng, 1.2), 16_000)
        dirs.append(str(root / name))
    (root / "noise").mkdir()
    for i in range(20):
        sf.write(str(root / "noise" / f"n{i}.wav"), 0.05 * rng.standard_normal(12_000).astype(np.float32), 16_000)
    return dirs, str(root / "noise")


def speaker_config(speaker_dirs, **kw):
    dirs, noise = speaker_dirs
    settings = dict(PRESETS["speaker"]) | dict(val_items=30, val_seconds=1.0, segment_seconds=1.0,
                                               speech_dirs=dirs, noise_dirs=[noise]) | kw
    return TrainConfig(**settings)


def test_speaker_preset_validation_is_speaker_disjoint_balanced_and_has_clean_speech(speaker_dirs):
    cfg = speaker_config(speaker_dirs)
    assert (cfg.split, cfg.val_snr_max, cfg.val_clean_share, PRESETS["speaker"]["val_items"]) == ("speaker", 40.0, 0.2, 300)
    train_set, val_set, info = trainer.build_datasets(cfg)
    assert info["split"] == "speaker"
    dirs = cfg.speech_dirs
    speakers = {side: {(d, speaker_of(f, d)) for f in ds.speech.files for d in dirs if str(f).startswith(d + "/")}
                for side, ds in (("train", train_set), ("val", val_set))}
    assert speakers["val"] and not speakers["train"] & speakers["val"]
    labels = item_labels(val_set, dirs)
    assert [labels["source"].count(n) for n in ("big", "mid", "tiny")] == [10, 10, 10]  # every source, equally
    infos = [val_set.item_info(i) for i in range(len(val_set))]
    assert 2 <= labels["snr"].count("clean") <= 12
    assert max(i["snr_db"] for i in infos if i["snr_db"] < CLEAN_SNR_DB) <= 40
    assert train_set.cfg.snr_db == (-5.0, 40.0) and train_set.cfg.clean_prob == 0.05
    # fixed: built again, the same mixtures
    torch.testing.assert_close(trainer.build_datasets(cfg)[1][7][0], val_set[7][0])


def test_bad_data_settings_are_clear_errors(speaker_dirs, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    dirs, _ = speaker_dirs
    for kw, match in ((dict(split="bogus"), "split must be"), (dict(clean_share=1.0), "clean_share"),
                      (dict(val_clean_share=-0.1), "val_clean_share"), (dict(val_snr_max=-6.0), "val_snr_max"),
                      (dict(speech_dirs=dirs + [str(empty)]), "holds no .wav")):
        with pytest.raises(ValueError, match=match):
            trainer.build_datasets(speaker_config(speaker_dirs, **kw))
    one = tmp_path / "one"  # a single file: nothing can go to validation
    one.mkdir()
    sf.write(str(one / "a.wav"), speech_like(np.random.default_rng(0), 1.0), 16_000)
    with pytest.raises(ValueError, match="no usable validation file"):
        trainer.build_datasets(speaker_config(speaker_dirs, speech_dirs=dirs + [str(one)]))


def test_split_options_from_the_command_line():
    p = argparse.ArgumentParser()
    trainer.add_cli_arguments(p)
    args = p.parse_args(["--speech", "s", "--noise", "n", "--out", "o", "--preset", "speaker", "--val-items", "400",
                         "--clean-share", "0.1"])
    cfg = trainer.config_from_args(args)
    assert (cfg.split, cfg.val_items, cfg.clean_share, cfg.val_clean_share) == ("speaker", 400, 0.1, 0.2)
    args = p.parse_args(["--speech", "s", "--noise", "n", "--out", "o", "--split", "speaker"])
    cfg = trainer.config_from_args(args)
    assert (cfg.split, cfg.val_items, cfg.val_snr_max) == ("speaker", 48, 20.0)  # the split alone


def test_an_old_run_resumes_and_refuses_the_new_data_settings(corpus_dirs, tmp_path):
    speech, noise = corpus_dirs
    settings = dict(PRESETS["cpu-tiny"]) | dict(epochs=2, steps_per_epoch=2, checkpoint_every=2, val_items=2,
                                                 val_seconds=1.0)
    cfg = TrainConfig(model="micro", speech_dirs=[str(speech)], noise_dirs=[str(noise)], out_dir=str(tmp_path),
                      progress=False, threads=1, **(settings | dict(epochs=1)))
    train(cfg)
    ckpt = load_checkpoint(tmp_path / "last.pt")  # as a run saved before these settings existed
    for key in ("split", "clean_share", "val_snr_max", "val_clean_share"):
        del ckpt["train_config"][key]
    torch.save(ckpt, tmp_path / "last.pt")
    for key, value in (("split", "speaker"), ("clean_share", 0.1), ("val_snr_max", 40.0), ("val_clean_share", 0.2)):
        with pytest.raises(ValueError, match=key):
            train(TrainConfig(**{**cfg.__dict__, "epochs": 2, key: value}))
    history = train(TrainConfig(**{**cfg.__dict__, "epochs": 2}))
    assert [h["epoch"] for h in history] == [1, 2]


def test_split_table_script_writes_the_split_and_the_validation_make_up(speaker_dirs, tmp_path):
    import importlib.util
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "scripts" / "split_table.py"
    spec = importlib.util.spec_from_file_location("split_table", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dirs, noise = speaker_dirs
    assert module.main(["--speech", *dirs, "--noise", noise, "--val-items", "9", "--out", str(tmp_path / "split")]) == 0
    text = (tmp_path / "split.md").read_text()
    assert "Speakers on both sides, where speakers are known: **0**" in text
    assert "| all | " in text and text.count("| 3 |") >= 3  # 3 validation mixtures from each of the 3 folders
