"""Figures for chapter 1: waveforms, spectrograms, the ERB filterbank, power-law compression.

Every function returns a matplotlib figure and never calls ``plt.show``. Figures are built with
the object-oriented API (no pyplot, no global state, rendered by Agg), so they work in scripts,
tests and widgets alike; :class:`PlotFigure` shows itself as a PNG in Jupyter and Colab.
"""

from __future__ import annotations

import io

import numpy as np
import torch
from matplotlib.figure import Figure

from ..config import AudioConfig, Config
from .erb import erb_filterbank
from .features import compress, magnitude
from .stft import stft

__all__ = [
    "PlotFigure",
    "new_figure",
    "plot_waveform",
    "plot_spectrogram",
    "plot_spectrograms",
    "plot_erb_filterbank",
    "plot_compression",
]


class PlotFigure(Figure):
    """A matplotlib figure that renders itself as a PNG in notebooks (no pyplot needed)."""

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()


def new_figure(nrows: int = 1, ncols: int = 1, figsize=(8, 3), **subplot_kw):
    """A :class:`PlotFigure` and its axes (like ``plt.subplots``, without pyplot)."""
    fig = PlotFigure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=True, subplot_kw=subplot_kw or None)
    return fig, axes


def _audio_cfg(cfg) -> AudioConfig:
    if cfg is None:
        return AudioConfig()
    return cfg.audio if isinstance(cfg, Config) else cfg


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _magnitude_db(spec_or_wav, cfg: AudioConfig) -> np.ndarray:
    """A waveform (L,)/(1,L) or a spec (F,T,2)/(1,F,T,2) -> (F,T) magnitude in dB (first item)."""
    x = torch.as_tensor(_numpy(spec_or_wav))
    if x.dim() >= 3 and x.shape[-1] == 2:  # a spectrum: (B,F,T,2) or (F,T,2)
        spec = x if x.dim() == 4 else x.unsqueeze(0)
    else:  # a waveform: (L,) or (B,L)
        spec = stft(x.float(), cfg)  # (B,F,T,2)
    mag = magnitude(spec[0].double()).numpy()  # (F,T)
    return 20.0 * np.log10(mag + 1e-8)


def plot_waveform(wav, sample_rate: int = 16_000, ax=None, title: str | None = None):
    """Waveform(s) against time. ``wav``: (L,) or a dict ``{label: (L,)}`` to overlay."""
    fig, ax = new_figure() if ax is None else (ax.figure, ax)
    items = wav if isinstance(wav, dict) else {None: wav}
    for label, x in items.items():
        x = _numpy(x).reshape(-1)
        ax.plot(np.arange(len(x)) / sample_rate, x, lw=0.6, alpha=0.8, label=label)
    ax.set(xlabel="time (s)", ylabel="amplitude", title=title or "")
    ax.margins(x=0)
    if isinstance(wav, dict):
        ax.legend(loc="upper right")
    return fig


def plot_spectrogram(
    spec_or_wav,
    cfg=None,
    ax=None,
    title: str | None = None,
    *,
    vmax: float | None = None,
    dynamic_range: float = 80.0,
    colorbar: bool = True,
):
    """Magnitude spectrogram in dB of a waveform (L,) or a spec (B, F, T, 2) (first item shown).

    ``cfg``: AudioConfig or Config (default GTCRN). Colours span ``vmax - dynamic_range`` to
    ``vmax`` dB (``vmax`` defaults to the loudest bin).
    """
    cfg = _audio_cfg(cfg)
    fig, ax = new_figure(figsize=(8, 3)) if ax is None else (ax.figure, ax)
    db = _magnitude_db(spec_or_wav, cfg)  # (F,T)
    vmax = float(db.max()) if vmax is None else vmax
    seconds = db.shape[1] * cfg.hop_length / cfg.sample_rate
    im = ax.imshow(
        db,
        origin="lower",
        aspect="auto",
        cmap="magma",
        vmin=vmax - dynamic_range,
        vmax=vmax,
        extent=(0.0, seconds, 0.0, cfg.sample_rate / 2000.0),
        interpolation="nearest",
    )
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)", title=title or "")
    if colorbar:
        fig.colorbar(im, ax=ax, label="dB", pad=0.01)
    return fig


def plot_spectrograms(items: dict, cfg=None, *, dynamic_range: float = 80.0):
    """Spectrograms side by side on one colour scale. ``items``: ``{title: wav or spec}``."""
    cfg = _audio_cfg(cfg)
    fig, axes = new_figure(1, len(items), figsize=(4.5 * len(items), 3))
    axes = np.atleast_1d(axes)
    vmax = max(float(_magnitude_db(x, cfg).max()) for x in items.values())
    for ax, (title, x) in zip(axes, items.items()):
        last = ax is axes[-1]
        plot_spectrogram(x, cfg, ax=ax, title=title, vmax=vmax, dynamic_range=dynamic_range, colorbar=last)
    return fig


def plot_erb_filterbank(cfg=None):
    """The ERB split: low bins kept, high bins pooled into triangular bands, and band widths."""
    cfg = cfg if isinstance(cfg, Config) else Config(audio=_audio_cfg(cfg))
    audio, erb = cfg.audio, cfg.erb
    fb = erb_filterbank(audio, erb)  # (64, 192)
    hz_per_bin = audio.sample_rate / audio.n_fft
    high_khz = (erb.low_bins + np.arange(fb.shape[1])) * hz_per_bin / 1000.0
    low_edge_khz = (erb.low_bins - 0.5) * hz_per_bin / 1000.0
    fig, (ax_fb, ax_w) = new_figure(1, 2, figsize=(11, 3.2))
    ax_fb.axvspan(0.0, low_edge_khz, color="0.85")
    ax_fb.text(low_edge_khz / 2, 0.5, f"{erb.low_bins} bins\nkept as they are", ha="center", va="center")
    ax_fb.plot(high_khz, fb.T, lw=0.8)
    ax_fb.set(
        xlabel="frequency (kHz)",
        ylabel="weight",
        xlim=(0.0, audio.sample_rate / 2000.0),
        title=f"{erb.low_bins} low bins + {erb.high_bands} ERB bands = {erb.n_bands} features",
    )
    widths = fb.sum(axis=1)  # (64,) effective width of each band in bins
    ax_w.bar(np.arange(erb.low_bins, erb.n_bands), widths, width=1.0, color="C1", label="ERB band")
    ax_w.bar(np.arange(erb.low_bins), np.ones(erb.low_bins), width=1.0, color="0.6", label="kept bin")
    ax_w.set(xlabel="feature index", ylabel="bins pooled (sum of weights)", title="bins per feature")
    ax_w.legend(loc="upper left")
    return fig


def plot_compression(spec=None, exponents=(1.0, 0.5, 0.3)):
    """Power-law compression |S|**c: the curves, and (if ``spec`` (B, F, T, 2) is given) how it
    narrows the spread of the magnitudes in dB."""
    ncols = 1 if spec is None else 2
    fig, axes = new_figure(1, ncols, figsize=(5.5 * ncols, 3.2))
    axes = np.atleast_1d(axes)
    mag_in = np.logspace(-4, 2, 200)
    for c in exponents:
        axes[0].loglog(mag_in, mag_in**c, label=f"c = {c:g}")
    axes[0].set(xlabel="|S|", ylabel="|S| ** c", title="power-law compression")
    axes[0].legend()
    if spec is not None:
        spec = torch.as_tensor(_numpy(spec)).double()
        for c in exponents:
            db = 20.0 * np.log10(magnitude(compress(spec, c)).numpy().ravel())
            lo, hi = np.percentile(db, [1, 99])
            axes[1].hist(db, bins=100, histtype="step", density=True, label=f"c = {c:g}: 98 % within {hi - lo:.0f} dB")
        axes[1].set(xlabel="compressed magnitude (dB)", ylabel="density", title="magnitudes of one clip")
        axes[1].legend(loc="upper left")
    return fig
