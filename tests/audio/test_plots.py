import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from gtcrn_micro.audio.plots import (
    new_figure,
    plot_compression,
    plot_erb_filterbank,
    plot_spectrogram,
    plot_spectrograms,
    plot_waveform,
)
from gtcrn_micro.audio.stft import stft
from gtcrn_micro.config import get_config

from .conftest import tone


def _image(fig):
    return fig.axes[0].images[0].get_array()


def test_figures_render_to_png():
    fig = plot_waveform(tone(440, 0.1))
    png = fig._repr_png_()
    assert isinstance(fig, Figure) and png[:8] == b"\x89PNG\r\n\x1a\n"


def test_waveform_overlay_has_one_line_per_item():
    fig = plot_waveform({"clean": tone(440, 0.1), "noisy": tone(880, 0.1)}, title="t")
    ax = fig.axes[0]
    assert len(ax.lines) == 2 and [t.get_text() for t in ax.get_legend().get_texts()] == ["clean", "noisy"]
    assert ax.lines[0].get_xdata()[-1] == pytest.approx(1599 / 16_000)


def test_spectrogram_puts_a_tone_in_the_right_row():
    wav = tone(1000, 1.0)  # 1000 Hz = bin 32 at 31.25 Hz per bin
    img = np.asarray(_image(plot_spectrogram(wav)))
    assert img.shape == (257, 64)
    assert np.argmax(img.mean(axis=1)) == 32


def test_spectrogram_of_wav_equals_spectrogram_of_spec():
    wav = tone(500, 0.3)
    a = np.asarray(_image(plot_spectrogram(wav, get_config("micro"))))
    b = np.asarray(_image(plot_spectrogram(stft(torch.from_numpy(wav)))))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_spectrogram_colour_range():
    fig = plot_spectrogram(tone(500, 0.3), dynamic_range=60.0)
    lo, hi = fig.axes[0].images[0].get_clim()
    assert hi - lo == pytest.approx(60.0)


def test_spectrogram_draws_into_given_axes():
    fig, axes = new_figure(1, 2)
    out = plot_spectrogram(tone(500, 0.3), ax=axes[1], colorbar=False)
    assert out is fig and len(axes[1].images) == 1 and len(axes[0].images) == 0


def test_spectrograms_share_one_scale():
    fig = plot_spectrograms({"loud": tone(500, 0.3), "quiet": tone(500, 0.3, amp=0.01)})
    clims = [ax.images[0].get_clim() for ax in fig.axes if ax.images]
    assert len(clims) == 2 and clims[0] == clims[1]


def test_erb_filterbank_figure():
    fig = plot_erb_filterbank(get_config("gtcrn"))
    ax_fb, ax_w = fig.axes[:2]
    assert len(ax_fb.lines) == 64
    assert "65 low bins + 64 ERB bands = 129" in ax_fb.get_title()
    assert len(ax_w.patches) == 129
    assert sum(p.get_height() for p in ax_w.patches) == pytest.approx(257, rel=1e-5)  # every bin counted once


def test_compression_figure():
    assert len(plot_compression().axes) == 1
    spec = stft(torch.from_numpy(tone(300, 0.5)))
    fig = plot_compression(spec, exponents=(1.0, 0.3))
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
