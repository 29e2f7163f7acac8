"""Write book/01_signals_and_features.ipynb from this script, without outputs.

Run from anywhere: ``.venv/bin/python scripts/make_ch01_notebook.py``. Edit the chapter here, not
in the notebook, so that the two never drift.
"""

from notebook_tools import Chapter

ch = Chapter("01_signals_and_features", "ch01")

ch.md("""
# Signals and features

A speech enhancer never sees a waveform directly. GTCRN looks at short overlapping frames of the
noisy signal in the frequency domain, squeezed into a compact set of features, predicts a mask,
and turns the masked spectrum back into a waveform. This chapter builds that front end, one piece
at a time, with the functions of the `gtcrn_micro` package.

**What you will build**

- a noisy test signal: shipped clean speech plus noise, mixed at an exact signal-to-noise ratio;
- the short-time Fourier transform (STFT) and its inverse, with a square-root Hann window that
  reconstructs the waveform perfectly;
- the ERB filterbank that shrinks 257 frequency bins to 129 features;
- power-law compression, which keeps the features in a narrow range, ready for int8 later;
- the model input, `(B, 3, T, 129)`, and a slider to hear and see other SNRs.
""")

ch.install()

ch.code("""
import ipywidgets as widgets
import torch
from IPython.display import Audio, display

import gtcrn_micro as gm
""")

ch.md("""
## Speech and noise

The package ships three short clean speech clips and three noise clips (16 kHz, mono; their
sources and licenses are in `gtcrn_micro/assets/samples/SOURCES.md`).
""")

ch.code("""
gm.list_samples()
""")

ch.code("""
cfg = gm.get_config("micro")  # the int8-friendly preset; its audio settings equal GTCRN's
sample_rate = cfg.audio.sample_rate
clean = gm.load_sample("speech_en_1")  # (L,) float32 in [-1, 1]
noise = gm.load_sample("noise_wind")
clean.shape, noise.shape, clean.dtype, sample_rate
""")

ch.md("""
The signal-to-noise ratio compares the power of the speech with the power of the noise:
$\\mathrm{SNR} = 10 \\log_{10}(P_\\text{clean} / P_\\text{noise})$ dB. `mix_at_snr` scales the noise
(looped or cropped to the speech's length) so that the mix has exactly the SNR you ask for. At
5 dB the speech is only about three times as strong as the noise.
""")

ch.code("""
noisy, scaled_noise = gm.mix_at_snr(clean, noise, snr_db=5.0, rng=0)  # (L,), (L,)
gm.snr_db(clean, noisy)
""")

ch.md("""
Listen to the clean clip, then the noisy one.
""")

ch.code("""
display(Audio(clean, rate=sample_rate), Audio(noisy, rate=sample_rate))
""")

ch.code("""
gm.plot_waveform({"noisy": noisy, "clean": clean}, sample_rate, title="5 dB SNR")
""")

ch.md("""
*Figure 1.1: the clean speech and the same speech with wind noise at 5 dB SNR. In the waveform the
noise hides the quieter parts of the speech; the spectrogram below separates them much better.*
""")

ch.md("""
## The STFT

The STFT cuts the waveform into frames of `n_fft = 512` samples (32 ms) every `hop_length = 256`
samples (16 ms), multiplies each frame by a window and takes its FFT. A real FFT of 512 samples
has `F = 257` bins, from 0 Hz to 8 kHz in steps of 31.25 Hz. Our framing pads `n_fft - hop_length`
zeros in front, so frame `t` ends exactly at the end of the `t`-th block of 256 new samples: this
is what a streaming device sees, one hop at a time. There are `T = ceil(L / 256) + 1` frames.
""")

ch.code("""
spec = gm.stft(noisy, cfg.audio)  # (B,F,T,2): real and imaginary parts last
spec.shape, gm.n_frames(len(noisy), cfg.audio)
""")

ch.md("""
The same square-root Hann window is used to analyse and to resynthesise. Its square is a Hann
window, and two Hann windows shifted by half their length add up to exactly one:
""")

ch.code("""
w = gm.window(cfg.audio)  # (512,) periodic sqrt-Hann
overlap = w[:256] ** 2 + w[256:] ** 2  # what overlap-add sums at every sample
overlap.min().item(), overlap.max().item()
""")

ch.md("""
So windowing twice and overlap-adding gives the waveform back. The check, live, on the noisy clip:
""")

ch.code("""
wav_back = gm.istft(spec, len(noisy), cfg.audio)  # (B,L)
(wav_back[0] - torch.from_numpy(noisy)).abs().max().item()
""")

ch.md("""
The error is at the level of float32 rounding. The price of this framing is latency: an output
sample is final only when both frames that overlap it have been added, so the STFT and iSTFT
together delay the signal by one frame, `n_fft` samples = 32 ms (16 ms to fill a block, 16 ms to
wait for the next frame). The model adds nothing to that if it only looks at past frames.
""")

ch.code("""
gm.plot_spectrograms({"clean": clean, "noisy, 5 dB": noisy}, cfg)
""")

ch.md("""
*Figure 1.2: magnitude spectrograms (dB, one colour scale) of the clean and the noisy clip. Speech
shows up as harmonics and formants with gaps between words; the wind fills the low frequencies
everywhere. A mask that keeps the speech bins and attenuates the rest is what the model learns.*
""")

ch.md("""
## ERB bands: 257 bins become 129 features

Our ears resolve low frequencies finely and high frequencies coarsely. GTCRN follows them: it keeps
the 65 lowest bins (0 to 2 kHz) as they are and pools the 192 bins above into 64 triangular bands
spaced evenly on the ERB (equivalent rectangular bandwidth) scale. That halves the frequency axis
the network works on, and with it most of its cost.
""")

ch.code("""
gm.plot_erb_filterbank(cfg)
""")

ch.md("""
*Figure 1.3: left, the 64 triangular ERB filters over the high bins; the grey region holds the 65
low bins that are kept unchanged. Right, how many STFT bins each of the 129 features pools (the
sum of its weights): one for each low bin, growing to five and a half for the highest bands.*
""")

ch.md("""
The `ERB` module applies the filterbank: `bm` (band merging) maps the last axis from 257 to 129,
`bs` (band splitting) maps it back.
""")

ch.code("""
erb = gm.ERB(cfg)
mag = gm.magnitude(spec).transpose(1, 2)  # (B,T,257)
bands = erb.bm(mag)  # (B,T,129)
mag.shape, bands.shape, erb.bs(bands).shape
""")

ch.md("""
`bs` is not the inverse of `bm`. `bm` sums the bins of each band, and `bs` spreads each band value
back over its bins with weights that add up to one per bin. So the low bins come back exactly,
the high bins of a spectrum do not, but a value that is constant across the bands, like the
gain of a mask, passes through `bs` unchanged. That is how the model uses it: it predicts a mask
over 129 features, and `bs` stretches the mask back to 257 bins.
""")

ch.code("""
back = erb.bs(bands)  # (B,T,257)
low_error = (back - mag)[..., :65].abs().max().item()
high_error = ((back - mag)[..., 65:].norm() / mag[..., 65:].norm()).item()
flat_mask_error = (erb.bs(torch.full((1, 129), 0.7)) - 0.7).abs().max().item()
low_error, high_error, flat_mask_error
""")

ch.md("""
## Power-law compression

Speech magnitudes span about 100 dB: loud vowels near the top, quiet consonants and the gaps
between words far below. A network (and later an int8 quantizer with only 256 levels, a 48 dB
range) handles that badly. Raising the magnitude to a power $c < 1$ while keeping the phase,
$S \\mapsto |S|^c \\, S / |S|$, multiplies every range in dB by $c$: with $c = 0.3$, 100 dB becomes
30 dB. The reference GTCRN uses raw magnitudes ($c = 1$); our `micro` preset uses $c = 0.3$.
""")

ch.code("""
gm.plot_compression(spec, exponents=(1.0, 0.5, 0.3))
""")

ch.md("""
*Figure 1.4: left, the compression curves $|S|^c$; right, the distribution of the magnitudes of
the noisy clip after compression. With $c = 0.3$ the values crowd into a band less than a third
as wide.*
""")

ch.md("""
What that means for int8: scale the largest magnitude to 127 and count the bins that fall below
one quantization step, i.e. become zero.
""")

ch.code("""
for c in (1.0, 0.3):
    mag_c = gm.magnitude(gm.compress(spec, c))  # (B,F,T)
    lost = (mag_c < mag_c.max() / 127).float().mean().item()
    print(f"c = {c}: largest {mag_c.max().item():6.2f}, bins below one int8 step: {lost:.0%}")
""")

ch.md("""
Finally the model input: `spec_features` stacks the compressed magnitude, real and imaginary
parts, `[|S|, Re, Im]`, as three channels, and `bm` pools each channel into the 129 ERB features.
""")

ch.code("""
feat = gm.spec_features(spec, cfg.model.compress_exponent)  # (B,3,T,257)
x = erb.bm(feat)  # (B,3,T,129): what the network sees
feat.shape, x.shape, round(x.abs().max().item(), 2)
""")

ch.md("""
## Try other SNRs

Move the slider to remix the clip at another SNR, then look at the spectrogram and listen. The
static book shows the 5 dB default; run the notebook in Jupyter or Colab to get the slider.
""")

ch.code("""
def show_mix(snr_db=5.0):
    noisy, _ = gm.mix_at_snr(clean, noise, snr_db, rng=0)  # (L,)
    display(gm.plot_spectrogram(noisy, cfg, title=f"noisy at {snr_db:g} dB SNR"), Audio(noisy, rate=sample_rate))


show_mix(5.0)
""")

ch.md("""
*Figure 1.5: the noisy clip at 5 dB SNR, where the slider below starts.*
""")

ch.code("""
# not run when the book is built (tag skip-execution): executing widget cells headless can hang nbclient
slider = widgets.FloatSlider(value=5.0, min=-5.0, max=20.0, step=2.5, description="SNR (dB)")
widgets.interact(show_mix, snr_db=slider);
""", tags=["skip-execution"])

ch.md("""
## Summary

- `load_audio` and `load_sample` give 16 kHz mono float32 waveforms and say what they changed;
  `mix_at_snr` mixes at an exact SNR.
- `stft` frames causally (frame `t` ends with block `t`) and, with `istft`, reconstructs perfectly
  thanks to the sqrt-Hann window; the cost is one frame (32 ms) of latency.
- `ERB.bm` turns 257 bins into 129 features; `ERB.bs` spreads a band-wise mask back to the bins.
- Power-law compression with $c = 0.3$ shrinks the dynamic range to a third, so few features
  vanish when we quantize them to int8.

Chapter 2 builds the network that turns these `(B, 3, T, 129)` features into a mask.
""")

ch.write()
