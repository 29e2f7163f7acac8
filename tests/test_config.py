import pytest

from gtcrn_micro.config import MODEL_NAMES, get_config


def test_presets_share_signal_settings():
    ref, micro = get_config("gtcrn"), get_config("micro")
    assert ref.audio == micro.audio and ref.erb == micro.erb
    assert ref.audio.n_freqs == 257 and ref.erb.n_bands == 129
    assert ref.audio.hop_ms == 16.0


def test_derived_shapes():
    cfg = get_config("gtcrn")
    assert cfg.model.freq_widths(cfg.erb.n_bands) == (129, 65, 33)
    assert cfg.bottleneck_width == 33
    assert cfg.model.time_cache_lengths() == (2, 4, 10)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ValueError, match="choose one of gtcrn, micro"):
        get_config("gtcrn2")


def test_with_model_changes_only_the_model():
    cfg = get_config("micro").with_model(channels=8)
    assert cfg.model.channels == 8 and cfg.model.name == "micro" and get_config("micro").model.channels == 16
    assert set(MODEL_NAMES) == {"gtcrn", "micro", "s3"}
