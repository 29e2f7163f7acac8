import numpy as np
import pytest
import soundfile as sf

from gtcrn_micro.audio.mix import si_snr
from gtcrn_micro.data import (AudioBank, MixConfig, MixtureDataset, active_fraction, find_audio, split_files,
                            synthetic_noise)


@pytest.fixture(scope="module")
def banks(corpus_dirs):
    speech, noise = corpus_dirs
    return AudioBank(find_audio(speech)), AudioBank(find_audio(noise))


def test_snr_is_what_was_asked(banks):
    # no reverb, recorded noise only: then noisy - clean is exactly the scaled noise
    cfg = MixConfig(reverb_prob=0.0, synthetic_prob=0.0, babble_prob=0.0, snr_db=(-5, 20))
    ds = MixtureDataset(*banks, length=20, cfg=cfg, seed=3)
    for i in range(20):
        rng = np.random.default_rng([ds.seed, ds.epoch, i])
        noisy, clean, info = ds.mix(rng)
        noise = noisy - clean
        snr = 10 * np.log10(np.sum(clean.astype(np.float64) ** 2) / np.sum(noise.astype(np.float64) ** 2))
        assert snr == pytest.approx(info["snr_db"], abs=0.01)
        assert -5 <= info["snr_db"] <= 20


def test_level_range_and_no_clipping(banks):
    ds = MixtureDataset(*banks, length=30, seed=1)
    for i in range(30):
        noisy, clean = ds[i]
        assert noisy.abs().max() <= 0.99 + 1e-6
        level = 20 * np.log10(noisy.pow(2).mean().sqrt().item())
        assert level <= -15 + 0.01


def test_deterministic_in_seed_epoch_index(banks):
    a = MixtureDataset(*banks, length=8, seed=5)
    b = MixtureDataset(*banks, length=8, seed=5)
    assert all((a[i][0] == b[i][0]).all() for i in range(8))
    b.set_epoch(1)
    assert not (a[0][0] == b[0][0]).all()
    c = MixtureDataset(*banks, length=8, seed=6)
    assert not (a[0][0] == c[0][0]).all()


def test_reverberant_examples_keep_an_early_target(banks):
    cfg = MixConfig(reverb_prob=1.0, synthetic_prob=0.0, babble_prob=0.0, snr_db=(30, 30))
    ds = MixtureDataset(*banks, length=4, cfg=cfg, seed=0)
    rng = np.random.default_rng(0)
    noisy, clean, info = ds.mix(rng)
    assert 0.2 <= info["rt60"] <= 0.8
    # the late reverberation is in the input, not in the target: they differ by far more than the 30 dB noise
    assert si_snr(clean, noisy) < 25


def test_split_shares_no_file_and_is_stable(corpus_dirs):
    files = find_audio(*corpus_dirs)
    train, val = split_files(files, 0.3)
    assert set(train).isdisjoint(val) and len(train) + len(val) == len(files)
    assert len(val) > 0
    train2, val2 = split_files(list(reversed(files)) + [files[0].with_name("new.wav")], 0.3)
    assert set(val) <= set(val2)  # adding files never moves an existing file across the split


def test_bad_folders_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        find_audio(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="No .wav/.flac"):
        find_audio(tmp_path)


@pytest.mark.parametrize("kind", ["white", "pink", "brown", "hum"])
def test_synthetic_noise_unit_rms(kind):
    x = synthetic_noise(kind, 16000, np.random.default_rng(0))
    assert x.shape == (16000,) and np.sqrt(np.mean(x**2)) == pytest.approx(1.0, rel=1e-3)


def test_active_fraction_counts_the_talking_share():
    rng = np.random.default_rng(0)
    talk = 0.1 * rng.standard_normal(16_000).astype(np.float32)
    pause = 1e-4 * rng.standard_normal(48_000).astype(np.float32)  # 60 dB below the talk
    assert active_fraction(talk) == 1.0
    assert active_fraction(np.concatenate([talk, pause])) == pytest.approx(0.25, abs=0.02)
    assert active_fraction(np.zeros(16_000)) == 0.0 and active_fraction(np.zeros(10)) == 0.0
    assert active_fraction(pause) == 1.0 and active_fraction(pause, reference=0.01) == 0.0  # quiet, against the talk


def test_min_active_redraws_segments_that_are_mostly_pauses(tmp_path, banks):
    rng = np.random.default_rng(1)
    talk = (0.1 * rng.standard_normal(24_000)).astype(np.float32)  # 1.5 s of "talk" in 4 s of quiet room
    quiet = (2e-3 * rng.standard_normal(40_000)).astype(np.float32)
    for i in range(4):
        sf.write(str(tmp_path / f"pausy{i}.wav"), np.roll(np.concatenate([talk, quiet]), 16_000 * i), 16_000)
    sparse = AudioBank(find_audio(tmp_path))
    peak = max(sparse.peak_frame_energy(i) for i in range(len(sparse)))  # the talk's frames
    shares = {}
    for min_active in (0.0, 0.8):
        ds = MixtureDataset(sparse, banks[1], 12, MixConfig(segment_seconds=1.0, min_active=min_active), seed=3)
        rng = np.random.default_rng(5)
        shares[min_active] = [active_fraction(ds.speech_segment(rng, 16_000), reference=peak) for _ in range(12)]
        assert ds[0][1].shape == (16_000,)
    assert min(shares[0.0]) < 0.1  # without the rule, excerpts of the quiet room come through
    assert min(shares[0.8]) >= 0.8  # with it, every clean target is mostly talk


def test_groups_are_drawn_equally_often_however_many_files_they_hold(banks):
    files = banks[0].files  # 12 speech files: one group of 10, one of 2
    groups = [0] * 10 + [1] * 2
    bank = AudioBank(files, groups=groups)
    rng = np.random.default_rng(0)
    drawn = [bank.draw(rng, 800)[1] for _ in range(2000)]
    share_small = np.mean([i >= 10 for i in drawn])
    assert 0.45 < share_small < 0.55  # half the draws, from a sixth of the files
    plain = AudioBank(files)
    rng = np.random.default_rng(0)
    assert np.mean([plain.draw(rng, 800)[1] >= 10 for _ in range(2000)]) < 0.25
    with pytest.raises(ValueError, match="groups"):
        AudioBank(files, groups=[0])


def test_group_weights_draw_groups_in_proportion(banks):
    files = banks[0].files  # one group of 10 files, one of 2, the small one weighted 3:1
    bank = AudioBank(files, groups=[0] * 10 + [1] * 2, group_weights=[1.0, 3.0])
    rng = np.random.default_rng(0)
    share_small = np.mean([bank.draw(rng, 800)[1] >= 10 for _ in range(2000)])
    assert 0.70 < share_small < 0.80
    for bad in ([1.0], [1.0, 0.0], [1.0, float("nan")]):
        with pytest.raises(ValueError, match="group_weights"):
            AudioBank(files, groups=[0] * 10 + [1] * 2, group_weights=bad)
    with pytest.raises(ValueError, match="needs groups"):
        AudioBank(files, group_weights=[1.0])


def test_item_info_names_the_speech_clip_of_each_item(banks):
    speech, noise = banks
    ds = MixtureDataset(speech, noise, 6, MixConfig(segment_seconds=0.5), seed=3)
    for i in range(6):
        info = ds.item_info(i)
        assert info == ds.mix(np.random.default_rng([3, 0, i]))[2]
        assert 0 <= info["speech_index"] < len(speech)
    with pytest.raises(IndexError):
        ds.item_info(6)
