"""GTCRN-Micro: ultra-light speech enhancement from architecture to int8 on the ESP32-S3.

The flat public API; each name says which chapter of the book explains it.
"""

from .config import AudioConfig, Config, ERBConfig, ModelConfig, MODEL_NAMES, get_config

__version__ = "0.1.0"

__all__ = ["AudioConfig", "Config", "ERBConfig", "ModelConfig", "MODEL_NAMES", "get_config", "__version__"]

# chapter 2: architecture
from .model import (  # noqa: E402
    GTCRN,
    MODEL_BUILDERS,
    ProfileReport,
    build_model,
    plot_block_costs,
    plot_receptive_field,
    profile_model,
    receptive_field_frames,
)

__all__ += [
    "GTCRN",
    "MODEL_BUILDERS",
    "ProfileReport",
    "build_model",
    "plot_block_costs",
    "plot_receptive_field",
    "profile_model",
    "receptive_field_frames",
]

# chapter 1: audio and features
from .audio import (  # noqa: E402
    ERB,
    AudioError,
    AudioNotice,
    check_audio,
    compress,
    decompress,
    erb_filterbank,
    istft,
    list_samples,
    load_audio,
    load_sample,
    magnitude,
    mix_at_snr,
    n_frames,
    plot_compression,
    plot_erb_filterbank,
    plot_spectrogram,
    plot_spectrograms,
    plot_waveform,
    resample,
    save_audio,
    si_snr,
    snr_db,
    spec_features,
    stft,
    window,
)

__all__ += [
    "ERB",
    "AudioError",
    "AudioNotice",
    "check_audio",
    "compress",
    "decompress",
    "erb_filterbank",
    "istft",
    "list_samples",
    "load_audio",
    "load_sample",
    "magnitude",
    "mix_at_snr",
    "n_frames",
    "plot_compression",
    "plot_erb_filterbank",
    "plot_spectrogram",
    "plot_spectrograms",
    "plot_waveform",
    "resample",
    "save_audio",
    "si_snr",
    "snr_db",
    "spec_features",
    "stft",
    "window",
]

# chapter 4: enhancing and evaluating with a trained model; test corpora
from .data import download_voicebank, paired_files  # noqa: E402
from .inference import Enhancer, enhance_path, evaluate_pairs, load_enhancer, register_backend  # noqa: E402

__all__ += ["download_voicebank", "paired_files", "Enhancer", "enhance_path", "evaluate_pairs", "load_enhancer",
            "register_backend"]

# chapter 3: streaming, one hop at a time with an explicit state
from .streaming import StreamingEnhancer, load_stream_model, load_streaming_benchmark, plot_state_sizes, state_summary  # noqa: E402

__all__ += ["StreamingEnhancer", "load_stream_model", "load_streaming_benchmark", "plot_state_sizes", "state_summary"]

# Export and quantization (chapter 5)
from .export import (TFLiteEnhancer, calibrate_only, calibration_trace, clipped_ranges, export_model, fake_quantize,
                     int8_snr, int8_snr_with_calibration, layer_snr, limit_to_saturation, measure_ranges,
                     plot_layer_snr, plot_ranges, quantization_snr, quantize_with_ranges, random_like_trace,
                     sample_mixtures, saturation_limits)
from .training import load_checkpoint

__all__ += ["TFLiteEnhancer", "calibrate_only", "calibration_trace", "clipped_ranges", "export_model", "fake_quantize",
            "int8_snr", "int8_snr_with_calibration", "layer_snr", "limit_to_saturation", "measure_ranges", "plot_ranges", "quantize_with_ranges", "saturation_limits", "plot_layer_snr", "quantization_snr", "random_like_trace", "sample_mixtures", "load_checkpoint"]
