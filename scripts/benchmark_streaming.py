"""Streaming benchmark: time of one streaming step (one hop) per model -> results.json and results.md.

    python scripts/benchmark_streaming.py --out benchmarks/streaming [--models micro gtcrn] [--frames 2000]

Each model (freshly initialised: speed does not depend on the weights) runs
:func:`gtcrn_micro.streaming.benchmark_step` on one CPU thread: per-frame latency percentiles
(p50/p90/p99) and the real-time factor (mean step time / 16 ms hop). ``results.md`` records the
machine, the torch version and the exact command line. This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from gtcrn_micro import __version__
from gtcrn_micro.config import MODEL_NAMES
from gtcrn_micro.model import build_model
from gtcrn_micro.streaming import benchmark_step, machine


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="benchmarks/streaming", metavar="DIR", help="where results.json/.md go")
    p.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    p.add_argument("--frames", type=int, default=2000, help="timed frames per model (after 50 warm-up frames)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    results = {}
    for name in args.models:
        results[name] = benchmark_step(build_model(name), frames=args.frames)
        r = results[name]
        print(f"{name}: p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, RTF {r['rtf']:.3f} "
              f"(CPU time {r['rtf_cpu']:.3f})", flush=True)
    command = "python " + " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    report = {"machine": machine(), "command": command, "package_version": __version__,
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "results": results}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    lines = [
        "# Streaming step benchmark",
        "",
        f"One streaming step (one {next(iter(results.values()))['hop_ms']:.0f} ms hop: window + rfft, features, "
        "`core` on one frame with its state, mask, irfft + overlap-add), one CPU thread, "
        f"{args.frames} frames after 50 warm-up frames, random weights and noise input.",
        "",
        "| model | p50 ms | p90 ms | p99 ms | mean ms | RTF | CPU ms | RTF (CPU time) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['mean_ms']:.2f} "
                     f"| {r['rtf']:.3f} | {r['cpu_mean_ms']:.2f} | {r['rtf_cpu']:.3f} |")
    lines += ["", "Percentiles, mean and RTF by the wall clock (what a listener waits for); CPU ms and RTF (CPU "
              "time) by this thread's CPU time, the step's own cost, less sensitive to other processes.",
              "", f"Latency of the stream: {r['latency_samples']} samples ({r['latency_ms']:.0f} ms) after the offline "
              "output, plus up to one hop of buffering.", "",
              f"Machine: {m['processor']} ({m['platform']}), {m['cpus']} CPUs, 1-min load average "
              f"{m['load_average_1min']} at the start (shared machine: a busy CPU inflates the times), Python {m['python']}, torch {m['torch']}; "
              f"gtcrn_micro {__version__}; {report['date']}.", "", f"Command: `{command}`", ""]
    (out / "results.md").write_text("\n".join(lines))
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
