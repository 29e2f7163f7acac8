"""Write book/02_architecture.ipynb from this script, without outputs.

Run from anywhere: ``.venv/bin/python scripts/make_ch02_notebook.py``. Edit the chapter here, not
in the notebook, so that the two never drift.
"""

from notebook_tools import Chapter

ch = Chapter("02_architecture", "ch02")

ch.md("""
# Architecture

GTCRN (Rong et al., ICASSP 2024) enhances speech with about 24 thousand trainable parameters and a
few tens of millions of multiply-accumulates (MACs) per second of audio. It gets there by
combining a few cheap ideas: pooling the high frequencies into ERB bands, splitting channels into
groups, dilated causal convolutions over time, small grouped GRUs and a complex mask. This
chapter builds the model from the blocks of the `gtcrn_micro` package and runs every block on a
real spectrum so that you can see what goes in and what comes out.

**What you will build**

- the whole model, from a noisy spectrum to an enhanced one, with the shape of every stage;
- each block on its own: ERB, SFE, ConvBlock, GTConvBlock (with its channel shuffle), TRA,
  DPGRNN and the complex mask;
- the cost of each block in parameters and MACs per second, and the model's receptive field in
  time;
- a list of what in this model will be hard for a full-integer (int8) TensorFlow Lite Micro
  model: the reason the next model, `micro`, looks different.
""")

ch.install()

ch.code("""
import pandas as pd
import torch

import gtcrn_micro as gm
from gtcrn_micro.model import DPGRNN, SFE, TRA, channel_shuffle
""")

ch.md("""
## The whole model at a glance

GTCRN works on the STFT of 16 kHz audio (chapter 1): 257 frequency bins per 16 ms frame, real and
imaginary parts on the last axis. Every feature map inside is laid out `(B, C, T, F)`: batch,
channels, time frames, frequency bands.

```text
spec (B,257,T,2)
 -> features [|S|, Re, Im]           (B,3,T,257)
 -> ERB.bm: 257 bins -> 129 bands    (B,3,T,129)
 -> SFE: each band + its neighbours  (B,9,T,129)
 -> Encoder
      ConvBlock 9->16, stride 2      (B,16,T,65)
      ConvBlock 16->16, stride 2     (B,16,T,33)
      GTConvBlock d=1, d=2, d=5      (B,16,T,33)
 -> DPGRNN x 2                       (B,16,T,33)
 -> Decoder (adds the mirrored encoder output before each block)
      GTConvBlock d=5, d=2, d=1      (B,16,T,33)
      ConvTranspose 16->16           (B,16,T,65)
      ConvTranspose 16->2, Tanh      (B,2,T,129)   the mask
 -> ERB.bs: 129 bands -> 257 bins    (B,2,T,257)
 -> complex multiply with spec       (B,257,T,2)
```

The model exposes this as three methods: `features` (the first two lines), `core` (the network
proper, from features to mask) and `apply_mask`. Later chapters stream `core` frame by frame and
export only `core` to an integer graph. Every width, kernel and dilation comes from the config.
""")

ch.code("""
cfg = gm.get_config("gtcrn")
torch.manual_seed(0)
model = gm.build_model(cfg).eval()  # untrained: chapter 3 trains it
cfg.model
""")

ch.md("""
One second of noisy speech (a shipped clip mixed with wind noise at 5 dB SNR, as in chapter 1)
goes through the three stages:
""")

ch.code("""
clean = gm.load_sample("speech_en_1")
noise = gm.load_sample("noise_wind")
noisy, _ = gm.mix_at_snr(clean, noise, snr_db=5.0, rng=0)
spec = gm.stft(noisy[: cfg.audio.sample_rate], cfg.audio)  # (B,F,T,2)

with torch.no_grad():
    feat = model.features(spec)  # (B,3,T,129)
    mask, state = model.core(feat)  # (B,2,T,129), state for streaming (chapter 3)
    enh = model.apply_mask(mask, spec)  # (B,257,T,2)
{"spec": tuple(spec.shape), "features": tuple(feat.shape), "mask": tuple(mask.shape), "enhanced": tuple(enh.shape)}
""")

ch.md("""
## ERB: 257 bins become 129 bands

The features are the magnitude and the real and imaginary parts of the spectrum, raw (no
compression in the reference model). `ERB.bm` keeps the 65 low bins and pools the 192 high bins
into 64 bands with fixed triangular weights (chapter 1). Those 24,576 weights are parameters that
are never trained.
""")

ch.code("""
feat_257 = gm.spec_features(spec)  # (B,3,T,257): [|S|, Re, Im], uncompressed
feat_129 = model.erb.bm(feat_257)  # (B,3,T,129)
tuple(feat_257.shape), tuple(feat_129.shape), torch.equal(feat_129, feat)
""")

ch.md("""
## SFE: subband feature extraction

A 129-band input is narrow context for a band: SFE stacks every band with its left and right
neighbours along the channel axis (like `nn.Unfold` with a `(1, 3)` kernel). It has no weights
and costs no multiplies; the convolution after it gets a wider view for free.
""")

ch.code("""
sfe = SFE(cfg.model.sfe_kernel)
x = sfe(feat)  # (B,9,T,129): channel 3*c + j is feature c shifted by j - 1 bands
tuple(x.shape)
""")

ch.code("""
# |S| of band f-1, f and f+1 now sit side by side as channels 0, 1 and 2
torch.equal(x[:, 0, :, 1:], feat[:, 0, :, :-1]), torch.equal(x[:, 1], feat[:, 0]), torch.equal(x[:, 2, :, :-1], feat[:, 0, :, 1:])
""")

ch.md("""
## ConvBlock: halve the frequency axis

The encoder starts with two ConvBlocks: a `(1, 5)` convolution with stride 2 along frequency,
BatchNorm and PReLU. They only look along frequency (kernel height 1), so they are causal by
construction. 129 bands become 65, then 33; the second block uses 2 groups to halve its weights.
""")

ch.code("""
conv1, conv2 = model.encoder.blocks["conv1"], model.encoder.blocks["conv2"]
with torch.no_grad():
    h1 = conv1(x)  # (B,16,T,65)
    h2 = conv2(h1)  # (B,16,T,33)
tuple(h1.shape), tuple(h2.shape), conv2.conv
""")

ch.md("""
## GTConvBlock: grouped temporal convolution

The GTConvBlock is where the model looks back in time. It splits the 16 channels into two halves.
The first half goes through SFE, a 1x1 convolution up to 16 channels, a depthwise `(3, 3)`
convolution that is **causal and dilated in time** (the block pads `2 * d` past frames in front,
so frame `t` sees frames `t`, `t - d` and `t - 2d`), a 1x1 convolution back to 8 channels, and
TRA. The second half passes untouched. A channel shuffle then interleaves the two halves.
""")

ch.code("""
gt = model.encoder.blocks["gtconv2"]  # dilation 2
with torch.no_grad():
    y = gt(h2)  # (B,16,T,33)
tuple(y.shape), gt.depth_conv, gt.pad_frames
""")

ch.md("""
The shuffle, on labelled channels: processed channels (0 to 3) and untouched ones (10 to 13)
alternate, so the next block's first half holds both kinds.
""")

ch.code("""
processed = torch.arange(4).view(1, 4, 1, 1)
untouched = torch.arange(10, 14).view(1, 4, 1, 1)
channel_shuffle(processed, untouched).flatten().tolist()
""")

ch.code("""
# in the real block, the odd channels are exactly the untouched second half
torch.equal(y[:, 1::2], h2[:, 8:])
""")

ch.md("""
## TRA: temporal recurrent attention

TRA gives each channel a gain between 0 and 1 per frame. It measures the channel's energy in the
frame (mean of $x^2$ over frequency), runs a small GRU over time and squashes its output with a
sigmoid. The GRU carries a hidden state from frame to frame: `forward` takes the previous state
and returns the new one, which is what a streaming model needs.
""")

ch.code("""
tra = TRA(channels=cfg.model.half, hidden=cfg.model.tra_hidden_factor * cfg.model.half)
h = h2[:, :8]  # (B,8,T,33): one half of a feature map
with torch.no_grad():
    out, state = tra(h)  # (B,8,T,33), (1,B,16)
gain = (out / h)[..., 0]  # (B,8,T): one gain per channel and frame
tuple(out.shape), tuple(state.shape), round(gain.min().item(), 3), round(gain.max().item(), 3)
""")

ch.code("""
# the same result in two chunks, the state handed on: the first step towards streaming
with torch.no_grad():
    first, s = tra(h[:, :, :20])
    second, _ = tra(h[:, :, 20:], s)
(torch.cat([first, second], dim=2) - out).abs().max().item()
""")

ch.md("""
## DPGRNN: dual-path grouped GRU

At the bottleneck (16 channels x 33 bands), two dual-path blocks model context in both
directions. The **intra** path runs a bidirectional GRU across the 33 bands of each frame (all
bands of a frame arrive together, so looking both ways is still causal in time); the **inter**
path runs a causal GRU along time for each band. Each path is followed by a linear layer, a
LayerNorm over (bands, channels) and a residual connection. The GRUs are *grouped*: the 16
features are split into 2 groups, each with its own GRU of half the width, which halves the
weights.
""")

ch.code("""
dp = model.dpgrnn1
with torch.no_grad():
    z = dp(y)  # (B,16,T,33)
tuple(z.shape), dp.intra_rnn.rnns[0], dp.inter_rnn.rnns[0]
""")

ch.code("""
# where DPGRNN's parameters go: the two LayerNorms over (33, 16) hold half of them
pd.Series({name: p.numel() for name, p in dp.named_parameters()}).groupby(lambda n: n.split(".")[0]).sum()
""")

ch.md("""
## Decoder and complex mask

The decoder mirrors the encoder: GTConvBlocks with dilations 5, 2, 1, then two transposed
convolutions back to 65 and 129 bands. Before each block it adds the output of the mirrored
encoder block (a skip connection). The last block ends in Tanh, so the mask's real and imaginary
parts stay within [-1, 1] (this untrained model, fed raw features, already saturates some of
them at the bounds). `ERB.bs` spreads the 129-band mask over the 257 bins, and the mask
multiplies the noisy spectrum as a complex number: it can scale each bin and also rotate its
phase.
""")

ch.code("""
with torch.no_grad():
    mask_257 = model.erb.bs(mask)  # (B,2,T,257)
    enh_again = model.mask(mask_257, spec.permute(0, 3, 2, 1))  # (B,2,T,257)
tuple(mask_257.shape), (mask.min().item(), mask.max().item()), torch.equal(enh_again.permute(0, 3, 2, 1), enh)
""")

ch.md("""
## Causal, as a streaming model must be

No output frame may depend on a later input frame. Replace the second half of the input by
other noise: the first half of the output does not move.
""")

ch.code("""
t0 = spec.shape[2] // 2
other = spec.clone()
other[:, :, t0:] = torch.randn_like(other[:, :, t0:])
with torch.no_grad():
    changed = (model(other) - model(spec)).abs().amax(dim=(0, 1, 3))  # (T,)
changed[:t0].max().item(), changed[t0:].min().item() > 0
""")

ch.md("""
## What it costs

`profile_model` runs the model once on one second of audio with hooks on every layer. It counts
the trainable parameters, the fixed ERB weights and the MACs an inference engine performs once
BatchNorm is folded into the convolution before it: conv, transposed-conv, linear and GRU weights,
plus the few elementwise products (TRA's energy and gain, the GRU gates, LayerNorm, the complex
mask). The last column counts the way the `ptflops` package does, which is how the paper got its
33.0 MMACs: it also counts bias additions, BatchNorm, PReLU, and the stride-2 transposed
convolutions at every output position.
""")

ch.code("""
report = gm.profile_model(model)
blocks = pd.DataFrame(report.to_dict()["blocks"]).set_index("name")
blocks["MMAC/s"] = blocks.pop("macs_per_second") / 1e6
blocks["ptflops MMAC/s"] = blocks.pop("ptflops_macs_per_second") / 1e6
blocks.round(2)
""")

ch.code("""
{"params": report.params, "fixed_params": report.fixed_params,
 "MMAC/s": report.macs_per_second / 1e6, "ptflops MMAC/s": report.ptflops_macs_per_second / 1e6}
""")

ch.code("""
gm.plot_block_costs(report)
""")

ch.md("""
*Figure 2.1: trainable parameters (left) and MMAC per second of audio (right) of each block.
The two DPGRNNs hold over a third of the parameters (half of it in LayerNorm scales and shifts)
and nearly a third of the compute; the six GTConvBlocks take another third. The fixed ERB
matrices cost nearly as much as a DPGRNN in MACs but have no trainable weights.*
""")

ch.md("""
## How far back it looks

The depthwise convolutions of the encoder's GTConvBlocks use dilations 1, 2 and 5 with a kernel
of 3 frames. Stacked, they see 1 + 2 x (1 + 2 + 5) = 17 frames, with no hole in between; the
decoder's mirror doubles the look-back.
""")

ch.code("""
rf = gm.receptive_field_frames(cfg)
rf
""")

ch.code("""
gm.plot_receptive_field(cfg)
""")

ch.md("""
*Figure 2.2: which past frames reach the current output frame (right) through the encoder's
dilated, causal GTConvBlocks. Each row is the output of one block; lines join a frame to the three
frames its depthwise convolution reads. Through the convolutions alone the model sees 33 frames
(544 ms of audio); through the GRUs of TRA and DPGRNN it sees its whole past, and it never sees the
future.*
""")

ch.md("""
## What will be hard for int8 and TensorFlow Lite Micro

Everything above runs in float PyTorch. To run it on the ESP32-S3 with the accelerated int8
kernels, the network must become a full-integer TFLite graph that TFLite Micro can execute one
frame at a time. Several parts of GTCRN stand in the way:
""")

ch.code("""
sorted({type(m).__name__ for m in model.modules()} - {"GTCRN", "Encoder", "Decoder", "ModuleDict", "ModuleList"})
""")

ch.md("""
- **GRUs.** TFLite Micro has no GRU operator. Each GRU must be unrolled into linear layers,
  sigmoids and tanhs for one frame, with its hidden state as an explicit input and output of the
  step graph. The intra GRU is worse: it is bidirectional over 33 bands, so one frame unrolls
  into 2 x 33 sequential cell steps per group.
- **LayerNorm** normalises by statistics computed at run time: a mean, a variance and a square
  root per frame, which quantize badly and have no fused integer kernel. BatchNorm, in contrast,
  folds into the convolution before it.
- **Transposed convolutions.** TFLite's `TRANSPOSE_CONV` supports neither groups nor dilation,
  and the decoder's first upsampling block is grouped.
- **PReLU.** One slope per layer here; a per-channel `nn.PReLU(C)` even crashes the ONNX to
  TFLite converter. Written as `relu(x) + a * (x - relu(x))` it stays integer.
- **Unbounded, raw input features.** $|S|$, Re and Im have no fixed bound and a huge dynamic
  range (measured below on our one-second clip); an int8 tensor has 256 levels (48 dB). The quiet
  parts of speech would all round to zero (chapter 1).
- **State.** Every causal convolution needs its last `2 x d` frames and every GRU its hidden
  vector carried from step to step, with the same int8 scale on the way in and out.
""")

ch.code("""
band_mag = feat[:, 0]  # (B,T,129): |S| in ERB bands, as the network sees it
f"largest {band_mag.max().item():.1f}, smallest {band_mag.min().item():.1e}, range {20 * torch.log10(band_mag.max() / band_mag.min()).item():.0f} dB"
""")

ch.md("""
The next model, `micro`, keeps GTCRN's structure and cost class but changes exactly these parts:
compressed features, explicit states, no LayerNorm, no grouped transposed convolutions, and the
ERB, STFT and complex mask kept outside the integer graph.
""")

ch.md("""
## Summary

- `gm.build_model("gtcrn")` builds the reference GTCRN from the config; `features`, `core` and
  `apply_mask` split it into the host-side front end, the network and the host-side mask.
- SFE widens each band's view for free; the strided ConvBlocks shrink 129 bands to 33; the
  GTConvBlocks look 16 frames back through dilations 1, 2, 5 on half the channels; TRA gates
  channels over time; the DPGRNNs model frequency and time with grouped GRUs.
- `gm.profile_model` measures 23,669 trainable parameters, 24,576 fixed ERB weights and about
  27 MMAC/s (32.9 counted the way the paper counts, which reported 33.0).
- GRUs, LayerNorm, grouped transposed convolutions and raw features are what stand between this
  model and a full-integer TFLite Micro model.
""")

ch.write()
