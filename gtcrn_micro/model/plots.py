"""Figures for chapter 2 (architecture).

Like chapter 1's plots, every function returns a :class:`~gtcrn_micro.audio.plots.PlotFigure`
(no pyplot, no global state) that shows itself in notebooks.
"""

from __future__ import annotations

from ..audio.plots import new_figure
from ..config import Config, get_config
from .profile import ProfileReport, receptive_field_frames, receptive_field_taps

__all__ = ["plot_block_costs", "plot_receptive_field"]


def plot_block_costs(report: ProfileReport):
    """Two horizontal bar charts side by side: trainable params and MMAC/s of each block."""
    names = [b.name for b in report.blocks][::-1]  # first block on top
    params = [b.params for b in report.blocks][::-1]
    macs = [b.macs_per_second / 1e6 for b in report.blocks][::-1]
    fig, (ax_p, ax_m) = new_figure(1, 2, figsize=(10, 0.32 * len(names) + 1.2))
    ax_p.barh(names, params, color="tab:blue")
    ax_p.set_xlabel("trainable parameters")
    ax_p.set_title(f"params: {report.params:,} (+{report.fixed_params:,} fixed)")
    ax_m.barh(names, macs, color="tab:orange")
    ax_m.sharey(ax_p)
    ax_m.tick_params(labelleft=False)
    ax_m.set_xlabel("MMAC per second of audio")
    ax_m.set_title(f"compute: {report.macs_per_second / 1e6:.1f} MMAC/s")
    for ax in (ax_p, ax_m):
        ax.grid(axis="x", alpha=0.3)
    return fig


def plot_receptive_field(cfg: Config | None = None):
    """Which past frames reach the current output frame through the encoder's dilated,
    causal GTConvBlocks (kernel ``gt_kernel_t``, dilations ``cfg.model.dilations``).

    Rows are layers (input at the bottom), columns are frames (0 = now, negative = past);
    lines join each frame to the frames its depthwise conv reads, traced back from the output.
    """
    cfg = cfg or get_config("gtcrn")
    m = cfg.model
    # above[j]: past offsets, at j layers below the output, that reach the output frame
    above = receptive_field_taps(m.gt_kernel_t, tuple(reversed(m.dilations)))
    depth = len(m.dilations)
    span = max(above[-1])
    rf = receptive_field_frames(cfg)

    fig, ax = new_figure(figsize=(10, 1.2 + 0.8 * depth))
    for row in range(depth + 1):  # row 0 = input, row l = output of the l-th GTConvBlock
        xs = list(range(-span, 1))
        ax.scatter(xs, [row] * len(xs), s=18, color="lightgray", zorder=2)
        seen = sorted(-t for t in above[depth - row])
        ax.scatter(seen, [row] * len(seen), s=36, color="tab:blue", zorder=3)
        if row < depth:
            d = m.dilations[row]  # the depthwise conv that reads this row
            for top in (-t for t in above[depth - row - 1]):
                for j in range(m.gt_kernel_t):
                    ax.plot([top - j * d, top], [row, row + 1], color="tab:blue", alpha=0.35, lw=1, zorder=1)
    labels = ["input"] + [f"GTConv d={d}" for d in m.dilations]
    ax.set_yticks(range(depth + 1), labels)
    ax.set_xlabel(f"frame (0 = current, one frame = {cfg.audio.hop_ms:g} ms hop)")
    ax.set_xlim(-span - 0.7, 0.7)
    ax.set_ylim(-0.5, depth + 0.5)
    ax.set_title(
        f"Encoder convs see {span + 1} frames ({span} past); "
        f"encoder + decoder: {rf.frames} frames, {rf.ms:.0f} ms; GRUs: unbounded past"
    )
    return fig
