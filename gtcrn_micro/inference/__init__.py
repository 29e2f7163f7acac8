"""Inference (chapter 3): enhance audio with a trained model, and score it on a paired test set.

``load_enhancer(model, checkpoint, backend).enhance(wav)``; ``enhance_path`` for files and
folders; ``evaluate_pairs`` for PESQ-wb / STOI / SI-SNR (and DNSMOS) on noisy/clean folders.
Later stages register more backends (streaming, TFLite) with ``register_backend``.

The names load on first use (PEP 562), so the command line can list backends without importing
torch; ``from gtcrn_micro.inference import X`` works as usual.
"""

from .._lazy import lazy_names

_WHERE = {name: "enhancer" for name in (
    "BACKENDS", "NO_MODEL", "PLANNED_BACKENDS", "Enhancer", "EnhanceError", "FileResult", "MissingCheckpointError",
    "enhance_path", "load_enhancer", "plan_outputs", "register_backend", "resolve_checkpoint", "shipped_checkpoint")}
_WHERE |= {name: "evaluate" for name in ("evaluate_pairs", "json_safe", "summary_table")}

__all__ = list(_WHERE)


__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
