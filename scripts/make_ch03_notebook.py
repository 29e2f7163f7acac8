"""Write book/03_streaming.ipynb from this script, without outputs.

Run from anywhere: ``.venv/bin/python scripts/make_ch03_notebook.py``. Edit the chapter here, not
in the notebook, so that the two never drift.
"""

from notebook_tools import Chapter

ch = Chapter("03_streaming", "ch03")

ch.md("""
# Streaming

Offline, a model sees the whole clip at once. A microphone on a device delivers 256 new samples
every 16 ms, and the enhanced samples must leave at the same pace. This chapter turns the models
of chapter 2 into streams: one hop in, one step of the network with an explicit state, one hop out,
and checks that the stream gives exactly the offline output.

**What you will build**

- the state a streaming step carries from one hop to the next: dilated-convolution caches and GRU
  hidden vectors, with their shapes read from the model;
- a stream of a real clip, fed in chunks of any size, equal to the offline output to float
  rounding once shifted by the stream's fixed latency;
- the latency in samples and milliseconds, and the measured cost of one step on one CPU thread.
""")

ch.install()

ch.code("""
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from IPython.display import Audio, display

import gtcrn_micro as gm

torch.set_num_threads(1)  # one step is tiny: more threads only add overhead
""")

ch.md("""
## Why causality matters on a device

Every 16 ms (one hop, 256 samples at 16 kHz) the device must finish one step: the FFT of the newest
32 ms frame, the network on that one frame, the mask, the inverse FFT and the overlap-add. A step
that takes longer than a hop falls behind for good, so the *real-time factor* (compute time / audio
time) must stay well below 1, with room for everything else the chip does.

The delay a listener hears has a floor set by the STFT: a frame is complete only when its last
block has arrived (up to 16 ms of buffering), and an output sample is final only when the next
frame has been overlap-added onto it (16 ms). A model that looked ahead even one frame would add
16 ms more; GTCRN and `micro` never do: every convolution and GRU over time is causal, so one
frame is all a step needs, plus what the model remembers.
""")

ch.md("""
## What the model remembers

A streaming step is `core(feat, state) -> (mask, new_state)` on one frame, `feat` of shape
`(1, 3, 1, 129)`. The state holds everything from the past that the next frame will need:

- **conv caches** (`*_conv`): a causal depthwise convolution with kernel 3 and dilation `d` reads
  the current frame and the frames `d` and `2d` back, so it keeps its last `2d` input frames:
  2, 4 and 10 frames for dilations 1, 2 and 5, each `(channels, frames, 33 bands)`;
- **TRA GRU hidden vectors** (`*_tra`): one vector per GTConvBlock;
- **inter GRU hidden vectors** (`dp*_h*`): one vector per frequency band in each dual-path block.
""")

ch.code("""
model, source = gm.load_stream_model("micro")  # the shipped checkpoint if there is one
print("weights:", source.name if source else "untrained (no checkpoint shipped): parity does not depend on them")
{r["name"]: r["shape"] for r in gm.state_summary(model)}
""")

ch.code("""
gm.plot_state_sizes(model)
""")

ch.md("""
*Figure 3.1: the values each state tensor of `micro` holds between two streaming steps (log scale),
coloured by kind; the labels give the shapes (without batch), the title the total. The caches of the dilation-5
convolutions are the largest. In the exported int8 graph each of these tensors is an input and an
output of the step, fed back by the host loop.*
""")

ch.code("""
ref_model = gm.build_model("gtcrn").eval()  # the reference GTCRN has the same contract
total = sum(r["values"] for r in gm.state_summary(ref_model))
f"gtcrn state: {len(ref_model.state_shapes())} tensors, {total:,} values"
""")

ch.md("""
## The stream equals the offline model

`gm.StreamingEnhancer(model)` keeps a 512-sample input buffer, runs one step each time 256 new
samples complete a frame, and returns the samples that are final. Below, a shipped speech clip with
wind noise goes in as chunks of 100 samples, an odd size that never lines up with the hop; `flush()`
pads the end with zeros, exactly as the offline STFT does.
""")

ch.code("""
clean, noise = gm.load_sample("speech_en_1"), gm.load_sample("noise_wind")
noisy, _ = gm.mix_at_snr(clean, noise, snr_db=5.0, rng=0)
noisy = noisy[: 3 * 16_000]  # 3 s
streamer = gm.StreamingEnhancer(model)
chunks = [streamer.process(noisy[i : i + 100]) for i in range(0, len(noisy), 100)]
streamed = np.concatenate(chunks + [streamer.flush()])  # (L + latency,)
len(noisy), len(streamed)
""")

ch.code("""
with torch.no_grad():
    offline = gm.istft(model(gm.stft(noisy)), len(noisy))[0].numpy()  # (L,)
lat = streamer.latency
f"max |streamed - offline| after a {lat}-sample shift: {np.abs(streamed[lat:] - offline).max():.1e}"
""")

ch.md("""
The difference is float rounding: the stream runs the same frames through the same causal network in
the same order, only one at a time. The tests in `tests/streaming/` check this for both models, for
chunks of 1, 100, 256 and 333 samples, after a `reset()` in the middle of a stream, and for the
`stream` backend of `gm.load_enhancer(..., backend="stream")` (the command line's
`gtcrn-micro enhance --backend stream`), which removes the latency so its output lines up with the
`torch` backend sample for sample.
""")

ch.md("""
## The same scores on the test set

A parity test on a few clips says the stream computes the same thing; the quality benchmark says
it over the whole VoiceBank-DEMAND test set. `scripts/benchmark_quality.py` scores each shipped
checkpoint with the `torch` backend (the whole clip at once) and the `stream` backend (hop by hop)
and writes `benchmarks/quality/results.csv`, read here:
""")

ch.code("""
res = pd.read_csv(Path(gm.__file__).resolve().parents[1] / "benchmarks/quality/results.csv")
pesq = res[res.backend.isin(["torch", "stream"])].pivot(index="model", columns="backend", values="pesq")
pesq.assign(stream_minus_torch=pesq.get("stream", np.nan) - pesq["torch"]).round(4)  # PESQ-wb
""")

ch.md("""
A model without a `stream` row has not been scored hop by hop on the test set yet. Where both rows
exist, the PESQ difference is what is left of float rounding after 824 files.
""")

ch.md("""
## Latency

The stream is the offline output delayed by a fixed `n_fft - hop_length` samples. On top of it, a
sample waits for its block of 256 to fill, so the delay from an input sample to its enhanced sample
lies between 256 and 511 samples, plus the time the step takes.
""")

ch.code("""
sr = model.cfg.audio.sample_rate
{"fixed shift (samples)": lat, "fixed shift (ms)": streamer.latency_ms,
 "worst case before compute (ms)": 1000 * (model.cfg.audio.n_fft - 1) / sr}
""")

ch.md("""
## How fast is one step?

`scripts/benchmark_streaming.py` times 2000 steps of each model on one CPU thread and writes
`benchmarks/streaming/results.json`; the chapter reads the numbers from there (running it takes
about a minute). `rtf` uses the wall clock, as do the percentiles: what a listener waits for,
inflated when other programs share the CPU (the file records the load). `rtf_cpu` uses the CPU time
of the thread: the step's own cost. A step is Python calling a few hundred small PyTorch operations,
so these times are mostly interpreter overhead: they do not predict what the ESP32-S3 will take.
""")

ch.code("""
bench = gm.load_streaming_benchmark()
keys = ("p50_ms", "p90_ms", "p99_ms", "rtf", "rtf_cpu")
rows = {name: {k: round(r[k], 3) for k in keys} for name, r in bench["results"].items()}
m = bench["machine"]
print(m["processor"], "torch", m["torch"], "load", m["load_average_1min"], "|", bench["command"])
rows
""")

ch.md("""
## Listen

The noisy input, then the streamed output with its latency removed. The cell near the top printed
which weights the model has: with the shipped checkpoint (`micro.pt`) this is the enhanced speech;
with an untrained model it is the noisy clip through a random mask.
""")

ch.code("""
display(Audio(noisy, rate=sr), Audio(streamed[lat:], rate=sr))
""")

ch.md("""
## Summary

- Both models run as `core(feat, state) -> (mask, new_state)` on one frame; the state holds the
  dilated convolutions' last `2d` frames and the GRUs' hidden vectors (`gm.state_summary`,
  `gm.plot_state_sizes`).
- `gm.StreamingEnhancer` streams audio in chunks of any size with constant memory; its output is
  the offline output shifted by `n_fft - hop_length` = 256 samples (16 ms).
- `gm.load_streaming_benchmark()` reads what one step costs on one CPU thread of a PC, most of it
  Python overhead; the export chapters turn that step into an integer graph for the ESP32-S3.
""")

ch.write()
