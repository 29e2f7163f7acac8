"""The building blocks of GTCRN, under the paper's names (chapter 2).

Rong et al., "GTCRN: a speech enhancement model requiring ultralow computational resources",
ICASSP 2024. Every block works on feature maps laid out ``(B,C,T,F)``: batch, channels, time
frames, frequency bands. Time is causal everywhere (a frame never sees a later frame); frequency
is not (a band may look at its neighbours on both sides).

Two habits make a streaming form possible later without rewriting these blocks:

- all causal padding along time goes through :func:`causal_pad`, which can take the previous
  frames (a cache) instead of zeros;
- the recurrent blocks (:class:`TRA`, :class:`GRNN`, the inter path of :class:`DPGRNN`) take an
  optional hidden ``state`` and return the new one.

The blocks with a memory (:class:`GTConvBlock`, :class:`DPGRNN`) have ``forward_state(x, state)
-> (y, new_state)`` (chapter 3: streaming) next to ``forward(x) -> y``; ``forward`` is
``forward_state`` from a zero state, so each block is written once. Their ``state_shapes(width)``
gives the shape (without batch) of every state tensor.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "causal_pad",
    "channel_shuffle",
    "SFE",
    "TRA",
    "ConvBlock",
    "GTConvBlock",
    "GRNN",
    "DPGRNN",
    "Mask",
]


def causal_pad(x: torch.Tensor, frames: int, cache: torch.Tensor | None = None) -> torch.Tensor:
    """Prepend ``frames`` frames of history on the time axis of a (B,C,T,F) tensor.

    Offline the history is zeros (the signal is silent before it starts). A streaming step passes
    the last ``frames`` frames it has seen as ``cache`` (B,C,frames,F) instead. Returns
    (B,C,frames+T,F).
    """
    if cache is not None:
        return torch.cat([cache, x], dim=2)  # (B,C,frames+T,F)
    return F.pad(x, (0, 0, frames, 0))  # (B,C,frames+T,F): (F left, F right, T front, T back)


def channel_shuffle(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    """Interleave two (B,C,T,F) halves channel by channel: out[2c] = x1[c], out[2c+1] = x2[c].

    ShuffleNet's trick: the next block splits channels in two again, so each half then mixes
    processed and untouched channels. Returns (B,2C,T,F).
    """
    x = torch.stack([x1, x2], dim=2)  # (B,C,2,T,F)
    return x.flatten(1, 2)  # (B,2C,T,F)


class SFE(nn.Module):
    """Subband Feature Extraction: stack each band with its neighbours along the channel axis.

    Output channel ``c * kernel + j`` holds input channel ``c`` shifted by ``j - kernel // 2``
    bands (zero beyond the edges): the same as ``nn.Unfold((1, kernel))``, written with a pad
    and slices so that it exports as plain slicing. No weights, no multiplies.
    """

    def __init__(self, kernel: int = 3):
        super().__init__()
        self.kernel = kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,T,F) -> (B,C*kernel,T,F)."""
        n_freqs = x.shape[-1]
        half = (self.kernel - 1) // 2
        xp = F.pad(x, (half, self.kernel - 1 - half))  # (B,C,T,F+kernel-1)
        shifted = [xp[..., j : j + n_freqs] for j in range(self.kernel)]  # kernel x (B,C,T,F)
        return torch.stack(shifted, dim=2).flatten(1, 2)  # (B,C*kernel,T,F)


class TRA(nn.Module):
    """Temporal Recurrent Attention: a per-channel gain in (0, 1) decided by a GRU over time.

    Frame energy per channel (mean of x^2 over frequency) -> GRU -> Linear -> sigmoid, then the
    gain multiplies every band of that channel and frame.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.hidden = hidden
        self.att_gru = nn.GRU(channels, hidden, batch_first=True)
        self.att_fc = nn.Linear(hidden, channels)

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,C,T,F), state (1,B,hidden) or None -> (x * gain (B,C,T,F), new state (1,B,hidden))."""
        energy = x.pow(2).mean(dim=-1)  # (B,C,T)
        att, state = self.att_gru(energy.transpose(1, 2), state)  # (B,T,hidden), (1,B,hidden)
        gain = torch.sigmoid(self.att_fc(att)).transpose(1, 2)  # (B,C,T)
        return x * gain.unsqueeze(-1), state  # (B,C,T,F)


class ConvBlock(nn.Module):
    """Conv (or transposed conv) + BatchNorm + PReLU; Tanh instead of PReLU for the last block.

    Used with kernel (1,k) and stride (1,2) to halve (encoder) or double (decoder) the frequency
    axis; the time axis is untouched, so these blocks are causal by construction. PReLU has one
    shared slope, as in the reference.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        padding: tuple[int, int],
        groups: int = 1,
        transpose: bool = False,
        output_padding: tuple[int, int] = (0, 0),
        last: bool = False,
    ):
        super().__init__()
        if transpose:
            self.conv = nn.ConvTranspose2d(
                in_channels, out_channels, kernel, stride, padding, output_padding, groups=groups
            )
        else:
            self.conv = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, groups=groups)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.Tanh() if last else nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C_in,T,F_in) -> (B,C_out,T,F_out)."""
        return self.act(self.bn(self.conv(x)))  # (B,C_out,T,F_out)


class GTConvBlock(nn.Module):
    """Grouped Temporal Convolution block: the causal, dilated workhorse of GTCRN.

    Split the channels in two halves. Half 1 goes through
    SFE -> 1x1 conv (C/2*sfe -> hidden) + BN + PReLU
        -> depthwise (kt,kf) conv, dilated by ``dilation`` in time, causal + BN + PReLU
        -> 1x1 conv (hidden -> C/2) + BN -> TRA;
    half 2 passes untouched. The halves are then interleaved by :func:`channel_shuffle`.

    The reference decoder writes its GTConvBlocks with stride-1 ConvTranspose2d layers; a stride-1
    transposed conv is an ordinary conv with a flipped kernel, so we use Conv2d in both encoder
    and decoder (same family of functions, same parameter count, and no transposed convs, which
    TFLite handles badly).
    """

    def __init__(
        self,
        channels: int,
        hidden: int,
        kernel: tuple[int, int],
        dilation: int,
        sfe_kernel: int,
        tra_hidden: int,
    ):
        super().__init__()
        half = channels // 2
        kernel_t, kernel_f = kernel
        self.pad_frames = (kernel_t - 1) * dilation  # history the depthwise conv needs
        self.sfe = SFE(sfe_kernel)
        self.point_conv1 = nn.Conv2d(half * sfe_kernel, hidden, 1)
        self.point_bn1 = nn.BatchNorm2d(hidden)
        self.point_act = nn.PReLU()
        self.depth_conv = nn.Conv2d(
            hidden,
            hidden,
            kernel,
            padding=(0, (kernel_f - 1) // 2),  # time: causal_pad does it; frequency: 'same'
            dilation=(dilation, 1),
            groups=hidden,
        )
        self.depth_bn = nn.BatchNorm2d(hidden)
        self.depth_act = nn.PReLU()
        self.point_conv2 = nn.Conv2d(hidden, half, 1)
        self.point_bn2 = nn.BatchNorm2d(half)
        self.tra = TRA(half, tra_hidden)

    def state_shapes(self, width: int) -> dict[str, tuple[int, ...]]:
        """Shapes (without batch) of the state: ``conv`` the depthwise conv's cache of the last
        ``(kt - 1) * dilation`` frames of its input, ``tra`` the TRA GRU's hidden vector."""
        return {"conv": (self.depth_conv.in_channels, self.pad_frames, width), "tra": (self.tra.hidden,)}

    def forward_state(
        self, x: torch.Tensor, state: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x (B,C,T,F), state {conv: (B,hidden,pad,F), tra: (B,tra_hidden)} or None (zeros)
        -> (B,C,T,F), new state (same shapes)."""
        state = state or {}
        x1, x2 = x.chunk(2, dim=1)  # 2 x (B,C/2,T,F)
        h = self.sfe(x1)  # (B,C/2*sfe,T,F)
        h = self.point_act(self.point_bn1(self.point_conv1(h)))  # (B,hidden,T,F)
        h = causal_pad(h, self.pad_frames, state.get("conv"))  # (B,hidden,pad+T,F)
        conv_cache = h[:, :, h.shape[2] - self.pad_frames :]  # (B,hidden,pad,F): the last pad frames
        h = self.depth_act(self.depth_bn(self.depth_conv(h)))  # (B,hidden,T,F)
        h = self.point_bn2(self.point_conv2(h))  # (B,C/2,T,F)
        tra = state.get("tra")
        h, tra = self.tra(h, None if tra is None else tra.unsqueeze(0).contiguous())  # (B,C/2,T,F), (1,B,H)
        return channel_shuffle(h, x2), {"conv": conv_cache, "tra": tra[0]}  # (B,C,T,F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,T,F) -> (B,C,T,F), from a zero state."""
        return self.forward_state(x)[0]


class GRNN(nn.Module):
    """Grouped GRU: split the features into ``groups`` slices, one small GRU per slice.

    With 2 groups this halves the weights of one GRU of the same total width (each GRU sees half
    the inputs and keeps half the state). ``hidden`` is the total state width per direction; a
    bidirectional GRNN outputs ``2 * hidden`` features.
    """

    def __init__(self, input_size: int, hidden: int, groups: int = 2, bidirectional: bool = False):
        super().__init__()
        if input_size % groups or hidden % groups:
            raise ValueError(f"GRNN: input_size {input_size} and hidden {hidden} must divide by groups {groups}.")
        self.groups = groups
        self.hidden = hidden
        self.directions = 2 if bidirectional else 1
        self.rnns = nn.ModuleList(
            nn.GRU(input_size // groups, hidden // groups, batch_first=True, bidirectional=bidirectional)
            for _ in range(groups)
        )

    def forward(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N,L,input_size), state (directions,N,hidden) or None
        -> y (N,L,directions*hidden), new state (directions,N,hidden)."""
        xs = x.chunk(self.groups, dim=-1)  # groups x (N,L,input/groups)
        states = [None] * self.groups if state is None else state.chunk(self.groups, dim=-1)
        ys, new_states = [], []
        for rnn, xg, hg in zip(self.rnns, xs, states):
            yg, hg = rnn(xg, None if hg is None else hg.contiguous())  # (N,L,dirs*hidden/groups), (dirs,N,hidden/groups)
            ys.append(yg)
            new_states.append(hg)
        return torch.cat(ys, dim=-1), torch.cat(new_states, dim=-1)  # (N,L,dirs*hidden), (dirs,N,hidden)


class DPGRNN(nn.Module):
    """Grouped dual-path GRU block on the (B,C,T,F) bottleneck.

    Intra path (within one frame, across the ``width`` frequency bands): grouped bidirectional GRU
    with ``hidden // 2`` units per direction -> Linear -> LayerNorm over (F,C) -> residual.
    Inter path (within one band, across time): grouped causal GRU with ``hidden`` units ->
    Linear -> LayerNorm over (F,C) -> residual. Bidirectional over frequency is fine for
    streaming: a frame's bands all arrive together.
    """

    def __init__(self, channels: int, width: int, hidden: int, groups: int = 2):
        super().__init__()
        self.channels = channels
        self.width = width
        self.intra_rnn = GRNN(channels, hidden // 2, groups, bidirectional=True)
        self.intra_fc = nn.Linear(hidden, channels)
        self.intra_ln = nn.LayerNorm((width, channels), eps=1e-8)
        self.inter_rnn = GRNN(channels, hidden, groups, bidirectional=False)
        self.inter_fc = nn.Linear(hidden, channels)
        self.inter_ln = nn.LayerNorm((width, channels), eps=1e-8)

    def intra(self, x: torch.Tensor) -> torch.Tensor:
        """Across frequency, frame by frame: (B,T,F,C) -> (B,T,F,C)."""
        b, t, f, c = x.shape
        h, _ = self.intra_rnn(x.reshape(b * t, f, c))  # (B*T,F,hidden)
        h = self.intra_fc(h).reshape(b, t, f, c)  # (B,T,F,C)
        return x + self.intra_ln(h)  # (B,T,F,C)

    def inter(
        self, x: torch.Tensor, state: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Across time, band by band: x (B,T,F,C), state (1,B*F,hidden) or None
        -> (B,T,F,C), new state (1,B*F,hidden)."""
        b, t, f, c = x.shape
        h = x.transpose(1, 2).reshape(b * f, t, c)  # (B*F,T,C)
        h, state = self.inter_rnn(h, state)  # (B*F,T,hidden)
        h = self.inter_fc(h).reshape(b, f, t, c).transpose(1, 2)  # (B,T,F,C)
        return x + self.inter_ln(h), state  # (B,T,F,C)

    def state_shapes(self, width: int) -> dict[str, tuple[int, ...]]:
        """Shapes (without batch) of the state: ``h`` the inter GRUs' hidden vectors, one per band."""
        return {"h": (width, self.inter_rnn.hidden)}

    def forward_state(
        self, x: torch.Tensor, state: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x (B,C,T,F), state {h: (B,F,hidden)} or None (zeros) -> (B,C,T,F), new state."""
        b, _, _, f = x.shape
        h0 = None if not state else state["h"].reshape(1, b * f, -1)  # (1,B*F,hidden)
        h = x.permute(0, 2, 3, 1)  # (B,T,F,C)
        h = self.intra(h)  # (B,T,F,C)
        h, h_new = self.inter(h, h0)  # (B,T,F,C), (1,B*F,hidden)
        return h.permute(0, 3, 1, 2), {"h": h_new.reshape(b, f, -1)}  # (B,C,T,F)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,T,F) -> (B,C,T,F), from a zero state."""
        return self.forward_state(x)[0]


class Mask(nn.Module):
    """Complex ratio mask: enhanced = mask * spec as complex numbers, bin by bin."""

    def forward(self, mask: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """mask (B,2,T,F), spec (B,2,T,F) with [real, imag] on axis 1 -> (B,2,T,F)."""
        real = spec[:, 0] * mask[:, 0] - spec[:, 1] * mask[:, 1]  # (B,T,F)
        imag = spec[:, 1] * mask[:, 0] + spec[:, 0] * mask[:, 1]  # (B,T,F)
        return torch.stack([real, imag], dim=1)  # (B,2,T,F)
