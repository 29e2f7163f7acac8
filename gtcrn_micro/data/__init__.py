"""Data (chapter 4): on-the-fly mixtures of speech and noise, corpora on disk, downloads."""

from .mixing import (AUDIO_EXTENSIONS, CLEAN_SNR_DB, AudioBank, MixConfig, MixtureDataset, active_fraction, find_audio,
                     room_impulse_response, split_files, synthetic_noise)

__all__ = ["AUDIO_EXTENSIONS", "CLEAN_SNR_DB", "AudioBank", "MixConfig", "MixtureDataset", "active_fraction", "find_audio",
           "room_impulse_response", "split_files", "synthetic_noise"]
from .corpora import VBD_TEST_URLS, VBD_TRAIN_URLS, download_voicebank, paired_files  # noqa: E402

__all__ += ["VBD_TEST_URLS", "VBD_TRAIN_URLS", "download_voicebank", "paired_files"]
from .shipped import shipped_corpus, shipped_mixture_dataset  # noqa: E402

__all__ += ["shipped_corpus", "shipped_mixture_dataset"]
from .splits import snr_band, speaker_of, split_by_speaker, split_markdown, split_table  # noqa: E402

__all__ += ["snr_band", "speaker_of", "split_by_speaker", "split_markdown", "split_table"]
