"""Is one checkpoint better than another on a run's validation mixtures, or within their noise?

A run picks its best epoch on the mean PESQ-wb of a few dozen fixed validation mixtures. Two
checkpoints scored on the *same* mixtures can be compared pair by pair: the standard error of the
mean per-mixture difference says how large a difference those mixtures can resolve.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..data.mixing import MixConfig, MixtureDataset
from ..data.splits import item_labels, snr_band_order
from .losses import LossWeights
from .metrics import score_pair
from .trainer import TrainConfig, build_datasets, mean_scores, model_from_checkpoint, score_items, speech_folder_of

METRICS = ("pesq", "stoi", "si_snr")


def compare_on_validation(cfg: TrainConfig, checkpoints: dict[str, str | Path],
                          metric: str = "pesq") -> dict:
    """Score each checkpoint on ``cfg``'s validation mixtures; compare each with the first. The
    mixtures depend on ``cfg`` alone, so checkpoints of other model options can be compared too.
    A checkpoint path ``"none"`` scores the noisy input itself (the model that changes nothing).

    Returns ``{"metric", "items", "per_item": {name: [...]}, "rows": [...], "by_folder": [...],
    "by_snr": [...]}``, one row per checkpoint: its mean and, against the first checkpoint, the mean
    per-mixture difference, its standard deviation and standard error, and ``n`` (mixtures where
    both scores are finite); ``by_folder`` repeats the rows for the mixtures of each ``--speech``
    folder, ``by_snr`` for each SNR band (:func:`~gtcrn_micro.data.splits.snr_band`; ``"clean"``:
    clean speech in, where a good model changes nothing).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, not {metric!r}.")
    if len(checkpoints) < 2:
        raise ValueError("Give at least two checkpoints to compare.")
    _, val_set, _ = build_datasets(cfg)
    per_item = {}
    for name, path in checkpoints.items():
        if str(path) == "none":  # the noisy input, unprocessed
            scores = [score_pair(clean.numpy(), noisy.numpy()) for noisy, clean in (val_set[i] for i in range(len(val_set)))]
        else:
            model, _ = model_from_checkpoint(path)  # the model each checkpoint was trained as
            scores, _, _ = score_items(model, val_set, LossWeights())
        per_item[name] = np.array([s[metric] for s in scores], dtype=float)
    speech_files = [val_set.speech.files[val_set.item_info(i)["speech_index"]] for i in range(len(val_set))]
    folders = [cfg.speech_dirs[f] for f in speech_folder_of(speech_files, cfg.speech_dirs)]
    by_folder = [{"folder": g["group"], "items": g["items"], "rows": g["rows"]}
                 for g in by_group(per_item, folders, cfg.speech_dirs, checkpoints)]
    by_snr = [{"snr": g["group"], "items": g["items"], "rows": g["rows"]}
              for g in by_group(per_item, item_labels(val_set, cfg.speech_dirs)["snr"], snr_band_order(), checkpoints)]
    return {"metric": metric, "items": len(val_set), "per_item": {k: v.tolist() for k, v in per_item.items()},
            "rows": _rows(per_item, checkpoints), "by_folder": by_folder, "by_snr": by_snr}


def by_group(per_item: dict[str, np.ndarray], labels: list[str], order: list[str],
             checkpoints: dict[str, str | Path]) -> list[dict]:
    """:func:`_rows` for the items of each label (one label per item, e.g. its speech folder or SNR
    band), in ``order``; labels no item has are left out. ``[{"group", "items", "rows"}]``."""
    labels = np.array(labels, dtype=object)
    out = []
    for name in order:
        mask = labels == name
        if mask.any():
            out.append({"group": name, "items": int(mask.sum()),
                        "rows": _rows({k: np.asarray(v)[mask] for k, v in per_item.items()}, checkpoints)})
    return out


def _rows(per_item: dict[str, np.ndarray], checkpoints: dict[str, str | Path]) -> list[dict]:
    """Each checkpoint's mean and its paired difference to the first checkpoint (mean, SD, SE, n)."""
    base_name = next(iter(per_item))
    base = per_item[base_name]
    rows = []
    for name, values in per_item.items():
        row = {"checkpoint": name, "path": str(checkpoints[name]), "mean": float(np.nanmean(values))}
        if name != base_name:
            diff = values - base
            diff = diff[np.isfinite(diff)]
            sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else math.nan
            row |= {"diff": float(np.mean(diff)) if len(diff) else math.nan, "sd": sd,
                    "se": sd / math.sqrt(len(diff)) if len(diff) > 1 else math.nan, "n": int(len(diff))}
        rows.append(row)
    return rows


def compare_at_snrs(cfg: TrainConfig, checkpoints: dict[str, str | Path], snrs: list[float],
                    items: int = 48) -> dict:
    """Score the noisy input and each checkpoint on ``items`` mixtures of ``cfg``'s validation
    speech and noise at each fixed SNR in ``snrs`` (no simulated rooms). Every SNR mixes the same
    speech and noise excerpts, so the rows differ in the SNR alone; an SNR of 100 dB or more is
    clean speech with no audible noise: a good enhancer should then leave the speech as it is.

    Returns ``{"items", "rows": [{"snr_db", "input": {metric: mean}, name: {metric: mean}, ...}]}``.
    """
    if not snrs or not checkpoints:
        raise ValueError("Give at least one SNR and one checkpoint.")
    _, val_set, _ = build_datasets(cfg)
    models = {name: model_from_checkpoint(path)[0] for name, path in checkpoints.items()}
    rows = []
    for snr in snrs:
        mix = MixConfig(segment_seconds=cfg.val_seconds, snr_db=(float(snr), float(snr)), reverb_prob=0.0,
                        min_active=cfg.min_speech_active)
        ds = MixtureDataset(val_set.speech, val_set.noise, items, mix, seed=cfg.seed + 20_000)
        pairs = [ds[i] for i in range(items)]
        row = {"snr_db": float(snr), "input": mean_scores([score_pair(c.numpy(), n.numpy()) for n, c in pairs])}
        for name, model in models.items():
            row[name] = mean_scores(score_items(model, ds, LossWeights())[0])
        rows.append(row)
    return {"items": items, "checkpoints": {k: str(v) for k, v in checkpoints.items()}, "rows": rows}
