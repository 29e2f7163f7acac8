"""Inference (chapter 3): enhance audio with a trained model, and score it on a paired test set.

``load_enhancer(model, checkpoint, backend).enhance(wav)``; ``enhance_path`` for files and
folders; ``evaluate_pairs`` for PESQ-wb / STOI / SI-SNR (and DNSMOS) on noisy/clean folders.
Later stages register more backends (streaming, TFLite) with ``register_backend``.
"""

from .enhancer import (BACKENDS, NO_MODEL, PLANNED_BACKENDS, Enhancer, EnhanceError, FileResult,
                       MissingCheckpointError, enhance_path, load_enhancer, plan_outputs, register_backend,
                       resolve_checkpoint, shipped_checkpoint)
from .evaluate import evaluate_pairs, json_safe, summary_table

__all__ = ["BACKENDS", "NO_MODEL", "PLANNED_BACKENDS", "Enhancer", "EnhanceError", "FileResult",
           "MissingCheckpointError", "enhance_path", "load_enhancer", "plan_outputs", "register_backend",
           "resolve_checkpoint", "shipped_checkpoint", "evaluate_pairs", "json_safe", "summary_table"]
