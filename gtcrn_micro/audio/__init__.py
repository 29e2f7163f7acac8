"""Audio and features (chapter 1): file I/O, STFT/iSTFT, compression, ERB, mixing, plots, samples."""

from .erb import ERB, erb_filterbank
from .features import compress, decompress, magnitude, spec_features
from .io import AudioError, AudioNotice, check_audio, load_audio, resample, save_audio
from .mix import mix_at_snr, si_snr, snr_db
from .plots import (
    plot_compression,
    plot_erb_filterbank,
    plot_spectrogram,
    plot_spectrograms,
    plot_waveform,
)
from .samples import list_samples, load_sample, samples_dir
from .stft import istft, n_frames, stft, window

__all__ = [
    "AudioError",
    "AudioNotice",
    "load_audio",
    "save_audio",
    "check_audio",
    "resample",
    "stft",
    "istft",
    "window",
    "n_frames",
    "magnitude",
    "compress",
    "decompress",
    "spec_features",
    "ERB",
    "erb_filterbank",
    "mix_at_snr",
    "snr_db",
    "si_snr",
    "plot_waveform",
    "plot_spectrogram",
    "plot_spectrograms",
    "plot_erb_filterbank",
    "plot_compression",
    "list_samples",
    "load_sample",
    "samples_dir",
]
