"""Training material from the shipped clips (chapter 4's demonstration run)."""

import numpy as np

from gtcrn_micro.audio.samples import list_samples
from gtcrn_micro.data import MixConfig, find_audio, shipped_corpus, shipped_mixture_dataset, split_files
from gtcrn_micro.training import PRESETS


def test_shipped_corpus_has_a_train_and_a_validation_clip_of_each_kind(tmp_path):
    speech_dir, noise_dir = shipped_corpus(tmp_path)
    for folder, kind in ((speech_dir, "speech"), (noise_dir, "noise")):
        files = find_audio(folder)
        assert sorted(f.stem for f in files) == list_samples(kind)
        train, val = split_files(files, PRESETS["cpu-tiny"]["val_fraction"])
        assert len(train) >= 1 and len(val) >= 1  # the trainer refuses an empty validation split


def test_shipped_corpus_can_be_written_twice(tmp_path):
    assert shipped_corpus(tmp_path) == shipped_corpus(tmp_path)


def test_shipped_mixture_dataset_draws_the_forced_kinds():
    cfg = MixConfig(segment_seconds=1.0, reverb_prob=1.0, synthetic_prob=1.0, babble_prob=0.0)
    ds = shipped_mixture_dataset(cfg, length=2)
    noisy, clean, info = ds.mix(np.random.default_rng(0))
    assert noisy.shape == clean.shape == (16_000,)
    assert "rt60" in info and info["noise"] in ("white", "pink", "brown", "hum")
    assert len(ds) == 2 and ds[0][0].shape == (16_000,)
