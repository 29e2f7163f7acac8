import hashlib
import warnings

import numpy as np
import pytest
import soundfile as sf
import torch

from gtcrn_micro.audio.io import AudioError, AudioNotice, check_audio, load_audio, resample, save_audio

from .conftest import tone


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_error_and_notice_types():
    assert issubclass(AudioError, ValueError)
    assert issubclass(AudioNotice, UserWarning)


def test_clean_16k_mono_loads_without_notice(write_audio):
    wav = tone(440, 0.5)
    path = write_audio("clean.wav", wav)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any notice would fail the test
        out = load_audio(path)
    assert out.dtype == np.float32 and out.shape == wav.shape
    np.testing.assert_allclose(out, wav, atol=1.0 / 32768)


def test_wrong_rate_is_resampled_with_notice(write_audio):
    path = write_audio("x.wav", tone(1000, 0.5, sample_rate=44_100), sample_rate=44_100)
    with pytest.warns(AudioNotice, match=r"x\.wav: resampled 44100 Hz -> 16000 Hz"):
        wav = load_audio(path)
    assert wav.shape == (8000,)
    peak_bin = np.argmax(np.abs(np.fft.rfft(wav)))  # 2 Hz per bin for 0.5 s
    assert abs(peak_bin * 2.0 - 1000.0) <= 2.0


def test_stereo_is_averaged_with_notice(write_audio):
    left, right = tone(300, 0.25), tone(700, 0.25, amp=0.25)
    path = write_audio("st.flac", np.stack([left, right], axis=1))
    with pytest.warns(AudioNotice, match=r"st\.flac: 2 channels averaged to mono"):
        wav = load_audio(path)
    np.testing.assert_allclose(wav, (left + right) / 2, atol=2.0 / 32768)


def test_loading_never_modifies_the_file(write_audio):
    path = write_audio("st44.wav", np.stack([tone(300, 0.2, 44_100)] * 2, axis=1), sample_rate=44_100)
    before, mtime = _digest(path), path.stat().st_mtime_ns
    with pytest.warns(AudioNotice):
        load_audio(path)
    assert _digest(path) == before and path.stat().st_mtime_ns == mtime


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file; check the path"):
        load_audio(tmp_path / "nope.wav")


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(AudioError, match="is a folder"):
        load_audio(tmp_path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty file \(0 bytes\)"):
        load_audio(path)


def test_unreadable_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are not samples\n" * 20)
    with pytest.raises(AudioError, match="cannot be read as audio.*convert it"):
        load_audio(path)


def test_corrupt_file(write_audio):
    path = write_audio("broken.flac", np.random.default_rng(0).standard_normal(16_000).astype(np.float32) * 0.1)
    data = bytearray(path.read_bytes())
    data[2000:6000] = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match="broken.flac: cannot be read as audio"):
        load_audio(path)


def test_file_without_samples(write_audio):
    path = write_audio("nothing.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="contains no samples"):
        load_audio(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples(write_audio, bad):
    wav = tone(440, 0.1)
    wav[100] = bad
    path = write_audio("bad.wav", wav, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"1 samples are NaN or Inf \(first at sample 100\)"):
        load_audio(path)


def test_silent_file_gives_notice_and_passes(write_audio):
    path = write_audio("quiet.wav", np.zeros(4000, np.float32))
    with pytest.warns(AudioNotice, match=r"quiet\.wav: is silent"):
        wav = load_audio(path)
    assert wav.shape == (4000,) and not wav.any()


def test_clipped_file_gives_notice_and_passes(write_audio):
    wav = np.clip(3 * tone(200, 0.5), -1, 1)  # a sine driven into the rails
    path = write_audio("loud.wav", wav)
    with pytest.warns(AudioNotice, match=r"loud\.wav: .* probably clipped"):
        out = load_audio(path)
    assert out.shape == wav.shape


def test_check_audio_accepts_tensor_and_float64():
    out = check_audio(torch.linspace(-0.5, 0.5, 100), 16_000)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    assert check_audio(np.linspace(-0.5, 0.5, 10), 16_000).dtype == np.float32


def test_check_audio_refuses_integer_samples():
    with pytest.raises(AudioError, match=r"samples are int16; convert them to float .* wav / 32768"):
        check_audio(np.array([1, -2, 3], dtype=np.int16), 16_000)


def test_check_audio_refuses_wrong_rate():
    with pytest.raises(AudioError, match="is at 8000 Hz but 16000 Hz is needed; resample"):
        check_audio(tone(100, 0.1, 8000), 8000)
    assert check_audio(tone(100, 0.1, 8000), 8000, expected_rate=None).shape == (800,)


def test_check_audio_refuses_multichannel_array():
    with pytest.raises(AudioError, match=r"shape \(2, 160\) but one channel"):
        check_audio(np.zeros((2, 160), np.float32) + 0.1, 16_000)


def test_check_audio_refuses_empty_and_complex():
    with pytest.raises(AudioError, match="has no samples"):
        check_audio(np.zeros(0), 16_000)
    with pytest.raises(AudioError, match="real-valued float"):
        check_audio(np.ones(10, np.complex64), 16_000)


def test_check_audio_silence_threshold():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_audio(np.full(100, 1e-4, np.float32), 16_000)  # quiet but not silent: no notice
    with pytest.warns(AudioNotice, match="silent"):
        check_audio(np.full(100, 1e-8, np.float32), 16_000)


def test_save_audio_round_trip_and_parents(tmp_path):
    wav = tone(440, 0.3)
    path = save_audio(tmp_path / "a" / "b" / "out.flac", wav)
    info = sf.info(str(path))
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    np.testing.assert_allclose(load_audio(path), wav, atol=1.0 / 32768)


def test_save_audio_clips_with_notice(tmp_path):
    wav = tone(440, 0.1, amp=1.5)
    with pytest.warns(AudioNotice, match="above full scale"):
        path = save_audio(tmp_path / "hot.wav", wav)
    data, _ = sf.read(str(path), dtype="float32")
    assert np.max(np.abs(data)) <= 1.0 and np.max(data) > 0.99  # clipped, not wrapped around


def test_resample_lengths_and_identity():
    wav = tone(500, 1.0, 48_000)
    assert resample(wav, 48_000, 16_000).shape == (16_000,)
    assert resample(wav, 22_050, 16_000).shape == (round(48_000 * 16_000 / 22_050),)
    np.testing.assert_array_equal(resample(wav, 16_000, 16_000), wav)
