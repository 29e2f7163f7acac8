"""GTCRN-Micro: the GTCRN variant built to run in full int8 under TensorFlow Lite Micro.

Cost (``gtcrn-micro profile --model micro``): about 21K trainable parameters and 21 MMAC/s in the
integer graph, plus the fixed ERB matrices (24.6K numbers) that run in float on the host.

What changes from the reference GTCRN, and why (the quantization-friendly rules of DESIGN.md):

- Input features are power-law compressed (|S|^0.3 with the phase kept), so the graph sees bounded
  numbers; the ERB merge/split, the STFT and the complex mask multiply stay outside the integer graph.
- Every PReLU is written ``relu(x) + a * (x - relu(x))``, per channel: stays integer in TFLite.
- No LayerNorm (BatchNorm instead, folded at export); no transposed conv at all (zero insertion + conv).
- The intra (within-frame) path of each dual-path block is a depthwise + pointwise conv over
  frequency instead of a bidirectional GRU unrolled over 33 bins.
- Every temporal memory is an explicit state: conv caches hold the last ``(k - 1) * d`` frames,
  GRUs their hidden vector. A block is written once, as ``forward(x, state) -> (y, new_state)``;
  run on a whole sequence it is the offline model, run on one frame it is the streaming step.
  For one frame the GRUs use an explicit cell (Linear + sigmoid + tanh), which is what the
  exported graph contains; over many frames they use ``nn.GRU`` with the same weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..audio.erb import ERB
from ..audio.features import spec_features
from ..config import Config, get_config

__all__ = ["MicroGTCRN", "MaskedStepModel", "IntPReLU", "CachedConv2d", "StreamGRU", "UpConv"]

State = dict[str, torch.Tensor]


class IntPReLU(nn.Module):
    """Per-channel PReLU as ``relu(x) + a * (x - relu(x))``: RELU, SUB, MUL, ADD in TFLite."""

    def __init__(self, channels: int, init: float = 0.25):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,T,F) -> (B,C,T,F)"""
        a = self.weight.view(1, -1, 1, 1)
        r = torch.relu(x)
        return r + a * (x - r)


class CachedConv2d(nn.Module):
    """A Conv2d that is causal in time, its past supplied by an explicit cache.

    The cache holds the last ``(kernel_t - 1) * dilation_t`` input frames. Offline, the cache is
    zeros and the whole sequence follows it; streaming, one frame follows it. Frequency uses
    'same' zero padding.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: tuple[int, int], dilation_t: int = 1, groups: int = 1):
        super().__init__()
        kt, kf = kernel
        self.cache_len = (kt - 1) * dilation_t
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, dilation=(dilation_t, 1), padding=(0, kf // 2), groups=groups)

    def forward(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,Cin,T,F), cache (B,Cin,L,F) -> y (B,Cout,T,F), new cache (B,Cin,L,F)"""
        xin = torch.cat([cache, x], dim=2)  # (B,Cin,L+T,F)
        y = self.conv(xin)  # (B,Cout,T,F)
        return y, xin[:, :, xin.shape[2] - self.cache_len :]


class StreamGRU(nn.Module):
    """A GRU whose hidden state is explicit; one frame runs as an explicit Linear+sigmoid+tanh cell."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)

    def cell(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step, x (N,I), h (N,H) -> h' (N,H). PyTorch gate order: reset, update, new."""
        H = self.hidden_size
        w_ih, w_hh = self.gru.weight_ih_l0, self.gru.weight_hh_l0
        b_ih, b_hh = self.gru.bias_ih_l0, self.gru.bias_hh_l0
        gate = [(F.linear(x, w_ih[i * H : (i + 1) * H], b_ih[i * H : (i + 1) * H]),
                 F.linear(h, w_hh[i * H : (i + 1) * H], b_hh[i * H : (i + 1) * H])) for i in range(3)]
        r = torch.sigmoid(gate[0][0] + gate[0][1])  # (N,H)
        z = torch.sigmoid(gate[1][0] + gate[1][1])  # (N,H)
        n = torch.tanh(gate[2][0] + r * gate[2][1])  # (N,H)
        return n + z * (h - n)  # = (1 - z) * n + z * h

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N,T,I), h (N,H) -> y (N,T,H), h_last (N,H)"""
        if x.shape[1] == 1:
            h_new = self.cell(x.reshape(x.shape[0], x.shape[2]), h)  # (N,H); reshape, not x[:, 0] (no GATHER)
            return h_new.unsqueeze(1), h_new
        y, h_last = self.gru(x, h[None].contiguous())  # (N,T,H), (1,N,H)
        return y, h_last[0]


def activation(kind: str, channels: int) -> nn.Module:
    """The model's activation: ``"prelu"`` (IntPReLU: RELU, SUB, MUL, ADD in TFLite) or ``"relu"``
    (no op of its own in int8 TFLite: the converter fuses it into the conv or add before it)."""
    if kind == "prelu":
        return IntPReLU(channels)
    if kind == "relu":
        return nn.ReLU()
    raise ValueError(f"activation must be 'prelu' or 'relu', not {kind!r}.")


class ConvBN(nn.Sequential):
    """Conv2d (non-temporal: kernel 1 in time) + BatchNorm, then the activation ``act`` (None: none)."""

    def __init__(self, in_ch, out_ch, kernel_f=1, stride_f=1, groups=1, act: str | None = "prelu"):
        layers = [nn.Conv2d(in_ch, out_ch, (1, kernel_f), stride=(1, stride_f), padding=(0, kernel_f // 2), groups=groups),
                  nn.BatchNorm2d(out_ch)]
        if act:
            layers.append(activation(act, out_ch))
        super().__init__(*layers)


class UpConv(nn.Module):
    """Transposed conv along frequency, written as zero insertion + Conv2d.

    Equal to ``nn.ConvTranspose2d(in, out, (1,k), stride=(1,s), padding=(0,k//2))`` with the kernel
    flipped (a test checks it), but it converts to plain CONV_2D: onnx2tf 1.29 mis-converts this
    transposed conv (a constant output), and TFLM's TRANSPOSE_CONV has no ESP-NN kernel.
    (B,Cin,T,F) -> (B,Cout,T,s*(F-1)+1): 33 -> 65 -> 129.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel_f: int, stride_f: int):
        super().__init__()
        self.stride = stride_f
        self.conv = nn.Conv2d(in_ch, out_ch, (1, kernel_f), padding=(0, kernel_f // 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,Cin,T,F) -> (B,Cout,T,s*(F-1)+1)"""
        B, C, T, Fq = x.shape
        # zero insertion as a PAD (a concatenated zero tensor has an empty range, which 16x8 calibration rejects)
        up = F.pad(x.reshape(B, C * T, Fq, 1), (0, self.stride - 1)).reshape(B, C, T, self.stride * Fq)  # (B,C,T,s*F)
        return self.conv(up[..., : self.stride * (Fq - 1) + 1])  # (B,Cout,T,s*(F-1)+1)


class SFE(nn.Module):
    """Subband feature extraction: each band sees its k neighbours, (B,C,T,F) -> (B,C*k,T,F).

    Written as a depthwise conv with fixed one-hot weights (a DEPTHWISE_CONV_2D with depth
    multiplier k in TFLite), equal to ``nn.Unfold((1,k), padding=(0,k//2))`` channel order.
    """

    def __init__(self, channels: int, kernel: int = 3):
        super().__init__()
        w = torch.zeros(channels * kernel, 1, 1, kernel)
        for c in range(channels):
            for j in range(kernel):
                w[c * kernel + j, 0, 0, j] = 1.0
        self.register_buffer("weight", w)
        self.channels, self.kernel = channels, kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,T,F) -> (B,C*k,T,F)"""
        return F.conv2d(x, self.weight, padding=(0, self.kernel // 2), groups=self.channels)


class TRA(nn.Module):
    """Temporal recurrent attention: frame energy per channel -> GRU -> Linear -> sigmoid gate.

    ``energy="square"`` is GTCRN's mean of x*x over frequency; ``"abs"`` the mean of |x|, which
    grows linearly with the signal instead of with its square (a narrower int8 range).
    """

    def __init__(self, channels: int, hidden: int, energy: str = "square"):
        super().__init__()
        if energy not in ("square", "abs"):
            raise ValueError(f"tra_energy must be 'square' or 'abs', not {energy!r}.")
        self.energy = energy
        self.gru = StreamGRU(channels, hidden)
        self.fc = nn.Linear(hidden, channels)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,C,T,F), h (B,H) -> x * gate (B,C,T,F), h (B,H)"""
        e = x * x if self.energy == "square" else x.abs()  # x*x, not pow (no POW in int8 TFLM); ABS is int8
        energy = e.mean(dim=-1).transpose(1, 2)  # (B,T,C)
        a, h = self.gru(energy, h)  # (B,T,H)
        gate = torch.sigmoid(self.fc(a)).transpose(1, 2)  # (B,C,T)
        return x * gate.unsqueeze(-1), h  # (B,C,T,F)


class GTConvBlock(nn.Module):
    """Grouped temporal conv block: split, SFE, 1x1, causal dilated depthwise, 1x1, TRA, shuffle."""

    def __init__(self, channels: int, dilation: int, cfg: Config):
        super().__init__()
        m = cfg.model
        half = channels // 2
        self.sfe = SFE(half, m.sfe_kernel)
        self.point1 = ConvBN(half * m.sfe_kernel, channels, act=m.activation)  # (B,C,T,F)
        self.depth = CachedConv2d(channels, channels, (m.gt_kernel_t, m.gt_kernel_f), dilation, groups=channels)
        self.depth_bn = nn.BatchNorm2d(channels)
        self.depth_act = activation(m.activation, channels)
        self.point2 = ConvBN(channels, half, act=None)
        self.tra = TRA(half, m.tra_hidden_factor * half, m.tra_energy)

    def state_shapes(self, width: int) -> dict[str, tuple[int, ...]]:
        c = self.depth.conv.in_channels
        return {"conv": (c, self.depth.cache_len, width), "tra": (self.tra.gru.hidden_size,)}

    @staticmethod
    def shuffle(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        """Interleave the channels of two halves: (B,C/2,T,F) x 2 -> (B,C,T,F)."""
        B, C, T, Fq = x1.shape
        return torch.stack([x1, x2], dim=2).reshape(B, 2 * C, T, Fq)

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x (B,C,T,F) -> (B,C,T,F); state {conv: (B,C,L,F), tra: (B,H)}"""
        x1, x2 = torch.chunk(x, 2, dim=1)  # (B,C/2,T,F) each
        h = self.point1(self.sfe(x1))  # (B,C,T,F)
        h, conv_cache = self.depth(h, state["conv"])  # (B,C,T,F)
        h = self.depth_act(self.depth_bn(h))
        h = self.point2(h)  # (B,C/2,T,F)
        h, tra_h = self.tra(h, state["tra"])
        return self.shuffle(h, x2), {"conv": conv_cache, "tra": tra_h}


class DualPath(nn.Module):
    """Dual-path block over the bottleneck (B,C,T,33): intra (frequency) then inter (time).

    intra: depthwise conv over frequency + 1x1 + BN + residual (the whole frame is present, so no
    state). inter, ``dual_path="gru"``: a grouped GRU per frequency bin over time + Linear + BN +
    residual; ``dual_path="tcn"``: causal dilated depthwise convs over time per bin, each with a cache.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        m = cfg.model
        C = m.channels
        self.mode, self.groups = m.dual_path, m.dp_groups
        self.intra = nn.Sequential(
            nn.Conv2d(C, C, (1, m.intra_kernel_f), padding=(0, m.intra_kernel_f // 2), groups=C),
            nn.Conv2d(C, C, 1), nn.BatchNorm2d(C), activation(m.activation, C))
        if self.mode == "gru":
            g = m.dp_hidden // self.groups
            self.inter = nn.ModuleList([StreamGRU(C // self.groups, g) for _ in range(self.groups)])
            self.inter_fc = nn.Linear(m.dp_hidden, C)
        elif self.mode == "tcn":
            self.inter = nn.ModuleList([CachedConv2d(C, C, (m.gt_kernel_t, 1), d, groups=C) for d in m.tcn_dilations])
            self.inter_pw = nn.ModuleList([ConvBN(C, C, act=m.activation) for _ in m.tcn_dilations])
            self.inter_fc = nn.Conv2d(C, C, 1)
        else:
            raise ValueError(f"dual_path must be 'gru' or 'tcn', not {self.mode!r}.")
        self.inter_bn = nn.BatchNorm2d(C)

    def state_shapes(self, width: int) -> dict[str, tuple[int, ...]]:
        if self.mode == "gru":
            return {f"h{i}": (width, g.hidden_size) for i, g in enumerate(self.inter)}
        return {f"conv{i}": (c.conv.in_channels, c.cache_len, width) for i, c in enumerate(self.inter)}

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x (B,C,T,F) -> (B,C,T,F)"""
        x = x + self.intra(x)  # (B,C,T,F)
        new: State = {}
        if self.mode == "gru":
            B, C, T, Fq = x.shape
            seq = x.permute(0, 3, 2, 1).reshape(B * Fq, T, C)  # (B*F,T,C)
            outs = []
            for i, (gru, part) in enumerate(zip(self.inter, torch.chunk(seq, self.groups, dim=-1))):
                h0 = state[f"h{i}"].reshape(B * Fq, -1)  # (B*F,H/g)
                y, h = gru(part, h0)  # (B*F,T,H/g)
                outs.append(y)
                new[f"h{i}"] = h.reshape(B, Fq, -1)  # (B,F,H/g)
            y = self.inter_fc(torch.cat(outs, dim=-1))  # (B*F,T,C)
            y = y.reshape(B, Fq, T, C).permute(0, 3, 2, 1)  # (B,C,T,F)
        else:
            y = x
            for i, (conv, pw) in enumerate(zip(self.inter, self.inter_pw)):
                z, new[f"conv{i}"] = conv(y, state[f"conv{i}"])  # (B,C,T,F)
                y = y + pw(z)
            y = self.inter_fc(y)
        return x + self.inter_bn(y), new


class MaskedStepModel(nn.Module):
    """What every step-graph model shares: named states, the host's features and complex mask.

    A subclass builds ``erb``, ``widths``, ``cfg`` and the block lists ``enc_gt``, ``dp``, ``dec_gt``
    (each block with ``state_shapes(width)``), and defines ``core(feat, state)``. ``mask_clamp``:
    clamp the mask to [-1, 1] on the host (for a graph whose mask leaves it unbounded).
    """

    mask_clamp = False

    # ------------------------------------------------------------------ state
    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape (without batch) of every state tensor of one streaming step."""
        w = self.widths[-1]
        shapes = {}
        for prefix, blocks in (("enc_gt", self.enc_gt), ("dp", self.dp), ("dec_gt", self.dec_gt)):
            for i, blk in enumerate(blocks):
                for key, shp in blk.state_shapes(w).items():
                    shapes[f"{prefix}{i}_{key}"] = shp
        return shapes

    def initial_state(self, batch: int = 1) -> State:
        """All-zero state: what the model starts from at the beginning of a stream."""
        p = next(self.parameters())
        return {k: torch.zeros((batch, *s), dtype=p.dtype, device=p.device) for k, s in self.state_shapes().items()}

    # ------------------------------------------------------------------ host parts
    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """spec (B,257,T,2) -> compressed ERB features (B,3,T,129): [|S|^c, Re_c, Im_c]."""
        feat = spec_features(spec, self.cfg.model.compress_exponent)  # (B,3,T,257)
        return self.erb.bm(feat)  # (B,3,T,129)

    def apply_mask(self, mask: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """mask (B,2,T,129), spec (B,257,T,2) -> enhanced spec (B,257,T,2) (complex multiply).

        With ``mask_clamp`` the mask is clamped to [-1, 1] first, on the host (258 floats per hop),
        where a graph would otherwise end in a TANH (TFLM's int8 TANH: ~400 instructions per element).
        """
        if self.mask_clamp:
            mask = torch.clamp(mask, -1.0, 1.0)
        m = self.erb.bs(mask).permute(0, 3, 2, 1)  # (B,257,T,2)
        s_re, s_im, m_re, m_im = spec[..., 0], spec[..., 1], m[..., 0], m[..., 1]
        return torch.stack([s_re * m_re - s_im * m_im, s_im * m_re + s_re * m_im], dim=-1)


class MicroGTCRN(MaskedStepModel):
    """GTCRN-Micro. ``forward(spec (B,257,T,2)) -> enhanced spec (B,257,T,2)``.

    Split in three so that the integer graph is only the middle:
    ``features`` (host, float) -> ``core`` (the int8 graph, state explicit) -> ``apply_mask`` (host).
    """

    def __init__(self, cfg: Config | None = None):
        super().__init__()
        cfg = cfg or get_config("micro")
        self.cfg = cfg
        m = cfg.model
        C = m.channels
        self.widths = m.freq_widths(cfg.erb.n_bands)  # (129, 65, 33)
        self.erb = ERB(cfg)
        self.sfe = SFE(3, m.sfe_kernel)
        self.enc1 = ConvBN(3 * m.sfe_kernel, C, m.enc_kernel_f, m.enc_stride_f, act=m.activation)  # 129 -> 65
        self.enc2 = ConvBN(C, C, m.enc_kernel_f, m.enc_stride_f, groups=2, act=m.activation)  # 65 -> 33
        self.enc_gt = nn.ModuleList([GTConvBlock(C, d, cfg) for d in m.dilations])
        self.dp = nn.ModuleList([DualPath(cfg) for _ in range(m.dp_blocks)])
        self.dec_gt = nn.ModuleList([GTConvBlock(C, d, cfg) for d in reversed(m.dilations)])
        k, s = m.enc_kernel_f, m.enc_stride_f
        self.dec2 = nn.Sequential(UpConv(C, C, k, s), nn.BatchNorm2d(C), activation(m.activation, C))  # 33 -> 65
        self.dec1 = nn.Sequential(UpConv(C, 2, k, s), nn.BatchNorm2d(2), nn.Tanh())  # 65 -> 129, mask in [-1, 1]

    # ------------------------------------------------------------------ the integer graph
    def core(self, feat: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """feat (B,3,T,129), state -> mask (B,2,T,129) in [-1,1], new state.

        Offline: pass ``state=None`` (zeros) and all T frames. Streaming: T = 1 and the state
        returned by the previous step.
        """
        if state is None:
            state = self.initial_state(feat.shape[0])
        new: State = {}

        def run(prefix, i, blk, x):
            sub = {k[len(f"{prefix}{i}_"):]: v for k, v in state.items() if k.startswith(f"{prefix}{i}_")}
            y, out = blk(x, sub)
            new.update({f"{prefix}{i}_{k}": v for k, v in out.items()})
            return y

        x = self.sfe(feat)  # (B,9,T,129)
        e1 = self.enc1(x)  # (B,C,T,65)
        e2 = self.enc2(e1)  # (B,C,T,33)
        skips, x = [], e2
        for i, blk in enumerate(self.enc_gt):
            x = run("enc_gt", i, blk, x)  # (B,C,T,33)
            skips.append(x)
        for i, blk in enumerate(self.dp):
            x = run("dp", i, blk, x)  # (B,C,T,33)
        for i, blk in enumerate(self.dec_gt):
            x = run("dec_gt", i, blk, x + skips[-1 - i])  # (B,C,T,33)
        x = self.dec2(x + e2)  # (B,C,T,65)
        mask = self.dec1(x + e1)  # (B,2,T,129)
        return mask, new

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec (B,257,T,2) -> enhanced spec (B,257,T,2)."""
        mask, _ = self.core(self.features(spec))
        return self.apply_mask(mask, spec)
