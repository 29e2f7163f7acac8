"""The loss-term figure of chapter 4, and the training curves."""

import numpy as np

from gtcrn_micro.audio.plots import PlotFigure
from gtcrn_micro.training import LossWeights, loss_terms_vs_snr, plot_history, plot_loss_terms


def _signals():
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    clean = (0.1 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)).astype(np.float32)
    return clean, (0.1 * rng.standard_normal(16_000)).astype(np.float32)


def test_every_term_falls_as_the_estimate_gets_cleaner():
    clean, noise = _signals()
    rows = loss_terms_vs_snr(clean, noise, snrs_db=(0.0, 10.0, 20.0))
    assert [r["snr_db"] for r in rows] == [0.0, 10.0, 20.0]
    for term in ("complex", "magnitude", "sisnr", "total"):
        values = [r[term] for r in rows]
        assert values[0] > values[1] > values[2], term
    assert abs(rows[1]["sisnr"] - (-1.0)) < 0.05  # -log10 of the SI-SNR ratio: 10 dB -> -1


def test_total_is_the_weighted_sum():
    clean, noise = _signals()
    w = LossWeights()
    (row,) = loss_terms_vs_snr(clean, noise, snrs_db=(5.0,), weights=w)
    expected = w.complex * row["complex"] + w.magnitude * row["magnitude"] + w.sisnr * row["sisnr"]
    assert abs(row["total"] - expected) < 1e-4


def test_figures_render_without_pyplot(tmp_path):
    clean, noise = _signals()
    fig = plot_loss_terms(loss_terms_vs_snr(clean, noise, snrs_db=(0.0, 10.0)))
    assert isinstance(fig, PlotFigure) and fig._repr_png_().startswith(b"\x89PNG")
    history = [{"epoch": e, "train_loss": 3.0 - e, "val_loss": 2.5 - e, "val_pesq": 1.1 + e / 10} for e in (1, 2)]
    fig = plot_history(history, tmp_path / "curves.png")
    assert isinstance(fig, PlotFigure) and (tmp_path / "curves.png").stat().st_size > 0
