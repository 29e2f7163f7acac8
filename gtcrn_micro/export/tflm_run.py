"""Run an exported step under TFLite Micro in a separate process (chapter 6).

TFLM's Python extension carries its own copy of TFLite symbols; once it is loaded, TensorFlow's
post-training calibrator crashes in the same process. Export therefore runs TFLM here, in a
child process: ``python -m gtcrn_micro.export.tflm_run IN.npz OUT.npz``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["run_tflm_isolated", "run_child"]


def run_child(module: str, src: Path, dst: Path) -> list[str] | None:
    """Run ``python -m module src dst``; None when it wrote ``dst``, else its last stderr lines (TF logs dropped)."""
    proc = subprocess.run([sys.executable, "-m", module, str(src), str(dst)], capture_output=True, text=True)
    if proc.returncode or not dst.exists():
        return [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(("W0", "I0"))]
    return None


def run_tflm_isolated(path: str | Path, shapes: dict, mask_shape: tuple, feats: np.ndarray,
                      starts: np.ndarray | None = None) -> dict:
    """Stream ``feats`` through ``path`` in TFLM in a child process: ``{"masks", "arena_bytes", "arena"}``.

    ``arena`` is :func:`~gtcrn_micro.export.tflite.tflm_arena_report`'s breakdown.

    Raises :class:`~gtcrn_micro.export.tflite.ExportError` with TFLM's message if it cannot run.
    """
    from .tflite import ExportError

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, feats=feats, starts=np.zeros(len(feats), bool) if starts is None else starts,
                 meta=json.dumps({"path": str(path), "shapes": {k: list(v) for k, v in shapes.items()},
                                  "mask_shape": list(mask_shape)}))
        failure = run_child("gtcrn_micro.export.tflm_run", src, dst)
        if failure is not None:
            raise ExportError(f"TFLite Micro could not run {Path(path).name}: " + " ".join(failure[-4:]))
        out = np.load(dst)
        arena = json.loads(str(out["arena"]))
        return {"masks": out["masks"], "arena_bytes": arena["total"], "arena": arena}


def _main(src: str, dst: str) -> None:
    from .runtime import TFLiteStep
    from .tflite import tflm_arena_report

    data = np.load(src)
    meta = json.loads(str(data["meta"]))
    arena = tflm_arena_report(meta["path"])
    step = TFLiteStep(meta["path"], {k: tuple(v) for k, v in meta["shapes"].items()}, tuple(meta["mask_shape"]),
                      runtime="tflm")
    masks = step.stream(data["feats"], data["starts"])
    np.savez(dst, masks=masks, arena=json.dumps(arena))


if __name__ == "__main__":
    _main(*sys.argv[1:3])
