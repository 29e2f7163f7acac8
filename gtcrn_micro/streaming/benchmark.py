"""How fast is one streaming step? (chapter 3; the numbers come from ``scripts/benchmark_streaming.py``).

One step = window + rfft of one frame, ``features``, ``core`` on one frame with its state,
``apply_mask``, irfft + window + overlap-add: :meth:`StreamingEnhancer._step`, timed one frame at a
time on one CPU thread. Real-time factor (RTF) = compute time / audio time: below 1 keeps up,
and 1 / RTF is how many times faster than real time the step runs.

Two clocks: wall time (``p50_ms`` ... and ``rtf``), what a listener waits for, which grows when other
processes share the CPU; and the CPU time of this thread (``cpu_mean_ms``, ``rtf_cpu``), the work
the step itself costs, much less sensitive to a busy machine.
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .enhancer import StreamingEnhancer

__all__ = ["benchmark_step", "load_streaming_benchmark", "DEFAULT_RESULTS"]

# where scripts/benchmark_streaming.py leaves its results in a source checkout
DEFAULT_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "streaming" / "results.json"


def benchmark_step(model: nn.Module, frames: int = 2000, warmup: int = 50, seed: int = 0) -> dict:
    """Time ``frames`` streaming steps of ``model`` on random noise (one hop fed per step).

    Returns per-frame latency percentiles in ms (p50, p90, p99, mean, max), the hop in ms and the
    real-time factor (mean step time / hop duration), by the wall clock and by this thread's CPU
    time. Uses the current torch thread setting: call
    ``torch.set_num_threads(1)`` first for the one-core figure.
    """
    se = StreamingEnhancer(model)
    hop = se.hop
    rng = np.random.default_rng(seed)
    wav = (0.1 * rng.standard_normal((warmup + frames) * hop)).astype(np.float32)
    for i in range(warmup):
        se.process(wav[i * hop : (i + 1) * hop])
    times, cpu = np.empty(frames), np.empty(frames)
    for i in range(frames):
        block = wav[(warmup + i) * hop : (warmup + i + 1) * hop]
        t0, c0 = time.perf_counter(), time.thread_time()
        se.process(block)  # exactly one step: the block completes one frame
        times[i], cpu[i] = time.perf_counter() - t0, time.thread_time() - c0
    ms = 1000.0 * times
    hop_ms = se.cfg.hop_ms
    return {
        "model": getattr(model.cfg, "name", type(model).__name__),
        "frames": frames,
        "threads": torch.get_num_threads(),
        "hop_ms": hop_ms,
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
        "max_ms": float(ms.max()),
        "rtf": float(ms.mean() / hop_ms),
        "cpu_mean_ms": float(1000.0 * cpu.mean()),
        "rtf_cpu": float(1000.0 * cpu.mean() / hop_ms),
        "latency_samples": se.latency,
        "latency_ms": se.latency_ms,
    }


def machine() -> dict:
    """What the numbers were measured on."""
    return {"processor": platform.processor() or platform.machine(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "load_average_1min": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "torch": torch.__version__}


def load_streaming_benchmark(path: str | Path | None = None) -> dict:
    """The results written by ``scripts/benchmark_streaming.py`` (default: ``benchmarks/streaming/results.json``
    of the source checkout): ``{"machine", "command", "date", "results": {model: benchmark_step(...)}}``."""
    path = Path(path) if path is not None else DEFAULT_RESULTS
    if not path.exists():
        raise FileNotFoundError(
            f"{path} does not exist; run `python scripts/benchmark_streaming.py --out {path.parent}` first."
        )
    return json.loads(path.read_text())
