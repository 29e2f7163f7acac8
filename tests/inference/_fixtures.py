"""Helpers for the inference, evaluation and CLI tests: checkpoints and paired folders made on the spot."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from gtcrn_micro.model import build_model
from tests.conftest import speech_like


def make_checkpoint(path: Path, model: str = "micro", seed: int = 0, **extra) -> Path:
    """A freshly initialised model saved the way the trainer saves it (untrained, but finite)."""
    torch.manual_seed(seed)
    net = build_model(model)
    torch.save({"model": net.state_dict(), "model_name": model, **extra}, path)
    return path


def make_pairs(root: Path, n: int = 3, seconds: float = 1.0, seed: int = 0) -> tuple[Path, Path]:
    """``root/noisy`` and ``root/clean`` with ``n`` same-named pairs (speech-like + white noise, ~5 dB SNR)."""
    rng = np.random.default_rng(seed)
    noisy, clean = root / "noisy", root / "clean"
    noisy.mkdir(parents=True), clean.mkdir(parents=True)
    for i in range(n):
        c = speech_like(rng, seconds)
        noise = rng.standard_normal(len(c)).astype(np.float32) * np.sqrt(np.mean(c**2)) * 0.5
        sf.write(str(clean / f"p{i:03d}.wav"), c, 16_000)
        sf.write(str(noisy / f"p{i:03d}.wav"), c + noise, 16_000)
    return noisy, clean


@pytest.fixture(autouse=True)
def single_thread():
    """One torch thread: these models are tiny, and two threads crawl on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
