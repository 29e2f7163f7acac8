"""Float and int8 on the same validation mixtures (chapter 5): "int8 in the loop".

A release candidate is scored twice on its run's own validation mixtures (never the test set):
the float checkpoint in torch, and its int8 step through the whole audio path
(:class:`~gtcrn_micro.export.TFLiteEnhancer`: float STFT and features on the host, the int8 step,
the mask applied on the host). The paired change (int8 minus float, item by item) and its standard
error say whether quantization costs anything that validation can see.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["float_int8_scores"]


def _summary(rows: list[dict], prefix: str) -> dict[str, float]:
    return {f"{prefix}_{m}": float(np.nanmean([r[m] for r in rows])) for m in rows[0]} if rows else {}


def float_int8_scores(model, int8_path: str | Path, val_set, items: int | None = None,
                      labels: list[str] | None = None, runtime: str = "litert") -> dict:
    """Per-item PESQ-wb / STOI / SI-SNR of ``model`` (float) and of its int8 step on ``val_set``.

    ``items``: the first N mixtures (default all). ``labels``: a band per mixture (e.g. the
    ``"snr"`` of :func:`~gtcrn_micro.data.splits.item_labels`, ``"clean"`` for clean speech): the
    result then has ``by_label`` means too. Returns means ``float_pesq``, ``int8_pesq``, ...,
    ``int8_pesq_change`` and ``int8_pesq_change_se`` (paired, over items where both are finite).
    """
    from ..audio.stft import istft, stft
    from ..training.metrics import score_pair
    from .enhance import TFLiteEnhancer

    n = len(val_set) if items is None else min(items, len(val_set))
    if n < 2:
        raise ValueError(f"Scoring float against int8 needs at least 2 validation mixtures, not {n}.")
    model = model.eval()
    enh = TFLiteEnhancer(model, int8_path, runtime)
    rows: dict[str, list[dict]] = {"float": [], "int8": []}
    for i in range(n):
        noisy, clean = (t.numpy() for t in val_set[i])
        with torch.no_grad():
            f = istft(model(stft(torch.from_numpy(noisy)[None])), len(noisy))[0].numpy()
        rows["float"].append(score_pair(clean, f))
        rows["int8"].append(score_pair(clean, enh.enhance(noisy)))
    out: dict = {"items": n, **_summary(rows["float"], "float"), **_summary(rows["int8"], "int8")}
    d = np.array([b["pesq"] - a["pesq"] for a, b in zip(rows["float"], rows["int8"])], dtype=float)
    d = d[np.isfinite(d)]
    out["int8_pesq_change"] = float(d.mean())
    out["int8_pesq_change_se"] = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    if labels is not None:
        by: dict[str, dict] = {}
        for label in dict.fromkeys(labels[:n]):
            idx = [i for i in range(n) if labels[i] == label]
            by[label] = {"items": len(idx), **_summary([rows["float"][i] for i in idx], "float"),
                         **_summary([rows["int8"][i] for i in idx], "int8")}
        out["by_label"] = by
    return out
