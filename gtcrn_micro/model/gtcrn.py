"""GTCRN, the reference model (chapter 2): Rong et al., ICASSP 2024, rebuilt from the paper's blocks.

Cost (``gtcrn`` preset, measured by :func:`gtcrn_micro.model.profile_model`, 62.5 frames/s):
    trainable params    23,669     (paper: 23.67 K)
    fixed ERB weights   24,576     (2 x 192 x 64 filterbank, not trained)
    MACs per second     27.2 M     multiply-accumulates after folding BatchNorm
    ptflops-style       32.9 M     counted like the paper's "33.0 MMACs" (ptflops): also counts
                                   biases, BN, PReLU, and stride-2 transposed convs at every
                                   output position
Checked once against the reference ``gtcrn.py`` with the same random weights: outputs agree to
1e-6 (decoder GTConvBlock kernels flipped, see :class:`~gtcrn_micro.model.blocks.GTConvBlock`).

The pipeline, for a (B,257,T,2) spectrum of 16 kHz audio (n_fft 512, hop 256)::

    spec (B,257,T,2) -> features [|S|,Re,Im] (B,3,T,257) -> ERB.bm (B,3,T,129)
      -> SFE (B,9,T,129)
      -> Encoder: ConvBlock 9->16 (B,16,T,65), ConvBlock 16->16 (B,16,T,33), GTConvBlocks d=1,2,5
      -> DPGRNN x2 (B,16,T,33)
      -> Decoder: GTConvBlocks d=5,2,1, ConvBlock 16->16 (B,16,T,65), ConvBlock 16->2 (B,2,T,129),
         each block's input plus the mirrored encoder output (skip connection)
      -> mask (B,2,T,129) -> ERB.bs (B,2,T,257) -> complex multiply with spec -> (B,257,T,2)

Every width, kernel and dilation comes from :class:`gtcrn_micro.config.ModelConfig`.

Streaming (chapter 3): ``core(feat, state) -> (mask, new_state)`` runs any number of frames,
one included, from an explicit state (``initial_state``, named and shaped by ``state_shapes``):
the GTConvBlocks' depthwise-conv caches, their TRA GRUs' and the DPGRNN inter GRUs' hidden
vectors. The same contract as :class:`~gtcrn_micro.model.micro.MicroGTCRN`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..audio.erb import ERB
from ..config import Config, get_config
from .blocks import DPGRNN, SFE, ConvBlock, GTConvBlock, Mask

State = dict[str, torch.Tensor]

__all__ = ["Encoder", "Decoder", "GTCRN", "N_FEATURES", "N_MASK"]

N_FEATURES = 3  # input feature maps: |S|, Re(S), Im(S)
N_MASK = 2  # output feature maps: real and imaginary part of the complex ratio mask
MAG_EPS = 1e-12  # inside the sqrt of |S|, so its gradient stays finite at silent bins


def _freq_conv_geometry(cfg: Config) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Kernel, stride and 'same'-style padding of the strided (1,k) ConvBlocks."""
    m = cfg.model
    return (1, m.enc_kernel_f), (1, m.enc_stride_f), (0, (m.enc_kernel_f - 1) // 2)


def _gt_blocks(cfg: Config, dilations) -> list[tuple[str, GTConvBlock]]:
    m = cfg.model
    return [
        (
            f"gtconv{i + 1}",
            GTConvBlock(
                m.channels,
                m.channels,
                (m.gt_kernel_t, m.gt_kernel_f),
                d,
                m.sfe_kernel,
                m.tra_hidden_factor * m.half,
            ),
        )
        for i, d in enumerate(dilations)
    ]


class Encoder(nn.Module):
    """Two strided ConvBlocks (129 -> 65 -> 33 bands), then one GTConvBlock per dilation.

    ``blocks`` is an ordered ModuleDict; the profiler reports each entry as its own block.
    """

    def __init__(self, cfg: Config):
        super().__init__()
        m = cfg.model
        kernel, stride, padding = _freq_conv_geometry(cfg)
        self.blocks = nn.ModuleDict(
            [
                ("conv1", ConvBlock(N_FEATURES * m.sfe_kernel, m.channels, kernel, stride, padding)),
                ("conv2", ConvBlock(m.channels, m.channels, kernel, stride, padding, groups=m.dp_groups)),
                *_gt_blocks(cfg, m.dilations),
            ]
        )

    def forward_state(
        self, x: torch.Tensor, states: list[State] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[State]]:
        """(B,3*sfe,T,129) and one state per GTConvBlock (or None: zeros) -> (B,C,T,33), the output
        of every block (skip connections), the new GTConvBlock states."""
        skips, new, states = [], [], iter(states or [])
        for block in self.blocks.values():
            if isinstance(block, GTConvBlock):
                x, st = block.forward_state(x, next(states, None))  # (B,C,T,33)
                new.append(st)
            else:
                x = block(x)  # (B,C,T,65), then (B,C,T,33)
            skips.append(x)
        return x, skips, new

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B,3*sfe,T,129) -> (B,C,T,33) and the output of every block (skip connections)."""
        x, skips, _ = self.forward_state(x)
        return x, skips


class Decoder(nn.Module):
    """Mirror of the encoder: GTConvBlocks with the dilations reversed, then two transposed
    ConvBlocks (33 -> 65 -> 129 bands), the last with Tanh so the mask stays in (-1, 1).
    Each block first adds the output of its mirrored encoder block."""

    def __init__(self, cfg: Config):
        super().__init__()
        m = cfg.model
        kernel, stride, padding = _freq_conv_geometry(cfg)
        widths = m.freq_widths(cfg.erb.n_bands)  # (129, 65, 33)

        def output_padding(w_in: int, w_out: int) -> tuple[int, int]:
            # transposed conv gives (w_in - 1) * stride - 2 * pad + k bands; pad the rest at the top
            extra = w_out - ((w_in - 1) * stride[1] - 2 * padding[1] + kernel[1])
            if not 0 <= extra < stride[1]:
                raise ValueError(f"Decoder cannot map {w_in} bands back to {w_out} with this kernel/stride.")
            return (0, extra)

        self.blocks = nn.ModuleDict(
            [
                *_gt_blocks(cfg, tuple(reversed(m.dilations))),
                (
                    "deconv1",
                    ConvBlock(
                        m.channels, m.channels, kernel, stride, padding, groups=m.dp_groups,
                        transpose=True, output_padding=output_padding(widths[2], widths[1]),
                    ),
                ),
                (
                    "deconv2",
                    ConvBlock(
                        m.channels, N_MASK, kernel, stride, padding,
                        transpose=True, output_padding=output_padding(widths[1], widths[0]), last=True,
                    ),
                ),
            ]
        )

    def forward_state(
        self, x: torch.Tensor, skips: list[torch.Tensor], states: list[State] | None = None
    ) -> tuple[torch.Tensor, list[State]]:
        """(B,C,T,33), the encoder's outputs and one state per GTConvBlock (or None: zeros)
        -> mask (B,2,T,129), the new GTConvBlock states."""
        new, states = [], iter(states or [])
        for block, skip in zip(self.blocks.values(), reversed(skips)):
            if isinstance(block, GTConvBlock):
                x, st = block.forward_state(x + skip, next(states, None))  # (B,C,T,33)
                new.append(st)
            else:
                x = block(x + skip)  # (B,C,T,65), last (B,2,T,129)
        return x, new

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor]) -> torch.Tensor:
        """(B,C,T,33) and the encoder's outputs -> mask (B,2,T,129)."""
        return self.forward_state(x, skips)[0]


class GTCRN(nn.Module):
    """Grouped Temporal Convolutional Recurrent Network (Rong et al., ICASSP 2024).

    ``forward = apply_mask(core(features(spec)), spec)``; the three stages are separate methods
    because later chapters run them separately (a streaming step, an int8 graph of ``core`` only).
    """

    def __init__(self, cfg: Config | None = None):
        super().__init__()
        cfg = cfg or get_config("gtcrn")
        m = cfg.model
        self.cfg = cfg
        self.erb = ERB(cfg)
        self.sfe = SFE(m.sfe_kernel)
        self.encoder = Encoder(cfg)
        for i in range(m.dp_blocks):
            self.add_module(f"dpgrnn{i + 1}", DPGRNN(m.channels, cfg.bottleneck_width, m.dp_hidden, m.dp_groups))
        self.decoder = Decoder(cfg)
        self.mask = Mask()

    @property
    def dpgrnns(self) -> list[DPGRNN]:
        return [getattr(self, f"dpgrnn{i + 1}") for i in range(self.cfg.model.dp_blocks)]

    def _stateful(self) -> list[tuple[str, nn.Module]]:
        """(state prefix, block) of every block with a memory, in the order ``core`` runs them."""
        enc = [b for b in self.encoder.blocks.values() if isinstance(b, GTConvBlock)]
        dec = [b for b in self.decoder.blocks.values() if isinstance(b, GTConvBlock)]
        return ([(f"enc_gt{i}", b) for i, b in enumerate(enc)] + [(f"dp{i}", b) for i, b in enumerate(self.dpgrnns)]
                + [(f"dec_gt{i}", b) for i, b in enumerate(dec)])

    # ------------------------------------------------------------------ state (chapter 3)
    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape (without batch) of every state tensor of one streaming step, e.g.
        ``enc_gt0_conv`` (16,2,33), ``enc_gt0_tra`` (16,), ``dp0_h`` (33,16)."""
        width = self.cfg.bottleneck_width
        return {f"{prefix}_{key}": shape for prefix, block in self._stateful()
                for key, shape in block.state_shapes(width).items()}

    def initial_state(self, batch: int = 1) -> State:
        """All-zero state: what the model starts from at the beginning of a stream."""
        p = next(self.parameters())
        return {k: torch.zeros((batch, *s), dtype=p.dtype, device=p.device) for k, s in self.state_shapes().items()}

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """Raw (uncompressed) [|S|, Re, Im] in the ERB domain: (B,257,T,2) -> (B,3,T,129)."""
        real = spec[..., 0].transpose(1, 2)  # (B,T,257)
        imag = spec[..., 1].transpose(1, 2)  # (B,T,257)
        mag = torch.sqrt(real**2 + imag**2 + MAG_EPS)  # (B,T,257)
        feat = torch.stack([mag, real, imag], dim=1)  # (B,3,T,257)
        return self.erb.bm(feat)  # (B,3,T,129)

    def core(self, feat: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """The network proper: ERB features (B,3,T,129), state -> mask (B,2,T,129) in (-1, 1), new state.

        Offline: ``state=None`` (zeros) and all T frames. Streaming: T = 1 and the state returned
        by the previous step. Any split of the frames gives the same masks.
        """
        if state is None:
            state = self.initial_state(feat.shape[0])

        def sub(prefix: str) -> State:
            return {k[len(prefix) + 1 :]: v for k, v in state.items() if k.startswith(prefix + "_")}

        n_gt = len(self.cfg.model.dilations)
        x = self.sfe(feat)  # (B,9,T,129)
        x, skips, enc = self.encoder.forward_state(x, [sub(f"enc_gt{i}") for i in range(n_gt)])  # (B,16,T,33)
        dps = []
        for i, dp in enumerate(self.dpgrnns):
            x, st = dp.forward_state(x, sub(f"dp{i}"))  # (B,16,T,33)
            dps.append(st)
        mask, dec = self.decoder.forward_state(x, skips, [sub(f"dec_gt{i}") for i in range(n_gt)])  # (B,2,T,129)
        new: State = {}
        for prefix, states in (("enc_gt", enc), ("dp", dps), ("dec_gt", dec)):
            for i, st in enumerate(states):
                new.update({f"{prefix}{i}_{k}": v for k, v in st.items()})
        return mask, new

    def apply_mask(self, mask: torch.Tensor, spec: torch.Tensor) -> torch.Tensor:
        """ERB-domain mask (B,2,T,129) and spec (B,257,T,2) -> enhanced spec (B,257,T,2)."""
        mask = self.erb.bs(mask)  # (B,2,T,257)
        spec = spec.permute(0, 3, 2, 1)  # (B,2,T,257)
        enh = self.mask(mask, spec)  # (B,2,T,257)
        return enh.permute(0, 3, 2, 1)  # (B,257,T,2)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """Noisy spectrum (B,257,T,2) [real, imag] -> enhanced spectrum (B,257,T,2)."""
        feat = self.features(spec)  # (B,3,T,129)
        mask, _ = self.core(feat)  # (B,2,T,129)
        return self.apply_mask(mask, spec)  # (B,257,T,2)
