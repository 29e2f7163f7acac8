"""Train/validation splits of speech folders: by speaker where speakers are known (chapter 4).

A **source** is one ``--speech`` folder. Inside a source, a file's **speaker** is the first
folder below the source folder that holds it::

    vcc2016/VCC2016_SF1/200007.flac          speaker VCC2016_SF1
    librispeech/LS3699/3699-175950-0000.flac speaker LS3699
    dns2020_testset_clean/fileid_245.flac    unknown (directly in the source folder)

So pass each corpus as its own ``--speech`` folder, laid out as ``SOURCE/SPEAKER/...``: passing
the folder *above* several corpora would make each corpus one "speaker".

:func:`split_by_speaker` sends whole speakers to validation: in each source with ``n >= 2``
speakers, the ``max(1, round(val_fraction * n))`` speakers (at most ``n - 1``) with the smallest hash of
``source folder name/speaker`` (so 1 of VCTK's 4 here, 16 of LibriSpeech's 158). No speaker is
on both sides, and the split is the same on every machine for the same speaker folders. Files
of unknown speaker fall back to the file-hash split of
:func:`~gtcrn_micro.data.mixing.split_files` (the same files as before this module), as does a
source with a single speaker folder (it cannot be split by speaker); if that hash sends none of
two or more such files to validation, the file with the smallest hash goes.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import soundfile as sf

from .mixing import CLEAN_SNR_DB, MixtureDataset, split_files

__all__ = ["speech_folder_of", "speaker_of", "split_by_speaker", "split_table", "split_markdown", "snr_band",
           "snr_band_order", "item_labels", "SNR_BAND_EDGES"]

SNR_BAND_EDGES = (5.0, 15.0, 25.0)  # validation tables: below 5, 5..15, 15..25, 25 dB and up, then clean


def speech_folder_of(files: list[Path], roots: list[str]) -> list[int]:
    """For each file, the position in ``roots`` of the first folder that holds it."""
    resolved = [Path(r).resolve() for r in roots]
    out = []
    for f in files:
        path = Path(f).resolve()
        out.append(next(i for i, r in enumerate(resolved) if path.is_relative_to(r)))
    return out


def speaker_of(file: str | Path, root: str | Path) -> str | None:
    """The speaker of ``file`` in source folder ``root``: the first folder below ``root`` on its
    path, or None for a file directly in ``root`` (speaker unknown)."""
    parts = Path(file).resolve().relative_to(Path(root).resolve()).parts
    return parts[0] if len(parts) >= 2 else None


def _u(key: str) -> float:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def _smallest(units: list[str], keys: dict[str, str], k: int) -> set[str]:
    """The ``k`` units whose hash of ``keys[unit]`` is smallest."""
    return set(sorted(units, key=lambda x: (_u(keys[x]), x))[:k])


def split_by_speaker(files: list[Path], roots: list[str], val_fraction: float = 0.1,
                     salt: str = "gtcrn-micro") -> tuple[list[Path], list[Path]]:
    """Speaker-disjoint train/validation split of ``files`` (from the source folders ``roots``).

    See the module docstring for what a speaker is. Deterministic, in the order of ``files``.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, not {val_fraction}.")
    source = speech_folder_of(files, roots)
    val: set[Path] = set()
    for s, root in enumerate(roots):
        mine = [Path(f) for f, k in zip(files, source) if k == s]
        speakers: dict[str, list[Path]] = {}
        unknown = []
        for f in mine:
            spk = speaker_of(f, root)
            (speakers.setdefault(spk, []) if spk is not None else unknown).append(f)
        if len(speakers) == 1:  # one speaker folder: cannot be split by speaker, split its files instead
            unknown += next(iter(speakers.values()))
            speakers = {}
        corpus = Path(root).resolve().name
        k = min(len(speakers) - 1, max(1, round(val_fraction * len(speakers)))) if speakers else 0  # >= 1 each side
        for spk in _smallest(sorted(speakers), {x: f"{salt}/{corpus}/{x}" for x in speakers}, k):
            val.update(speakers[spk])
        # unknown speakers: the file-hash split of split_files (same key), at least one file in validation
        _, by_hash = split_files(unknown, val_fraction, salt)
        if len(unknown) >= 2 and not by_hash:
            names = {str(f): f for f in unknown}
            by_hash = [names[x] for x in _smallest(sorted(names), {str(f): f"{salt}/{f.parent.name}/{f.name}"
                                                                   for f in unknown}, 1)]
        val.update(by_hash)
    return [Path(f) for f in files if Path(f) not in val], [Path(f) for f in files if Path(f) in val]


def split_table(train: list[Path], val: list[Path], roots: list[str]) -> dict:
    """Files, minutes and speakers of each source on each side of a split, and the speakers on
    both sides (there should be none where speakers are known).

    Returns ``{"rows": [{"source", "train_files", "train_minutes", "train_speakers", "val_files",
    "val_minutes", "val_speakers", "unknown_speaker_files", "overlap"}], "total": {...}}``;
    ``*_speakers`` counts speaker folders (a single-speaker source is split by file: its speaker
    counts on both sides, and in ``overlap``).
    """
    rows = []
    sides = {"train": train, "val": val}
    source = {k: speech_folder_of(v, roots) for k, v in sides.items()}
    for s, root in enumerate(roots):
        row: dict = {"source": Path(root).name}
        spk_sets = {}
        for side, files in sides.items():
            mine = [f for f, k in zip(files, source[side]) if k == s]
            spk = [speaker_of(f, root) for f in mine]
            spk_sets[side] = {x for x in spk if x is not None}
            row[f"{side}_files"] = len(mine)
            row[f"{side}_minutes"] = round(sum(sf.info(str(f)).duration for f in mine) / 60, 1)
            row[f"{side}_speakers"] = len(spk_sets[side])
            row["unknown_speaker_files"] = row.get("unknown_speaker_files", 0) + spk.count(None)
        both = spk_sets["train"] & spk_sets["val"]
        row["overlap"] = len(both)  # a single-speaker source is split by file: its one speaker is on both sides
        row["single_speaker"] = len(spk_sets["train"] | spk_sets["val"]) == 1
        rows.append(row)
    keys = [k for k in rows[0] if k not in ("source", "single_speaker")] if rows else []
    total = {k: round(sum(r[k] for r in rows), 1) for k in keys}
    return {"rows": rows, "total": total}


def split_markdown(table: dict) -> str:
    """:func:`split_table` as a markdown table."""
    lines = ["| source | train files | train minutes | train speakers | validation files | validation minutes "
             "| validation speakers | files of unknown speaker | speakers on both sides |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table["rows"] + [dict(table["total"], source="**total**")]:
        note = " (one speaker folder: split by file)" if r.get("single_speaker") else ""
        lines.append(f"| {r['source']}{note} | {r['train_files']} | {r['train_minutes']:.1f} | {r['train_speakers']} | "
                     f"{r['val_files']} | {r['val_minutes']:.1f} | {r['val_speakers']} | "
                     f"{r['unknown_speaker_files']} | {r['overlap']} |")
    return "\n".join(lines) + "\n"


def snr_band(snr_db: float) -> str:
    """The SNR band of a validation mixture, for tables: ``"clean"`` at :data:`CLEAN_SNR_DB` and up."""
    if snr_db >= CLEAN_SNR_DB:
        return "clean"
    edges = (-math.inf,) + SNR_BAND_EDGES + (math.inf,)
    for lo, hi in zip(edges[:-1], edges[1:]):
        if lo <= snr_db < hi:
            return (f"below {hi:g} dB" if lo == -math.inf else f"{lo:g} dB and up" if hi == math.inf
                    else f"{lo:g} to {hi:g} dB")
    raise AssertionError(snr_db)


def snr_band_order() -> list[str]:
    """The band labels of :func:`snr_band`, lowest first, ``"clean"`` last."""
    return [snr_band(x) for x in (-math.inf, *SNR_BAND_EDGES)] + ["clean"]


def item_labels(dataset: MixtureDataset, speech_dirs: list[str]) -> dict[str, list[str]]:
    """For each mixture of ``dataset``: ``"source"``, the name of the ``--speech`` folder its clean
    speech came from, and ``"snr"``, its :func:`snr_band` (``"clean"`` for clean speech)."""
    infos = [dataset.item_info(i) for i in range(len(dataset))]
    files = [dataset.speech.files[info["speech_index"]] for info in infos]
    names = [Path(d).name for d in speech_dirs]
    return {"source": [names[k] for k in speech_folder_of(files, speech_dirs)],
            "snr": [snr_band(info["snr_db"]) for info in infos]}
