"""The single source of truth for every number the pipeline shares.

Sample rate, STFT, ERB split, channel widths, dilations and cache shapes all derive from a
:class:`Config`. The book, the tests, the exporters and the firmware's generated
``model_settings.h`` read them from here; nothing else hard-codes them.

Two presets (see :func:`get_config`):

- ``gtcrn``: the reference model of Rong et al. (ICASSP 2024), 23.7K trainable params.
- ``micro``: the variant built to run in full int8 under TensorFlow Lite Micro.
- ``s3``: GTCRN rebuilt from the kernels ESP-NN accelerates on the ESP32-S3 (``model/s3.py``);
  its candidate designs differ by ``train --model-option`` (``dual_path``, ``dp_blocks``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

__all__ = ["AudioConfig", "ERBConfig", "ModelConfig", "Config", "get_config", "config_as_trained", "MODEL_NAMES"]


@dataclass(frozen=True)
class AudioConfig:
    """Signal settings (chapter 1)."""

    sample_rate: int = 16_000  # Hz; every model in the project runs at 16 kHz
    n_fft: int = 512  # 32 ms frames: the paper's setting
    hop_length: int = 256  # 16 ms hop = one streaming step
    window: str = "sqrt_hann"  # sqrt-Hann analysis and synthesis: perfect reconstruction at 50% overlap

    @property
    def n_freqs(self) -> int:
        """Number of one-sided STFT bins (257 for n_fft 512)."""
        return self.n_fft // 2 + 1

    @property
    def hop_ms(self) -> float:
        return 1000.0 * self.hop_length / self.sample_rate

    @property
    def frames_per_second(self) -> float:
        return self.sample_rate / self.hop_length


@dataclass(frozen=True)
class ERBConfig:
    """ERB band split (chapter 1): low bins kept as they are, high bins pooled into bands."""

    low_bins: int = 65  # bins 0..64 (0-2 kHz) pass through unchanged
    high_bands: int = 64  # bins 65..256 pooled into 64 triangular ERB bands
    high_lim_hz: float = 8000.0  # top of the filterbank (Nyquist at 16 kHz)

    @property
    def n_bands(self) -> int:
        """Width of the ERB-domain feature axis (129)."""
        return self.low_bins + self.high_bands


@dataclass(frozen=True)
class ModelConfig:
    """Widths, kernels and dilations of a GTCRN-family model (chapter 2)."""

    name: str = "gtcrn"
    channels: int = 16  # width of the encoder/decoder feature maps
    sfe_kernel: int = 3  # subband feature extraction: unfold over 3 neighbouring bands
    enc_kernel_f: int = 5  # ConvBlock kernel along frequency, stride 2 (129 -> 65 -> 33)
    enc_stride_f: int = 2
    gt_kernel_t: int = 3  # GTConvBlock depthwise kernel along time (causal)
    gt_kernel_f: int = 3  # ... and along frequency
    dilations: tuple[int, ...] = (1, 2, 5)  # time dilations of the three GTConvBlocks
    tra_hidden_factor: int = 2  # TRA GRU hidden size = factor * channels // 2
    dp_blocks: int = 2  # number of dual-path blocks in the bottleneck
    dp_groups: int = 2  # grouped RNNs: the channel axis is split into this many groups
    dp_hidden: int = 16  # dual-path hidden width (= channels in GTCRN)
    # micro-only switches (ignored by the reference model)
    compress_exponent: float = 1.0  # features |S|^c; 1.0 = raw (reference), 0.3 = compressed (micro)
    dual_path: str = "gru"  # "gru" (grouped GRUs) or "tcn" (dilated causal convs), micro only
    intra_kernel_f: int = 5  # micro: the intra (within-frame) path is a depthwise conv over frequency
    tcn_dilations: tuple[int, ...] = (1, 2, 4, 8)  # micro "tcn" dual path: causal time dilations
    activation: str = "prelu"  # micro: "prelu" (IntPReLU, 4 int8 ops) or "relu" (fused into the conv before it)
    tra_energy: str = "square"  # micro TRA frame energy: "square" = mean(x*x) (GTCRN's), "abs" = mean(|x|)
    tra_where: str = "all"  # s3: which GTConvBlocks have a TRA: "all", "encoder" or "none"

    @property
    def half(self) -> int:
        """Channels on each side of a GTConvBlock's channel split."""
        return self.channels // 2

    def freq_widths(self, n_bands: int) -> tuple[int, ...]:
        """Frequency axis after each strided encoder ConvBlock: (129, 65, 33) for GTCRN."""
        widths = [n_bands]
        for _ in range(2):
            pad = (self.enc_kernel_f - 1) // 2
            widths.append((widths[-1] + 2 * pad - self.enc_kernel_f) // self.enc_stride_f + 1)
        return tuple(widths)

    def time_cache_lengths(self) -> tuple[int, ...]:
        """Frames of history each GTConvBlock depthwise conv needs: (k - 1) * dilation."""
        return tuple((self.gt_kernel_t - 1) * d for d in self.dilations)


@dataclass(frozen=True)
class Config:
    """Everything a model, its features and its exported forms share."""

    audio: AudioConfig = field(default_factory=AudioConfig)
    erb: ERBConfig = field(default_factory=ERBConfig)
    model: ModelConfig = field(default_factory=ModelConfig)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def bottleneck_width(self) -> int:
        """Frequency width seen by the dual-path blocks (33)."""
        return self.model.freq_widths(self.erb.n_bands)[-1]

    def with_model(self, **changes) -> "Config":
        """A copy with some model fields changed (for small test or CPU presets)."""
        return replace(self, model=replace(self.model, **changes))


_PRESETS: dict[str, Config] = {
    "gtcrn": Config(model=ModelConfig(name="gtcrn")),
    "micro": Config(model=ModelConfig(name="micro", compress_exponent=0.3, dual_path="gru", tra_energy="abs")),
    # ESP32-S3-native: channels a multiple of 16, depthwise convs over time only (kernel (3,1)), TRA in
    # every GTConvBlock (model/s3.py explains each choice). Dual path: one block of causal TCNs, the
    # design chosen among the measured candidates (benchmarks/candidates/s3_candidates.md);
    # ``dual_path="gru"`` (per-band GRU as 1x1 convs, 16 units) is the other candidate.
    "s3": Config(model=ModelConfig(name="s3", compress_exponent=0.3, dual_path="tcn", dp_blocks=1, dp_hidden=16,
                                   gt_kernel_f=1, tcn_dilations=(1, 2, 4))),
}
MODEL_NAMES: tuple[str, ...] = tuple(_PRESETS)


def get_config(name: str = "gtcrn") -> Config:
    """Return the preset config for a model name (``gtcrn`` or ``micro``)."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(
            f"Unknown model {name!r}: choose one of {', '.join(MODEL_NAMES)}."
        ) from None


def config_as_trained(name: str, ckpt: dict) -> Config:
    """The preset ``name`` with the model options a checkpoint was trained with (``train --model-option``).

    Options such as ``tra_energy`` change what the weights compute, not their shapes, so a checkpoint
    must run as the model it was trained as. Unknown keys (newer versions) are left out.
    """
    cfg = get_config(name)
    saved = ckpt.get("model_config") if isinstance(ckpt.get("model_config"), dict) else {}
    saved = saved.get("model") if isinstance(saved.get("model"), dict) else {}
    known = {f.name for f in fields(ModelConfig)} - {"name"}
    return cfg.with_model(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved.items() if k in known})
