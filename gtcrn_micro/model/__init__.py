"""Models (chapter 2): GTCRN's blocks, the reference model, and what they cost.

``build_model("gtcrn")`` builds a model by preset name (or from a :class:`~gtcrn_micro.config.Config`);
``profile_model(model)`` counts its parameters and MACs per second of audio.
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from ..config import Config, get_config
from .blocks import DPGRNN, GRNN, SFE, TRA, ConvBlock, GTConvBlock, Mask, causal_pad, channel_shuffle
from .gtcrn import GTCRN, Decoder, Encoder
from .micro import MicroGTCRN
from .s3 import S3GTCRN
from .plots import plot_block_costs, plot_receptive_field
from .profile import (
    BlockCost,
    ProfileReport,
    ReceptiveField,
    profile_model,
    receptive_field_frames,
    receptive_field_taps,
)

__all__ = [
    "MODEL_BUILDERS",
    "build_model",
    "GTCRN",
    "MicroGTCRN",
    "S3GTCRN",
    "Encoder",
    "Decoder",
    "SFE",
    "TRA",
    "ConvBlock",
    "GTConvBlock",
    "GRNN",
    "DPGRNN",
    "Mask",
    "causal_pad",
    "channel_shuffle",
    "BlockCost",
    "ProfileReport",
    "ReceptiveField",
    "profile_model",
    "receptive_field_frames",
    "receptive_field_taps",
    "plot_block_costs",
    "plot_receptive_field",
]

# Model name (Config.model.name) -> class taking a Config. The int8-friendly "micro" model
# registers itself here from gtcrn_micro/model/micro.py.
MODEL_BUILDERS: dict[str, Callable[[Config], nn.Module]] = {"gtcrn": GTCRN, "micro": MicroGTCRN, "s3": S3GTCRN}


def build_model(name_or_cfg: str | Config = "gtcrn") -> nn.Module:
    """A freshly initialised model from a preset name (``"gtcrn"``) or a :class:`Config`."""
    cfg = get_config(name_or_cfg) if isinstance(name_or_cfg, str) else name_or_cfg
    name = cfg.model.name
    if name not in MODEL_BUILDERS:
        raise ValueError(
            f"Model {name!r} has a config but no model class registered yet: "
            f"available models are {', '.join(sorted(MODEL_BUILDERS))}."
        )
    return MODEL_BUILDERS[name](cfg)
