"""Training material made of the clips shipped with the package (chapter 4).

Three speech clips and three noise clips are far too little to train a useful model, but enough
to watch every part of the training pipeline work in seconds: the mixtures, the loss, the loop,
the validation split and the checkpoints.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..audio.samples import list_samples, samples_dir
from .mixing import AudioBank, MixConfig, MixtureDataset

__all__ = ["shipped_corpus", "shipped_mixture_dataset"]

# Folder name that holds the copied clips. split_files hashes "<folder>/<file>", and with this name
# the cpu-tiny preset's val_fraction (0.34) holds out one speech and one noise clip of three each.
CLIP_FOLDER = "clips"


def _clip_paths(kind: str) -> list[Path]:
    return [samples_dir() / f"{name}.flac" for name in list_samples(kind)]


def shipped_corpus(dest: str | Path) -> tuple[Path, Path]:
    """Copy the shipped clips into ``dest/speech/clips`` and ``dest/noise/clips``.

    Returns ``(speech_dir, noise_dir)`` = ``(dest/speech, dest/noise)``, the two folders the
    trainer expects (``TrainConfig(speech_dirs=[speech_dir], noise_dirs=[noise_dir])``).
    """
    dest = Path(dest)
    dirs = []
    for kind in ("speech", "noise"):
        folder = dest / kind / CLIP_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        for path in _clip_paths(kind):
            shutil.copyfile(path, folder / path.name)
        dirs.append(dest / kind)
    return dirs[0], dirs[1]


def shipped_mixture_dataset(cfg: MixConfig = MixConfig(), length: int = 16, seed: int = 0) -> MixtureDataset:
    """A :class:`MixtureDataset` of all shipped speech clips mixed with all shipped noise clips."""
    speech = AudioBank(_clip_paths("speech"), cfg.sample_rate)
    noise = AudioBank(_clip_paths("noise"), cfg.sample_rate)
    return MixtureDataset(speech, noise, length, cfg, seed=seed)
