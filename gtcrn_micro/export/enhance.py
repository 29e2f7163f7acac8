"""The whole audio path with an exported step: float STFT, ERB features and mask on the host,
the step in LiteRT or TFLM (chapter 6). This is what the firmware does, frame by frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..audio.blocks import ChunkedRun, SpecBlocks
from .pipeline import load_step

__all__ = ["STEP_MODELS", "TFLITE_SOURCE", "TFLiteEnhancer", "shipped_tflite", "tflite_backend"]

#: The shipped checkpoint that the shipped ``micro_*.tflite`` steps were exported from: the micro
#: model fine-tuned with bounded activations for int8 (chapter 5). It is shipped apart from the float
#: ``micro`` checkpoint, which is chosen on float validation quality alone.
TFLITE_SOURCE = "micro_bounded"

#: Presets with a streaming step that exports to TFLite (``gtcrn`` has none).
STEP_MODELS = ("micro", "s3")


class TFLiteEnhancer:
    """``enhance(wav) -> wav`` with ``model``'s host parts and an exported step (``runtime`` litert or tflm)."""

    def __init__(self, model: nn.Module, path: str | Path, runtime: str = "litert"):
        self.model = model.eval()
        self.step = load_step(path, model, runtime)

    def enhance(self, wav: np.ndarray) -> np.ndarray:
        """(L,) float32 16 kHz -> (L,) enhanced, computed a block of frames at a time."""
        return ChunkedRun(self.new_stream)(wav)

    def new_stream(self) -> SpecBlocks:
        """A fresh stream (zero state) over this step: ``process(block)`` / ``flush()``, see
        :class:`~gtcrn_micro.audio.blocks.SpecBlocks`; the step's raw state is carried between blocks."""
        state = self.step.initial_state()

        def masked(spec: torch.Tensor) -> torch.Tensor:  # (1,257,T,2) -> (1,257,T,2)
            nonlocal state
            feat = self.model.features(spec)[0].permute(1, 0, 2).unsqueeze(2).numpy()  # (T,3,1,129)
            masks, state = self.step.stream_from(feat, state)  # (T,2,1,129)
            mask = torch.from_numpy(masks[:, :, 0]).permute(1, 0, 2).unsqueeze(0)  # (1,2,T,129)
            return self.model.apply_mask(mask, spec)

        return SpecBlocks(masked, self.model.cfg.audio)


def shipped_tflite(model: str, kind: str) -> Path:
    """``gtcrn_micro/checkpoints/{model}_{kind}.tflite``: the exported step shipped with the package
    (exported from the ``TFLITE_SOURCE`` checkpoint)."""
    return Path(__file__).resolve().parents[1] / "checkpoints" / f"{model}_{kind}.tflite"


def tflite_backend(model: str, checkpoint, kind: str, runtime: str = "litert"):
    """Backend factory for ``enhance``/``evaluate``: ``(run, path)`` with the exported ``kind`` step.

    ``checkpoint`` is a ``.tflite`` file (as written by ``gtcrn-micro export``), or None for the
    one shipped with the package.
    """
    from ..model import build_model

    if model not in STEP_MODELS:
        raise ValueError(f"Only the {' and '.join(STEP_MODELS)} models have an exported step, not {model!r}.")
    path = Path(checkpoint) if checkpoint else shipped_tflite(model, kind)
    if path.suffix != ".tflite":
        raise ValueError(f"Backend tflite-{kind} needs a .tflite file from `gtcrn-micro export`, not {path.name}.")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: export one with `gtcrn-micro export --model {model} "
                                f"--checkpoint CKPT -o DIR` and pass --checkpoint DIR/step_{kind}.tflite.")
    enhancer = TFLiteEnhancer(build_model(model), path, runtime)  # host parts have no trained weights
    return ChunkedRun(enhancer.new_stream), path
