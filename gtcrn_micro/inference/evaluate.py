"""Scoring an enhancer on a paired test set: ``evaluate_pairs(noisy_dir, clean_dir, enhancer)`` (chapter 3).

Each noisy file is enhanced and both the noisy input and the enhanced output are scored against
the clean file with PESQ-wb, STOI and SI-SNR (:func:`~gtcrn_micro.training.metrics.score_pair`);
DNSMOS P.835 (no reference) on the enhanced output is optional because it is slower. The result
is a plain dict (per-file rows and means) that :func:`summary_table` prints and that the
``gtcrn-micro evaluate --json`` command writes as it is.

On VoiceBank-DEMAND the published noisy row is PESQ-wb 1.97 / STOI 0.921 / SI-SNR 8.45 dB;
that set is for reporting only, never for choosing checkpoints or settings.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.io import AudioNotice, load_audio
from ..data.corpora import paired_files
from ..training.metrics import METRICS, score_pair
from ..training.metrics import dnsmos as dnsmos_fn
from .enhancer import NO_MODEL, Enhancer, notices_of

__all__ = ["evaluate_pairs", "summary_table", "json_safe", "DNSMOS_KEYS", "SCORE_LABELS"]

DNSMOS_KEYS = ("ovrl", "sig", "bak")
SCORE_LABELS = {"pesq": "PESQ-wb", "stoi": "STOI", "si_snr": "SI-SNR (dB)", "dnsmos_ovrl": "DNSMOS OVRL",
                "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK"}


def _mean(values: list[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]  # PESQ is NaN where it finds no speech
    return float(arr.mean()) if arr.size else float("nan")


def evaluate_pairs(
    noisy_dir: str | Path,
    clean_dir: str | Path,
    enhancer: Enhancer,
    limit: int | None = None,
    dnsmos: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Enhance every noisy file and score noisy and enhanced audio against the clean file.

    ``limit``: only the first N pairs (sorted by name). ``dnsmos``: add DNSMOS OVRL/SIG/BAK of
    the enhanced output (for ``model="none"`` that is the noisy input's DNSMOS).

    Returns ``{"model", "backend", "checkpoint", "noisy_dir", "clean_dir", "n", "dnsmos",
    "means", "files", "realtime_factor", "notices"}``: ``files`` holds one row per pair
    (``name``, ``seconds``, ``noisy_pesq``, ``noisy_stoi``, ``noisy_si_snr``, ``enh_pesq``,
    ``enh_stoi``, ``enh_si_snr``, optionally ``enh_dnsmos_ovrl/sig/bak``, ``compute_seconds``),
    ``means`` the same score keys averaged over the files (NaN PESQ values left out).
    ``realtime_factor`` is model time / audio time. ``notices`` lists what the audio reader
    changed (resampled, mixed down, silent).
    """
    pairs = paired_files(noisy_dir, clean_dir)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit is {limit}; pass a positive number of files.")
        pairs = pairs[:limit]
    if dnsmos:
        try:
            import speechmos  # noqa: F401  (its wheel carries the DNSMOS models)
        except ImportError:
            raise ImportError("DNSMOS needs the speechmos package: pip install speechmos (see requirements.txt).") from None
    iterator = pairs
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(pairs, desc=f"evaluate {enhancer.label}", unit="file")
    rows, notices = [], []
    audio_seconds = compute_seconds = 0.0
    for name, noisy_path, clean_path in iterator:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AudioNotice)
            noisy = load_audio(noisy_path)  # (L,)
            clean = load_audio(clean_path)  # (L',)
            t0 = time.perf_counter()
            enh = enhancer.enhance(noisy, name=noisy_path.name)  # (L,)
            took = time.perf_counter() - t0
        notices += notices_of(caught)
        row: dict[str, Any] = {"name": name, "seconds": len(noisy) / enhancer.sample_rate}
        noisy_scores = score_pair(clean, noisy)
        enh_scores = noisy_scores if enhancer.model == NO_MODEL else score_pair(clean, enh)
        row |= {f"noisy_{k}": noisy_scores[k] for k in METRICS}
        row |= {f"enh_{k}": enh_scores[k] for k in METRICS}
        if dnsmos:
            scores = dnsmos_fn(enh)
            row |= {f"enh_dnsmos_{k}": scores[k] for k in DNSMOS_KEYS}
        row["compute_seconds"] = took
        rows.append(row)
        audio_seconds += row["seconds"]
        compute_seconds += took
    score_keys = [k for k in rows[0] if k.startswith(("noisy_", "enh_"))]
    return {
        "model": enhancer.model,
        "backend": enhancer.backend,
        "checkpoint": None if enhancer.checkpoint is None else str(enhancer.checkpoint),
        "noisy_dir": str(noisy_dir),
        "clean_dir": str(clean_dir),
        "n": len(rows),
        "dnsmos": dnsmos,
        "means": {k: _mean([r[k] for r in rows]) for k in score_keys},
        "files": rows,
        "realtime_factor": compute_seconds / audio_seconds if audio_seconds else float("nan"),
        "notices": notices,
    }


def json_safe(obj: Any) -> Any:
    """A copy of ``obj`` with NaN/Inf floats as None, so ``json.dumps`` writes standard JSON (null)."""
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def summary_table(result: dict[str, Any]) -> str:
    """The means of :func:`evaluate_pairs` as a small text table: noisy input, then enhanced."""
    means = result["means"]
    none = result["model"] == NO_MODEL
    cols = [k for k in SCORE_LABELS if f"noisy_{k}" in means or f"enh_{k}" in means]

    def noisy_value(c):  # the pass-through's "enhanced" audio is the noisy input (its DNSMOS lives there)
        return means.get(f"noisy_{c}", means.get(f"enh_{c}") if none else None)

    rows = [("noisy input", noisy_value)]
    if not none:
        rows.append((f"enhanced ({result['model']}/{result['backend']})", lambda c: means.get(f"enh_{c}")))
    width = max(len(title) for title, _ in rows) + 2
    lines = [f"{result['n']} files".ljust(width) + "".join(f"{SCORE_LABELS[c]:>14}" for c in cols)]
    for title, value in rows:
        cells = []
        for c in cols:
            v = value(c)
            cells.append(f"{'-':>14}" if v is None else f"{v:>14.2f}" if c == "si_snr" else f"{v:>14.3f}")
        lines.append(title.ljust(width) + "".join(cells))
    return "\n".join(lines)
