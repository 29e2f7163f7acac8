"""Short speech and noise clips shipped with the package (chapter 1).

Three clean speech clips (``speech_*``, about 3 s) and three noise clips (``noise_*``, about 4 s),
16 kHz mono FLAC; ``assets/samples/SOURCES.md`` says where each comes from and under which
license. They are found through :mod:`importlib.resources`, so they load the same way from a
source checkout, an installed wheel or Colab, whatever the working directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from .io import load_audio

__all__ = ["SAMPLE_KINDS", "list_samples", "load_sample", "samples_dir"]

SAMPLE_KINDS = ("speech", "noise")
_SUFFIX = ".flac"


def _sample_dir():
    return resources.files("gtcrn_micro") / "assets" / "samples"


def samples_dir() -> Path:
    """The folder that holds the shipped clips (``gtcrn_micro/assets/samples``), as a real path.

    For folder-based tools such as :func:`gtcrn_micro.data.find_audio` and the trainer; the
    package is installed unzipped (source checkout, wheel or Colab), so the folder is on disk.
    """
    path = Path(str(_sample_dir()))
    if not path.is_dir():
        raise FileNotFoundError(f"The shipped samples folder {path} is missing; reinstall gtcrn_micro.")
    return path


def list_samples(kind: str | None = None) -> list[str]:
    """Names of the shipped clips, sorted; ``kind`` "speech" or "noise" keeps one kind."""
    if kind is not None and kind not in SAMPLE_KINDS:
        raise ValueError(f"kind {kind!r} is unknown; use one of {', '.join(SAMPLE_KINDS)} or None.")
    names = sorted(p.name[: -len(_SUFFIX)] for p in _sample_dir().iterdir() if p.name.endswith(_SUFFIX))
    return [n for n in names if kind is None or n.startswith(kind + "_")]


def load_sample(name: str, sample_rate: int = 16_000) -> np.ndarray:
    """Load a shipped clip by name (e.g. ``"speech_en_1"``) as a (L,) float32 waveform."""
    name = name[: -len(_SUFFIX)] if name.endswith(_SUFFIX) else name
    available = list_samples()
    if name not in available:
        raise ValueError(f"no sample named {name!r}; choose one of {', '.join(available)}.")
    with resources.as_file(_sample_dir() / f"{name}{_SUFFIX}") as path:
        return load_audio(path, sample_rate)
