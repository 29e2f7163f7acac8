"""Figures for chapter 3 (streaming). Every function returns a figure that shows itself in notebooks."""

from __future__ import annotations

from torch import nn

from ..audio.plots import new_figure

__all__ = ["state_summary", "plot_state_sizes"]

_KINDS = {"conv": "conv cache", "tra": "TRA GRU hidden", "h": "inter GRU hidden"}


def state_summary(model: nn.Module) -> list[dict]:
    """One row per state tensor of a streaming step: name, kind, shape (without batch), values."""
    rows = []
    for name, shape in model.state_shapes().items():
        key = name.split("_", 2)[-1] if name.startswith(("enc_gt", "dec_gt")) else name.split("_", 1)[-1]
        kind = _KINDS.get(key.rstrip("0123456789"), key)
        values = 1
        for n in shape:
            values *= n
        rows.append({"name": name, "kind": kind, "shape": tuple(shape), "values": values})
    return rows


def plot_state_sizes(model: nn.Module):
    """Horizontal bars: values held by each state tensor between two streaming steps, coloured by
    kind (dilated conv caches, TRA GRU hidden vectors, inter GRU hidden vectors), shapes as labels,
    on a log scale."""
    rows = state_summary(model)[::-1]  # first state on top
    colors = {"conv cache": "tab:blue", "TRA GRU hidden": "tab:orange", "inter GRU hidden": "tab:green"}
    fig, ax = new_figure(1, 1, figsize=(8, 0.3 * len(rows) + 1.2))
    for i, r in enumerate(rows):
        ax.barh(i, r["values"], color=colors.get(r["kind"], "tab:gray"),
                label=r["kind"] if r["kind"] not in [q["kind"] for q in rows[:i]] else None)
        ax.text(r["values"], i, f" {r['shape']}", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows])
    total = sum(r["values"] for r in rows)
    ax.set_xscale("log")  # a TRA vector (16) next to a dilation-5 cache (5,280)
    ax.set_xlabel("values held between steps (log scale)")
    ax.set_title(f"{getattr(model.cfg, 'name', '')} state: {total:,} values ({4 * total / 1024:.1f} KiB float32)")
    ax.set_xlim(1, 8 * max(r["values"] for r in rows))
    ax.legend(loc="center right")
    ax.grid(axis="x", alpha=0.3)
    return fig
