"""Training (chapter 4): losses, metrics, and the resumable training loop.

Names load on first use (like the top-level package), so that ``gtcrn-micro train --help`` can
read the command's options (:mod:`.options`) without importing torch.
"""

from .._lazy import lazy_names

_WHERE: dict[str, str] = {}
for _module, _names in {
    "losses": "LossWeights hybrid_loss si_snr_loss",
    "metrics": "dnsmos pesq_wb score_pair si_snr stoi",
    "plots": "loss_terms_vs_snr plot_loss_terms",
    "release": "release_checkpoint",
    "options": "PRESETS TrainConfig",
    "trainer": "build_datasets load_checkpoint model_from_checkpoint plot_history train",
}.items():
    _WHERE.update(dict.fromkeys(_names.split(), _module))

__all__ = list(_WHERE)

__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())
