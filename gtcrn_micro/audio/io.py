"""Reading, writing and checking audio (chapter 1).

Every model in the project runs on 16 kHz mono float32 waveforms in [-1, 1]. :func:`load_audio`
turns any readable file into that form and says what it changed (:class:`AudioNotice`);
:func:`check_audio` validates an array you already hold. Problems that make the audio unusable
raise :class:`AudioError` with one sentence that says what to do. Input files are only read,
never modified.
"""

from __future__ import annotations

import warnings
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from ..config import AudioConfig

__all__ = ["AudioError", "AudioNotice", "load_audio", "save_audio", "check_audio", "resample"]

SAMPLE_RATE = AudioConfig().sample_rate  # 16 kHz: the rate every model in the project expects
SILENCE_PEAK = 1e-6  # peak below -120 dBFS (well under one 16-bit step) counts as silent
CLIP_LEVEL = 0.999  # |x| at or above this is full scale
CLIP_FRACTION = 1e-3  # more than 0.1 % of samples at full scale: probably clipped


class AudioError(ValueError):
    """Audio that cannot be used; the message says what to do about it."""


class AudioNotice(UserWarning):
    """Something about the audio was changed or looks odd, but it can still be used."""


def _notice(message: str) -> None:
    warnings.warn(message, AudioNotice, stacklevel=3)


def resample(wav: np.ndarray, orig_rate: int, target_rate: int) -> np.ndarray:
    """Polyphase resampling of a (L,) waveform from ``orig_rate`` to ``target_rate`` Hz.

    Returns (round(L * target_rate / orig_rate),) float32.
    """
    if orig_rate == target_rate:
        return np.asarray(wav, dtype=np.float32)
    g = gcd(int(orig_rate), int(target_rate))
    out = resample_poly(np.asarray(wav, dtype=np.float64), target_rate // g, orig_rate // g)
    return out.astype(np.float32)


def check_audio(
    wav, sample_rate: int, *, name: str = "audio", expected_rate: int | None = SAMPLE_RATE
) -> np.ndarray:
    """Validate a mono waveform and return it as a (L,) float32 array.

    ``wav``: (L,) numpy array, list or torch tensor. ``sample_rate``: its rate in Hz; when
    ``expected_rate`` is given (16 kHz by default) the two must match (pass
    ``expected_rate=None`` to accept any rate). Raises :class:`AudioError` for a wrong rate, a
    multichannel array, no samples, or NaN/Inf samples; warns with :class:`AudioNotice` for
    silent or clipped audio, which the model can still process.
    """
    if hasattr(wav, "detach"):  # torch.Tensor
        wav = wav.detach().cpu().numpy()
    wav = np.asarray(wav)
    if wav.dtype.kind in "iu":
        raise AudioError(
            f"{name}: samples are {wav.dtype}; convert them to float in [-1, 1], e.g. wav / 32768 for int16."
        )
    if wav.dtype.kind != "f":
        raise AudioError(f"{name}: samples have dtype {wav.dtype}; pass real-valued float samples.")
    wav = wav.astype(np.float32, copy=False)
    if expected_rate is not None and int(sample_rate) != int(expected_rate):
        raise AudioError(
            f"{name}: is at {sample_rate} Hz but {expected_rate} Hz is needed; "
            f"resample it first with gtcrn_micro.resample(wav, {sample_rate}, {expected_rate}) "
            "or read the file with gtcrn_micro.load_audio."
        )
    if wav.ndim != 1:
        raise AudioError(
            f"{name}: has shape {wav.shape} but one channel (L,) is needed; "
            "pick a channel or average them, e.g. wav.mean(axis=channel_axis)."
        )
    if wav.size == 0:
        raise AudioError(f"{name}: has no samples; choose a recording that is not empty.")
    bad = ~np.isfinite(wav)
    if bad.any():
        raise non_finite_error(name, int(bad.sum()), int(np.argmax(bad)))
    peak = float(np.max(np.abs(wav)))
    if peak < SILENCE_PEAK:
        _notice(silent_message(name))
    else:
        clipped = float(np.mean(np.abs(wav) >= CLIP_LEVEL))
        if clipped > CLIP_FRACTION:
            _notice(clipped_message(name, clipped))
    return wav


# The sentences of check_audio, shared with the block-by-block reader (audio/blocks.py) so that a
# file read in pieces is reported in the same words as one read whole.
def non_finite_error(name: str, count: int, first: int) -> AudioError:
    return AudioError(
        f"{name}: {count} samples are NaN or Inf (first at sample {first}); "
        "fix or re-export the recording, or replace them with np.nan_to_num(wav)."
    )


def silent_message(name: str) -> str:
    return f"{name}: is silent (peak below -120 dBFS); it will pass through as silence."


def clipped_message(name: str, fraction: float) -> str:
    return (f"{name}: {100 * fraction:.1f} % of samples are at full scale, so it is probably "
            "clipped; enhancement will not undo the clipping.")


def unreadable_error(path: Path, err: BaseException) -> AudioError:
    return AudioError(
        f"{path}: cannot be read as audio ({err}); check that it is a complete WAV, FLAC or "
        "OGG file, or convert it, e.g. with ffmpeg -i IN -ar 16000 -ac 1 OUT.wav."
    )


def open_audio(path) -> sf.SoundFile:
    """Open an audio file for reading (a :class:`soundfile.SoundFile`), with one sentence for a
    missing path, a folder, an empty or an unreadable file."""
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such file; check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder; pass the path of one audio file inside it.")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: is an empty file (0 bytes); re-export or re-download it.")
    try:
        return sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise unreadable_error(path, err) from None


def load_audio(path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Read an audio file as a (L,) float32 mono waveform at ``sample_rate`` Hz.

    Multichannel files are averaged to mono and other rates are resampled, each with an
    :class:`AudioNotice` saying so. Raises :class:`AudioError` for a missing, unreadable or
    empty file and for NaN/Inf samples. The file itself is never modified.
    """
    path = Path(path)
    name = path.name
    try:
        with open_audio(path) as f:
            data, file_rate = f.read(dtype="float32", always_2d=True), f.samplerate  # (L, C)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise unreadable_error(path, err) from None
    if data.shape[0] == 0:
        raise AudioError(f"{path}: contains no samples; choose a recording that is not empty.")
    if data.shape[1] > 1:
        _notice(f"{name}: {data.shape[1]} channels averaged to mono.")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]  # (L,)
    wav = check_audio(wav, file_rate, name=name, expected_rate=None)  # before resampling blurs NaNs and clips
    if file_rate != sample_rate:
        _notice(f"{name}: resampled {file_rate} Hz -> {sample_rate} Hz.")
        wav = resample(wav, file_rate, sample_rate)
    return wav


def save_audio(path, wav, sample_rate: int = SAMPLE_RATE, *, subtype: str = "PCM_16") -> Path:
    """Write a (L,) waveform to ``path`` (format from the suffix: .wav, .flac, .ogg).

    Samples outside [-1, 1] are clipped with an :class:`AudioNotice` (integer formats would wrap
    around). Creates missing parent folders; returns the path written.
    """
    path = Path(path)
    with warnings.catch_warnings():  # silence or clipping is the caller's business when writing
        warnings.simplefilter("ignore", AudioNotice)
        wav = check_audio(wav, sample_rate, name=path.name, expected_rate=None)
    peak = float(np.max(np.abs(wav)))
    if peak > 1.0:
        _notice(f"{path.name}: peak {peak:.2f} is above full scale; samples clipped to [-1, 1] for writing.")
        wav = np.clip(wav, -1.0, 1.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), wav, int(sample_rate), subtype=subtype)
    return path
