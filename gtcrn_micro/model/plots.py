"""Figures for chapter 2 (architecture). Each function returns a matplotlib Figure.

matplotlib is imported inside the functions so that ``import gtcrn_micro`` stays light.
"""

from __future__ import annotations

from ..config import Config, get_config
from .profile import ProfileReport, receptive_field_frames, receptive_field_taps

__all__ = ["plot_block_costs", "plot_receptive_field"]


def plot_block_costs(report: ProfileReport):
    """Two horizontal bar charts side by side: trainable params and MMAC/s of each block."""
    import matplotlib.pyplot as plt

    names = [b.name for b in report.blocks][::-1]  # first block on top
    params = [b.params for b in report.blocks][::-1]
    macs = [b.macs_per_second / 1e6 for b in report.blocks][::-1]
    fig, (ax_p, ax_m) = plt.subplots(1, 2, figsize=(10, 0.32 * len(names) + 1.2), sharey=True)
    ax_p.barh(names, params, color="tab:blue")
    ax_p.set_xlabel("trainable parameters")
    ax_p.set_title(f"params: {report.params:,} (+{report.fixed_params:,} fixed)")
    ax_m.barh(names, macs, color="tab:orange")
    ax_m.set_xlabel("MMAC per second of audio")
    ax_m.set_title(f"compute: {report.macs_per_second / 1e6:.1f} MMAC/s")
    for ax in (ax_p, ax_m):
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_receptive_field(cfg: Config | None = None):
    """Which past frames reach the current output frame through the encoder's dilated,
    causal GTConvBlocks (kernel ``gt_kernel_t``, dilations ``cfg.model.dilations``).

    Rows are layers (input at the bottom), columns are frames (0 = now, negative = past);
    lines join each frame to the frames its depthwise conv reads, traced back from the output.
    """
    import matplotlib.pyplot as plt

    cfg = cfg or get_config("gtcrn")
    m = cfg.model
    taps = receptive_field_taps(m.gt_kernel_t, m.dilations)  # taps[l]: offsets seen after l layers
    depth = len(m.dilations)
    span = max(taps[-1])
    rf = receptive_field_frames(cfg)

    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.8 * depth))
    # layer `row` (0 = input, depth = output); the output frame reads taps[-1] frames of the input
    for row in range(depth + 1):
        seen = {-t for t in taps[depth - row]}  # frames at this row that feed the output
        xs = list(range(-span, 1))
        ax.scatter(xs, [row] * len(xs), s=18, color="lightgray", zorder=2)
        ax.scatter(sorted(seen), [row] * len(seen), s=36, color="tab:blue", zorder=3)
        if row < depth:
            d = m.dilations[depth - 1 - row]  # the conv between this row and the next one up
            for top in {-t for t in taps[depth - row - 1]}:
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
    fig.tight_layout()
    return fig
