"""GTCRN for the ESP32-S3: a streaming step built only from the kernels the S3 runs fast (chapter 2).

Cost: see ``gtcrn-micro profile --model s3`` (parameters, MACs) and, for the exported int8 step,
``gtcrn-micro profile --target esp32s3 --tflite FILE`` (ops, kernel paths, cycles).

The story is GTCRN's (an ERB-domain complex ratio mask from an encoder of GTConvBlocks with SFE
and TRA, a dual-path bottleneck and a mirrored decoder), but every piece is written so that the
converted int8 step graph is made of what ESP-NN accelerates on the S3 (CONV_2D,
DEPTHWISE_CONV_2D with multiplier 1, FULLY_CONNECTED, ADD, MUL, AVERAGE_POOL_2D, all without
broadcasting), plus a few cheap data-movement ops, and nothing that forces a TRANSPOSE:

- **Layout.** Every tensor of the step is 4-D ``(B,C,T,F)`` in torch with T = 1, which the
  converter turns into NHWC ``(1,1,F,C)`` without a single TRANSPOSE; inputs take that NHWC
  layout too (no ``-kat``). No reshape or permute in the step (those are what make onnx2tf
  insert transposes); a GRU over frequency bins runs as 1x1 convolutions on ``(1,1,33,C)``.
- **SFE** (each band sees its neighbours) followed by GTConv's first 1x1 conv is exactly one
  (1,3) convolution over frequency: written as that conv, one CONV_2D.
- **Channel split and shuffle** cost nothing: a GTConvBlock takes its input as two halves
  ``(a, b)`` kept as separate tensors, processes ``a`` and returns ``(b, y)``, so the next block
  processes the half this one passed through. No SPLIT, no CONCATENATION, no shuffle op.
- **Dilation without dilated kernels.** A causal depthwise conv of kernel k and dilation d
  keeps the last ``(k-1)*d`` frames as a state; the step concatenates them with the new frame
  and takes every d-th frame with a strided slice, then runs an undilated (k,1) depthwise conv.
  Offline (training), the same weights run as a dilated conv over the whole sequence.
- **TRA, GRU-free**: the frame energy is the mean over frequency of the block's hidden (ReLU)
  activations, one AVERAGE_POOL_2D; a 1x1 conv and a sigmoid give each channel its gain, which a
  nearest-neighbour resize spreads over the bands (no broadcasting MUL).
- **ReLU everywhere**, fused into the conv or add before it (no op of its own); BatchNorm folds
  into the conv at export; the decoder upsamples with a 1x1 conv, a nearest resize and a
  depthwise (1,3) conv instead of a transposed conv. The mask leaves the graph unbounded and the
  host clamps it to [-1, 1] (an int8 TANH would cost ~400 instructions per element).
- **Dual path**: intra = 1x1 + depthwise (1,k) over frequency with a residual; inter over time,
  per band: a GRU whose gates are 1x1 convs (``dual_path="gru"``: one conv from the input and
  one from the state per gate), or causal depthwise convs over time (``dual_path="tcn"``). The
  bottleneck is entered by concatenating the two halves and left by two 1x1 convs, one per half
  (slicing channels would bring transposes back).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..audio.erb import ERB
from ..config import Config, get_config
from .micro import MaskedStepModel

__all__ = ["S3GTCRN", "S3GTConvBlock", "S3DualPath", "CausalDepthwise", "FreqStridedDepthwise", "GRUConvCell", "LiteTRA"]

State = dict[str, torch.Tensor]


def conv_bn(in_ch: int, out_ch: int, kernel=(1, 1), stride=(1, 1), groups: int = 1, relu: bool = True) -> nn.Sequential:
    """Conv2d ('same' padding over frequency, none over time) + BatchNorm (+ ReLU, fused at export)."""
    pad = (0, kernel[1] // 2)
    layers = [nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=pad, groups=groups), nn.BatchNorm2d(out_ch)]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def spread(gain: torch.Tensor, width: int) -> torch.Tensor:
    """(B,C,T,1) -> (B,C,T,F): a per-channel gain copied to every band (RESIZE_NEAREST_NEIGHBOR in
    TFLite), so that the multiply that follows needs no broadcasting."""
    return F.interpolate(gain, size=(int(gain.shape[2]), width), mode="nearest")  # int(): a constant when traced


class FreqStridedDepthwise(nn.Conv2d):
    """Depthwise conv (1,k) with stride s over frequency.

    For one frame it runs with stride (s, s): the same numbers (the time axis holds one frame), but
    equal strides let the converter emit DEPTHWISE_CONV_2D instead of a grouped CONV_2D.
    """

    def __init__(self, channels: int, kernel_f: int, stride_f: int):
        super().__init__(channels, channels, (1, kernel_f), stride=(1, stride_f), padding=(0, kernel_f // 2), groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B,C,T,F) -> (B,C,T,ceil(F/s))"""
        s = self.stride[1]
        stride = (s, s) if x.shape[2] == 1 else self.stride
        return F.conv2d(x, self.weight, self.bias, stride=stride, padding=self.padding, groups=self.groups)


class CausalDepthwise(nn.Module):
    """Depthwise conv over time, causal, kernel (k,1), dilation d, with its past as an explicit cache.

    The cache holds the last ``(k-1)*d`` input frames. Offline (T > 1) the weights run as a dilated
    conv over [cache, x]; one frame (T = 1) takes every d-th frame of [cache, x] with a strided
    slice and runs an undilated conv: same weights, same numbers, no dilated kernel in the step.
    Followed by BatchNorm and ReLU.
    """

    def __init__(self, channels: int, kernel_t: int, dilation: int, kernel_f: int = 1):
        super().__init__()
        self.d = dilation
        self.cache_len = (kernel_t - 1) * dilation
        # kernel_f > 1: 'same' over frequency, which the converter writes as a PAD op before the conv
        self.conv = nn.Conv2d(channels, channels, (kernel_t, kernel_f), padding=(0, kernel_f // 2), groups=channels)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor, cache: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,C,T,F), cache (B,C,L,F) -> y (B,C,T,F), new cache (B,C,L,F)"""
        xin = torch.cat([cache, x], dim=2)  # (B,C,L+T,F)
        if x.shape[2] == 1 and self.d > 1:
            taps = xin[:, :, :: self.d]  # (B,C,k,F): frames t-(k-1)d, ..., t-d, t
            y = F.conv2d(taps, self.conv.weight, self.conv.bias, padding=self.conv.padding, groups=self.conv.groups)
        else:
            y = F.conv2d(xin, self.conv.weight, self.conv.bias, padding=self.conv.padding, dilation=(self.d, 1),
                         groups=self.conv.groups)  # (B,C,T,F)
        return torch.relu(self.bn(y)), xin[:, :, xin.shape[2] - self.cache_len :]


class LiteTRA(nn.Module):
    """Temporal recurrent attention without a GRU: gain per channel from the block's frame energy.

    energy = mean over frequency of ``hidden`` (non-negative ReLU activations whose causal temporal
    conv already looks ``(k-1)*d`` frames back), gain = sigmoid(1x1 conv(energy)), output = x * gain.
    """

    def __init__(self, hidden: int, channels: int, width: int):
        super().__init__()
        self.width = width  # bands (a constant: the pooling window of the exported graph)
        self.fc = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """x (B,C,T,F), hidden (B,H,T,F) -> (B,C,T,F)"""
        energy = F.avg_pool2d(hidden, (1, self.width))  # (B,H,T,1): AVERAGE_POOL_2D
        gain = torch.sigmoid(self.fc(energy))  # (B,C,T,1)
        return x * spread(gain, self.width)  # (B,C,T,F)


class S3GTConvBlock(nn.Module):
    """GTConvBlock on two halves: ``(a, b) -> (b, y)``, y = TRA(1x1(dwconv_t(SFE-conv(a)))).

    ``SFE-conv``: SFE (3 neighbouring bands) + 1x1 conv, written as the (1,3) conv it equals.
    """

    def __init__(self, channels: int, dilation: int, cfg: Config, tra: bool = True):
        super().__init__()
        m = cfg.model
        half = channels // 2
        self.sfe_point = conv_bn(half, channels, (1, m.sfe_kernel))  # (B,C,T,F)
        self.depth = CausalDepthwise(channels, m.gt_kernel_t, dilation, m.gt_kernel_f)
        self.point2 = conv_bn(channels, half, relu=False)
        self.tra = LiteTRA(channels, half, cfg.bottleneck_width) if tra else None

    def state_shapes(self, width: int) -> dict[str, tuple[int, ...]]:
        return {"conv": (self.depth.conv.in_channels, self.depth.cache_len, width)}

    def forward(self, a: torch.Tensor, b: torch.Tensor, state: State) -> tuple[torch.Tensor, torch.Tensor, State]:
        """a, b (B,C/2,T,F) each -> (b, y) (B,C/2,T,F) each; state {conv: (B,C,L,F)}"""
        h = self.sfe_point(a)  # (B,C,T,F)
        h, cache = self.depth(h, state["conv"])  # (B,C,T,F)
        y = self.point2(h)  # (B,C/2,T,F)
        if self.tra is not None:
            y = self.tra(y, h)
        return b, y, {"conv": cache}


class GRUConvCell(nn.Module):
    """A GRU run independently in every frequency band, its gates as 1x1 convolutions.

    Offline it is ``nn.GRU`` over time on (B*F, T, C); for one frame the same weights run as four
    1x1 convs on (B,C,1,F), one per gate and source. No reshape, no FULLY_CONNECTED per band.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)

    def _w(self, which: str, rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
        w, b = getattr(self.gru, f"weight_{which}_l0")[rows], getattr(self.gru, f"bias_{which}_l0")[rows]
        return w[:, :, None, None], b

    def cell(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One frame: x (B,I,1,F), h (B,H,1,F) -> h' (B,H,1,F). PyTorch gate order: reset, update, new.

        One 1x1 conv per gate and source (six CONV_2D): slicing one wide gate tensor instead makes
        the converter insert TRANSPOSE ops around the slices.
        """
        H = self.hidden_size

        def gate(i: int, src: torch.Tensor, which: str) -> torch.Tensor:
            return F.conv2d(src, *self._w(which, slice(i * H, (i + 1) * H)))  # (B,H,1,F)

        r = torch.sigmoid(gate(0, x, "ih") + gate(0, h, "hh"))
        z = torch.sigmoid(gate(1, x, "ih") + gate(1, h, "hh"))
        n = torch.tanh(gate(2, x, "ih") + r * gate(2, h, "hh"))
        return n + z * (h - n)  # = (1 - z) * n + z * h

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B,I,T,F), h (B,H,1,F) -> y (B,H,T,F), h_last (B,H,1,F)"""
        if x.shape[2] == 1:
            h = self.cell(x, h)
            return h, h
        B, C, T, Fq = x.shape
        seq = x.permute(0, 3, 2, 1).reshape(B * Fq, T, C)  # (B*F,T,C)
        h0 = h.permute(0, 3, 2, 1).reshape(1, B * Fq, self.hidden_size)  # (1,B*F,H)
        y, hn = self.gru(seq, h0.contiguous())  # (B*F,T,H), (1,B*F,H)
        y = y.reshape(B, Fq, T, self.hidden_size).permute(0, 3, 2, 1)  # (B,H,T,F)
        return y, hn.reshape(B, Fq, 1, self.hidden_size).permute(0, 3, 2, 1)  # (B,H,1,F)


class S3DualPath(nn.Module):
    """Dual path on the bottleneck (B,C,T,33): intra over frequency, then inter over time per band.

    intra: x + ReLU(BN(depthwise (1,k)(1x1(x)))). inter (``gru``): x + BN(1x1(GRU per band(x)));
    (``tcn``): a stack of 1x1 convs, each followed by a causal depthwise conv over time (dilations
    ``tcn_dilations``) and a residual add.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        m = cfg.model
        C = m.channels
        self.mode = m.dual_path
        self.intra_pw = nn.Conv2d(C, C, 1)  # 1x1 first: a conv's output keeps the converter's layout
        self.intra_dw = conv_bn(C, C, (1, m.intra_kernel_f), groups=C)  # tracking right for the depthwise
        if self.mode == "gru":
            self.inter = GRUConvCell(C, m.dp_hidden)
            self.inter_fc = conv_bn(m.dp_hidden, C, relu=False)
        elif self.mode == "tcn":  # 1x1 first, so that what each cache holds is a conv's output (no transposes)
            self.inter_pw = nn.ModuleList([conv_bn(C, C, relu=False) for _ in m.tcn_dilations])
            self.inter = nn.ModuleList([CausalDepthwise(C, m.gt_kernel_t, d) for d in m.tcn_dilations])
        else:
            raise ValueError(f"dual_path must be 'gru' or 'tcn', not {self.mode!r}.")

    def state_shapes(self, width: int) -> dict[str, tuple[int, ...]]:
        if self.mode == "gru":
            return {"h": (self.inter.hidden_size, 1, width)}
        return {f"conv{i}": (c.conv.in_channels, c.cache_len, width) for i, c in enumerate(self.inter)}

    def forward(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """x (B,C,T,F) -> (B,C,T,F)"""
        x = x + self.intra_dw(self.intra_pw(x))  # (B,C,T,F)
        if self.mode == "gru":
            y, h = self.inter(x, state["h"])  # (B,H,T,F)
            return x + self.inter_fc(y), {"h": h}
        new: State = {}
        for i, (pw, conv) in enumerate(zip(self.inter_pw, self.inter)):
            z, new[f"conv{i}"] = conv(pw(x), state[f"conv{i}"])  # (B,C,T,F)
            x = x + z
        return x, new


class S3GTCRN(MaskedStepModel):
    """GTCRN built for the ESP32-S3's kernels. ``forward(spec (B,257,T,2)) -> enhanced spec``.

    ``features`` (host, float) -> ``core`` (the int8 step graph, state explicit) -> ``apply_mask`` (host,
    which clamps the mask to [-1, 1]), as :class:`~gtcrn_micro.model.micro.MicroGTCRN`.
    """

    step_layout = "nhwc"  # the exported step takes TFLite's own layout: no TRANSPOSE anywhere
    mask_clamp = True  # the mask leaves the graph unbounded; the host clamps it to [-1, 1] (no int8 TANH)

    def __init__(self, cfg: Config | None = None):
        super().__init__()
        cfg = cfg or get_config("s3")
        self.cfg = cfg
        m = cfg.model
        C, half, k, s = m.channels, m.channels // 2, m.enc_kernel_f, m.enc_stride_f
        if C % 16:
            raise ValueError(f"channels must be a multiple of 16 (halves of 8 for ESP-NN's SIMD kernels), not {C}.")
        self.widths = m.freq_widths(cfg.erb.n_bands)  # (129, 65, 33)
        self.erb = ERB(cfg)
        self.enc1 = conv_bn(3, C, (1, k), (1, s))  # (B,C,T,65)
        self.enc2_dw = nn.Sequential(FreqStridedDepthwise(C, k, s), nn.BatchNorm2d(C))
        self.enc2_a, self.enc2_b = conv_bn(C, half), conv_bn(C, half)  # (B,C/2,T,33) each
        dec_tra = m.tra_where == "all"
        use_tra = m.tra_where != "none"
        self.enc_gt = nn.ModuleList([S3GTConvBlock(C, d, cfg, use_tra) for d in m.dilations])
        self.dp = nn.ModuleList([S3DualPath(cfg) for _ in range(m.dp_blocks)])
        self.bridge_a, self.bridge_b = conv_bn(C, half, relu=False), conv_bn(C, half, relu=False)  # (B,C/2,T,33) each
        self.dec_gt = nn.ModuleList([S3GTConvBlock(C, d, cfg, dec_tra) for d in reversed(m.dilations)])
        self.dec2_pw_a, self.dec2_pw_b = nn.Conv2d(half, C, 1), nn.Conv2d(half, C, 1)  # at 33 bands, summed
        self.dec2_dw = nn.Sequential(nn.Conv2d(C, C, (1, 3), padding=(0, 1), groups=C), nn.BatchNorm2d(C), nn.ReLU())
        self.dec1 = nn.Conv2d(C, 2, (1, 3), padding=(0, 1))  # at 129 bands; the host clamps the mask to [-1, 1]

    # ------------------------------------------------------------------ the integer graph
    def core(self, feat: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """feat (B,3,T,129), state -> mask (B,2,T,129) in [-1,1], new state."""
        if state is None:
            state = self.initial_state(feat.shape[0])
        new: State = {}

        def sub(prefix: str, i: int) -> State:
            return {k[len(f"{prefix}{i}_"):]: v for k, v in state.items() if k.startswith(f"{prefix}{i}_")}

        def keep(prefix: str, i: int, out: State) -> None:
            new.update({f"{prefix}{i}_{k}": v for k, v in out.items()})

        e1 = self.enc1(feat)  # (B,C,T,65)
        d = self.enc2_dw(e1)  # (B,C,T,33)
        a, b = self.enc2_a(d), self.enc2_b(d)  # (B,C/2,T,33) each
        skips = [(a, b)]
        for i, blk in enumerate(self.enc_gt):
            a, b, out = blk(a, b, sub("enc_gt", i))  # (B,C/2,T,33) each
            keep("enc_gt", i, out)
            skips.append((a, b))
        x = torch.cat([a, b], dim=1)  # (B,C,T,33)
        for i, blk in enumerate(self.dp):
            x, out = blk(x, sub("dp", i))
            keep("dp", i, out)
        a, b = self.bridge_a(x), self.bridge_b(x)  # (B,C/2,T,33) each
        for i, blk in enumerate(self.dec_gt):
            sa, sb = skips[-1 - i]
            a, b, out = blk(a + sa, b + sb, sub("dec_gt", i))
            keep("dec_gt", i, out)
        sa, sb = skips[0]
        x = self.dec2_pw_a(a + sa) + self.dec2_pw_b(b + sb)  # (B,C,T,33): a 1x1 conv over both halves

        T = int(x.shape[2])  # a constant when traced
        x = self.dec2_dw(F.interpolate(x, size=(T, self.widths[1]), mode="nearest"))  # (B,C,T,65)
        x = F.interpolate(x + e1, size=(T, self.widths[0]), mode="nearest")  # (B,C,T,129)
        return self.dec1(x), new  # (B,2,T,129): unbounded here, clamped to [-1, 1] by apply_mask

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec (B,257,T,2) -> enhanced spec (B,257,T,2)."""
        mask, _ = self.core(self.features(spec))
        return self.apply_mask(mask, spec)
