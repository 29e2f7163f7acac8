"""GTCRN-Micro: ultra-light speech enhancement from architecture to int8 on the ESP32-S3.

The flat public API; each group says which chapter of the book explains it.

``import gtcrn_micro as gm`` is cheap: a name is imported from its sub-package the first time it
is used (``gm.build_model`` loads torch, ``gm.TFLiteEnhancer`` the exporters), so the command line
answers ``--help`` without loading torch or TensorFlow. ``from gtcrn_micro import *`` and
``dir(gm)`` see every name.
"""

from ._lazy import lazy_names
from .config import AudioConfig, Config, ERBConfig, ModelConfig, MODEL_NAMES, get_config

__version__ = "0.1.0"

_WHERE: dict[str, str] = {}  # public name -> the sub-package it comes from


def _export(module: str, names: str) -> None:
    _WHERE.update(dict.fromkeys(names.split(), module))


# chapter 1: audio and features
_export("audio", """ERB AudioError AudioNotice check_audio compress decompress erb_filterbank istft list_samples
    load_audio load_sample magnitude mix_at_snr n_frames plot_compression plot_erb_filterbank plot_spectrogram
    plot_spectrograms plot_waveform resample save_audio si_snr snr_db spec_features stft window""")
# chapter 2: architecture
_export("model", """GTCRN MODEL_BUILDERS ProfileReport build_model plot_block_costs plot_receptive_field profile_model
    receptive_field_frames""")
# chapter 3: streaming, one hop at a time with an explicit state
_export("streaming", "StreamingEnhancer load_stream_model load_streaming_benchmark plot_state_sizes state_summary")
# chapter 4: enhancing and evaluating with a trained model; test corpora
_export("data", "download_voicebank paired_files")
_export("inference", "Enhancer enhance_path evaluate_pairs load_enhancer register_backend")
_export("training", "load_checkpoint")
# chapter 5: export and quantization
_export("export", """TFLiteEnhancer calibrate_only calibration_trace clipped_ranges export_model fake_quantize int8_snr
    int8_snr_with_calibration layer_snr limit_to_saturation measure_ranges plot_layer_snr plot_ranges
    quantization_snr quantize_with_ranges random_like_trace sample_mixtures saturation_limits""")

# every chapter: tables shown rounded, integers as integers, no NaN or inf; Markdown reports nested in a page
_export("tables", "tidy_table nested_markdown markdown_sections")

__all__ = ["AudioConfig", "Config", "ERBConfig", "ModelConfig", "MODEL_NAMES", "get_config", "__version__",
           *_WHERE]


__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
