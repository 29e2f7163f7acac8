"""Training (chapter 4): losses, metrics, and the resumable training loop."""

from .losses import LossWeights, hybrid_loss, si_snr_loss
from .metrics import dnsmos, pesq_wb, score_pair, si_snr, stoi
from .plots import loss_terms_vs_snr, plot_loss_terms
from .release import release_checkpoint
from .trainer import PRESETS, TrainConfig, build_datasets, load_checkpoint, model_from_checkpoint, plot_history, train

__all__ = ["LossWeights", "hybrid_loss", "si_snr_loss", "dnsmos", "pesq_wb", "score_pair", "si_snr", "stoi",
           "loss_terms_vs_snr", "plot_loss_terms",
           "PRESETS", "TrainConfig", "build_datasets", "load_checkpoint", "model_from_checkpoint", "plot_history", "release_checkpoint", "train"]
