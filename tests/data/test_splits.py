"""Speaker-aware train/validation splits and validation tables (gtcrn_micro.data.splits)."""

import random

import numpy as np
import pytest
import soundfile as sf

from gtcrn_micro.audio.mix import si_snr
from gtcrn_micro.data import (CLEAN_SNR_DB, AudioBank, MixConfig, MixtureDataset, find_audio, snr_band, speaker_of,
                              split_by_speaker, split_files, split_markdown, split_table)
from gtcrn_micro.data.splits import item_labels, snr_band_order, speech_folder_of
from tests.conftest import speech_like


def write(path, rng, seconds=1.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), speech_like(rng, seconds), 16_000)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Three --speech folders: ``studio`` (12 speaker folders x 2 files), ``small`` (4 speakers x 2
    files, plus 3 files directly in it) and ``flat`` (10 files, speakers unknown)."""
    root = tmp_path_factory.mktemp("speakers")
    rng = np.random.default_rng(1)
    for s in range(12):
        for u in range(2):
            write(root / "studio" / f"S{s:02d}" / f"{u}.wav", rng)
    for s in range(4):
        for u in range(2):
            write(root / "small" / f"p{s}" / f"p{s}_{u}.wav", rng)
    for u in range(3):
        write(root / "small" / f"loose{u}.wav", rng)
    for u in range(10):
        write(root / "flat" / f"utt{u}.wav", rng)
    return [str(root / "studio"), str(root / "small"), str(root / "flat")]


def test_a_speaker_is_the_first_folder_below_the_source(tmp_path):
    assert speaker_of(tmp_path / "vctk" / "p225" / "x.flac", tmp_path / "vctk") == "p225"
    assert speaker_of(tmp_path / "ls" / "103" / "1240" / "x.flac", tmp_path / "ls") == "103"  # LibriSpeech layout
    assert speaker_of(tmp_path / "dns" / "x.flac", tmp_path / "dns") is None


def test_speaker_split_shares_no_speaker_and_is_deterministic(sources):
    files = find_audio(*sources)
    train, val = split_by_speaker(files, sources, 0.1)
    assert sorted(train + val) == files and not set(train) & set(val)
    shuffled = list(files)
    random.Random(0).shuffle(shuffled)
    train2, val2 = split_by_speaker(shuffled, sources, 0.1)
    assert sorted(val2) == sorted(val) and sorted(train2) == sorted(train)
    for s, root in enumerate(sources[:2]):  # the sources with speaker folders
        spk = {side: {speaker_of(f, root) for f, k in zip(fs, speech_folder_of(fs, sources)) if k == s} - {None}
               for side, fs in (("train", train), ("val", val))}
        assert not spk["train"] & spk["val"]
        assert len(spk["val"]) == 1  # max(1, round(0.1 * 12)) and max(1, round(0.1 * 4)): at least one each
    table = split_table(train, val, sources)
    assert [r["overlap"] for r in table["rows"]] == [0, 0, 0]
    assert [r["val_speakers"] for r in table["rows"]] == [1, 1, 0]
    assert [r["unknown_speaker_files"] for r in table["rows"]] == [0, 3, 10]
    assert table["total"]["train_files"] + table["total"]["val_files"] == len(files)
    assert "**total**" in split_markdown(table)


def test_unknown_speakers_fall_back_to_the_file_hash_split(sources):
    flat = find_audio(sources[2])
    _, val = split_by_speaker(flat, [sources[2]], 0.3)
    assert val == split_files(flat, 0.3)[1] and val  # the same files the file split holds out
    _, val = split_by_speaker(flat, [sources[2]], 0.01)  # the hash holds out none: the smallest hash goes
    assert len(val) == 1


def test_a_single_speaker_folder_is_split_by_file(tmp_path):
    rng = np.random.default_rng(2)
    for u in range(10):
        write(tmp_path / "lj" / "wavs" / f"{u}.wav", rng, 0.6)
    files = find_audio(tmp_path / "lj")
    train, val = split_by_speaker(files, [str(tmp_path / "lj")], 0.3)
    assert train and val and set(val) == set(split_files(files, 0.3)[1])
    table = split_table(train, val, [str(tmp_path / "lj")])
    assert table["rows"][0]["single_speaker"] and "split by file" in split_markdown(table)


def test_bad_val_fraction_is_a_clear_error(sources):
    with pytest.raises(ValueError, match="val_fraction"):
        split_by_speaker(find_audio(*sources), sources, 0.0)


def test_snr_bands():
    assert [snr_band(x) for x in (-5, 4.9, 5, 20, 39.9, CLEAN_SNR_DB)] == [
        "below 5 dB", "below 5 dB", "5 to 15 dB", "15 to 25 dB", "25 dB and up", "clean"]
    assert snr_band_order() == ["below 5 dB", "5 to 15 dB", "15 to 25 dB", "25 dB and up", "clean"]


def test_balanced_dataset_takes_items_from_each_group_in_turn(sources, corpus_dirs):
    files = find_audio(*sources)
    groups = speech_folder_of(files, sources)
    speech = AudioBank(files, groups=groups)
    noise = AudioBank(find_audio(corpus_dirs[1]))
    ds = MixtureDataset(speech, noise, 12, MixConfig(segment_seconds=0.5, min_active=0.3), seed=4, balanced=True)
    labels = item_labels(ds, sources)
    names = [s.rsplit("/", 1)[-1] for s in sources]
    assert labels["source"] == [names[i % 3] for i in range(12)]


def test_clean_examples_are_the_speech_alone(corpus_dirs):
    speech, noise = (AudioBank(find_audio(d)) for d in corpus_dirs)
    ds = MixtureDataset(speech, noise, 40, MixConfig(segment_seconds=0.5, clean_prob=0.3, snr_db=(-5, 40)), seed=1)
    infos = [ds.item_info(i) for i in range(40)]
    clean = [i for i, info in enumerate(infos) if info["snr_db"] == CLEAN_SNR_DB]
    assert 4 <= len(clean) <= 20 and all(-5 <= info["snr_db"] <= 40 for info in infos if info["snr_db"] != CLEAN_SNR_DB)
    for i in clean:
        assert "rt60" not in infos[i]  # no room: the target is the input
        noisy, target = ds[i]
        assert si_snr(noisy.numpy(), target.numpy()) > 60
    assert item_labels(ds, [str(corpus_dirs[0])])["snr"].count("clean") == len(clean)
