"""Figures of chapter 2 (gtcrn_micro/model/plots.py)."""

from matplotlib.figure import Figure

from gtcrn_micro.config import get_config
from gtcrn_micro.model import GTCRN, plot_block_costs, plot_receptive_field, profile_model


def test_plot_block_costs():
    report = profile_model(GTCRN())
    fig = plot_block_costs(report)
    assert isinstance(fig, Figure)
    ax_params, ax_macs = fig.axes
    assert len(ax_params.patches) == len(report.blocks)
    widths = sorted(p.get_width() for p in ax_macs.patches)
    assert widths[-1] == max(b.macs_per_second for b in report.blocks) / 1e6
    assert fig._repr_png_().startswith(b"\x89PNG")  # renders without pyplot


def test_plot_receptive_field():
    fig = plot_receptive_field(get_config("gtcrn"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["input", "GTConv d=1", "GTConv d=2", "GTConv d=5"]
    assert "17 frames" in ax.get_title()
    # row 2 (after the d=2 block) holds the frames the d=5 block reads: 0, 5 and 10 frames back
    blue_xs = [sorted(c.get_offsets()[:, 0].tolist()) for c in ax.collections[1::2]]
    assert blue_xs[2] == [-10, -5, 0] and blue_xs[3] == [0]
    assert blue_xs[0] == list(range(-16, 1))
    assert fig._repr_png_().startswith(b"\x89PNG")  # renders without pyplot
