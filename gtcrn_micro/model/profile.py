"""Count what a model costs: parameters and multiply-accumulates per second of audio (chapter 2).

:func:`profile_model` runs the model once on the spectrum of ``seconds`` of audio with forward
hooks on its layers and tallies, per top-level block, two numbers:

``macs`` (the headline, ``macs_per_second``): multiply-accumulates that an inference engine
actually performs, after BatchNorm has been folded into the conv before it.

- Conv2d: one MAC per weight per output position: ``out.numel() * C_in/groups * kh * kw``.
- ConvTranspose2d: one MAC per weight per *input* position (each input value is scattered
  through the kernel): ``in.numel() * C_out/groups * kh * kw``.
- Linear: ``rows * in_features * out_features``.
- GRU / GRUCell, per time step, direction and layer: ``3h * (i + h)`` for the input and hidden
  matmuls of the three gates, plus ``2h`` for the two elementwise products (reset gate times the
  hidden candidate, and the update-gate blend ``n + z * (h - n)``).
- LayerNorm: 3 per element (square for the variance, normalise, scale).
- TRA: 2 per element of its input (square-and-mean for the frame energy, the gain multiply).
- Mask: 4 per complex bin (a complex product).
- Not counted (zero): biases and other additions, BatchNorm (folded), activation functions
  (PReLU, sigmoid, tanh), SFE and other reshapes, the |S| feature and the STFT / iSTFT.

``ptflops_macs`` (``ptflops_macs_per_second``): the same forward pass counted the way the
``ptflops`` package counts module hooks, which is how the GTCRN paper reports "33.0 MMACs" (its
``gtcrn.py`` calls ``ptflops.get_model_complexity_info`` on a 63-frame, 1-second input). On top
of the weight MACs it adds one per bias per output, 2 per element for each affine BatchNorm, one
per element for LayerNorm and PReLU, ``7h`` elementwise plus ``6h`` bias operations per GRU step,
and it applies the conv rule to transposed convs (output positions times the whole kernel, about
``stride`` times too many); it counts nothing for TRA's energy and gain, the mask, or tensor
arithmetic outside modules. We report it only to compare with published figures.

Everything in these models costs the same for every frame, so both tallies are divided by the
number of frames run and multiplied by ``frames_per_second`` (62.5 for 16 kHz, hop 256).

:func:`receptive_field_frames` gives how far back in time the causal conv stack looks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from ..config import Config, get_config
from .blocks import TRA, Mask

__all__ = [
    "BlockCost",
    "ProfileReport",
    "profile_model",
    "ReceptiveField",
    "receptive_field_frames",
    "receptive_field_taps",
]


@dataclass
class BlockCost:
    """Cost of one named block of a model."""

    name: str
    params: int  # trainable parameters
    fixed_params: int  # parameters with requires_grad False (the ERB filterbank)
    macs_per_second: int
    ptflops_macs_per_second: int


@dataclass
class ProfileReport:
    """What :func:`profile_model` measured. ``blocks`` sum to the totals."""

    model: str
    params: int
    fixed_params: int
    macs_per_second: int
    macs_per_frame: int
    ptflops_macs_per_second: int
    frames_per_second: float
    frames: int  # frames in the profiled input
    blocks: list[BlockCost] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-safe dict: totals plus ``blocks``: [{name, params, fixed_params, macs_per_second, ...}]."""
        return asdict(self)

    def table(self) -> str:
        """The per-block costs as aligned text, totals last."""
        rows = [("block", "params", "fixed", "MMAC/s", "share", "ptflops MMAC/s")]
        total = max(self.macs_per_second, 1)
        for b in self.blocks:
            rows.append(
                (
                    b.name,
                    f"{b.params:,}",
                    f"{b.fixed_params:,}",
                    f"{b.macs_per_second / 1e6:.2f}",
                    f"{100 * b.macs_per_second / total:.1f}%",
                    f"{b.ptflops_macs_per_second / 1e6:.2f}",
                )
            )
        rows.append(
            (
                f"total ({self.model})",
                f"{self.params:,}",
                f"{self.fixed_params:,}",
                f"{self.macs_per_second / 1e6:.2f}",
                "100.0%",
                f"{self.ptflops_macs_per_second / 1e6:.2f}",
            )
        )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

        def fmt(r):
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))

        rule = "-" * len(fmt(rows[0]))
        return "\n".join([fmt(rows[0]), rule, *map(fmt, rows[1:-1]), rule, fmt(rows[-1])])


# ------------------------------------------------------------------ counting rules
def _gru_step_macs(mod: nn.Module, input_size: int, layers: int) -> tuple[int, int]:
    """(macs, ptflops) for one time step of one direction, summed over layers."""
    h = mod.hidden_size
    dirs = 2 if getattr(mod, "bidirectional", False) else 1
    macs = ptf = 0
    for layer in range(layers):
        i = input_size if layer == 0 else h * dirs
        macs += 3 * h * (i + h) + 2 * h
        # ptflops: both matmuls, then h + 3h + 3h elementwise, then both bias vectors
        ptf += 3 * h * (i + h) + 7 * h + (6 * h if mod.bias else 0)
    return macs, ptf


def _count(mod: nn.Module, inputs: tuple, output) -> tuple[int, int]:
    """(macs, ptflops-style macs) of one call of a module; (0, 0) for modules we do not count."""
    x = inputs[0] if inputs else None
    if isinstance(mod, nn.ConvTranspose2d | nn.ConvTranspose1d):
        per_weight_row = mod.out_channels // mod.groups * math.prod(mod.kernel_size)
        macs = x.numel() * per_weight_row
        # ptflops applies its conv rule to the *output* positions: about stride x too many
        out_positions = output.numel() // mod.out_channels
        ptf = out_positions * mod.in_channels * per_weight_row
        bias = output.numel() if mod.bias is not None else 0
        return macs, ptf + bias
    if isinstance(mod, nn.Conv2d | nn.Conv1d):
        macs = output.numel() * (mod.in_channels // mod.groups) * math.prod(mod.kernel_size)
        bias = output.numel() if mod.bias is not None else 0
        return macs, macs + bias
    if isinstance(mod, nn.Linear):
        macs = x.numel() * mod.out_features
        return macs, macs + (output.numel() if mod.bias is not None else 0)
    if isinstance(mod, nn.GRU):
        steps = x.shape[0] * x.shape[1] if x.dim() == 3 else x.shape[0]  # batch x length, either order
        dirs = 2 if mod.bidirectional else 1
        macs, ptf = _gru_step_macs(mod, mod.input_size, mod.num_layers)
        return macs * steps * dirs, ptf * steps * dirs
    if isinstance(mod, nn.GRUCell):
        steps = x.shape[0] if x.dim() == 2 else 1
        macs, ptf = _gru_step_macs(mod, mod.input_size, 1)
        return macs * steps, ptf * steps
    if isinstance(mod, nn.LayerNorm):
        return 3 * x.numel(), x.numel()  # ptflops looks for `affine`, which LayerNorm lacks: 1 per element
    if isinstance(mod, nn.BatchNorm1d | nn.BatchNorm2d):
        return 0, (2 if mod.affine else 1) * x.numel()
    if isinstance(mod, nn.PReLU):
        return 0, output.numel()
    if isinstance(mod, TRA):
        return 2 * x.numel(), 0
    if isinstance(mod, Mask):
        return 2 * output.numel(), 0  # output (B,2,T,F): 4 real products per complex bin
    return 0, 0


def _named_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Top-level children; a child holding a ``blocks`` ModuleDict/ModuleList is opened one level."""
    named = []
    for name, child in model.named_children():
        inner = getattr(child, "blocks", None)
        if isinstance(inner, nn.ModuleDict | nn.ModuleList):
            named.extend((f"{name}.{sub}", m) for sub, m in inner.named_children())
        else:
            named.append((name, child))
    return named


def profile_model(model: nn.Module, cfg: Config | None = None, seconds: float = 1.0) -> ProfileReport:
    """Parameters and MACs per second of audio of a spectrum-in, spectrum-out model.

    The model is called once (eval mode, no grad) on random noise shaped like the STFT of
    ``seconds`` of audio: (1, n_freqs, 1 + samples // hop, 2), i.e. 63 frames for one second.
    See the module docstring for exactly what is counted. The model is left in the mode it had.
    """
    cfg = cfg or getattr(model, "cfg", None) or get_config("gtcrn")
    frames = 1 + int(round(seconds * cfg.audio.sample_rate)) // cfg.audio.hop_length
    fps = cfg.audio.frames_per_second

    blocks = _named_blocks(model)
    owner = {}
    for name, block in blocks:
        for m in block.modules():
            owner.setdefault(m, name)
    macs = {name: 0 for name, _ in blocks}
    ptf = {name: 0 for name, _ in blocks}

    def hook(mod, inputs, output):
        a, b = _count(mod, inputs, output)
        macs[owner[mod]] += a
        ptf[owner[mod]] += b

    handles = [m.register_forward_hook(hook) for m in owner]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.randn(1, cfg.audio.n_freqs, frames, 2))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    def per_second(n: int) -> int:
        return int(round(n / frames * fps))

    costs = [
        BlockCost(
            name=name,
            params=sum(p.numel() for p in block.parameters() if p.requires_grad),
            fixed_params=sum(p.numel() for p in block.parameters() if not p.requires_grad),
            macs_per_second=per_second(macs[name]),
            ptflops_macs_per_second=per_second(ptf[name]),
        )
        for name, block in blocks
    ]
    total_macs = sum(macs.values())
    return ProfileReport(
        model=cfg.model.name,
        params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        fixed_params=sum(p.numel() for p in model.parameters() if not p.requires_grad),
        macs_per_second=per_second(total_macs),
        macs_per_frame=int(round(total_macs / frames)),
        ptflops_macs_per_second=per_second(sum(ptf.values())),
        frames_per_second=fps,
        frames=frames,
        blocks=costs,
    )


# ------------------------------------------------------------------ receptive field
@dataclass(frozen=True)
class ReceptiveField:
    """How many frames the causal conv stack sees; the GRUs (TRA, DPGRNN inter path) see the
    whole past, so the model's true receptive field is unbounded in the past."""

    frames: int  # frames that reach one output frame through the convs (current one included)
    past_frames: int  # frames of history: frames - 1
    encoder_past_frames: int  # history seen at the bottleneck (encoder GTConvBlocks only)
    ms: float  # audio that reaches one output frame: past_frames * hop + one n_fft window
    lookahead_frames: int = 0  # future frames used: none, the model is causal
    recurrent_past: str = "unbounded (TRA and DPGRNN inter GRUs carry state over all past frames)"


def receptive_field_taps(kernel_t: int, dilations) -> list[set[int]]:
    """Frame offsets into the past (0 = current) that reach the output after each layer.

    ``taps[0] = {0}``; layer ``l`` with dilation ``d`` adds ``{0, d, ..., (k-1) d}``.
    """
    taps = [{0}]
    for d in dilations:
        taps.append({t + j * d for t in taps[-1] for j in range(kernel_t)})
    return taps


def receptive_field_frames(cfg: Config | None = None) -> ReceptiveField:
    """Time receptive field of the causal convs: encoder GTConvBlocks, then the decoder's mirror.

    For GTCRN: each stack (dilations 1, 2, 5, kernel 3) looks (3-1)*(1+2+5) = 16 frames back, and
    the path through both stacks 32, so 33 frames (544 ms of audio) reach every output frame
    through the convs. Skip connections only shorten paths. The GRUs make it unbounded.
    """
    cfg = cfg or get_config("gtcrn")
    m = cfg.model
    enc = sum(m.time_cache_lengths())
    past = 2 * enc
    ms = past * cfg.audio.hop_ms + 1000.0 * cfg.audio.n_fft / cfg.audio.sample_rate
    return ReceptiveField(frames=past + 1, past_frames=past, encoder_past_frames=enc, ms=ms)
