"""Training throughput: seconds of audio trained per second of wall time -> results.json and throughput.md.

    python scripts/benchmark_training.py --out benchmarks/training [--models micro s3] [--threads 1 2]
        [--batch-sizes 16] [--steps 24] [--device cpu] [--ddp 2]

Each row is a real ``train()`` run (the same loop as ``gtcrn-micro train``: mixing, STFT, forward,
hybrid loss, backward, clipping, Adam) of ``--steps`` steps of ``batch_size`` x 2 s mixtures on a
small synthetic corpus made in a temporary folder (speech-like harmonic tones, coloured noise), fresh
weights. Wall time counts the training steps only (the trainer's own step clock; validation
excluded). ``--ddp N`` adds rows for N processes under torchrun (gloo on CPU, 1 thread each) with the
same global batch. ``data_share`` is the part of a step spent drawing the mixtures. The machine's
load (other jobs) is recorded with the numbers: on a shared machine they are lower bounds.
This is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from gtcrn_micro.data.mixing import synthetic_noise
from gtcrn_micro.streaming import machine
from gtcrn_micro.training import TrainConfig, build_datasets, train
from gtcrn_micro.training.trainer import _batch

SEGMENT = 2.0  # seconds per example, as in the "full" preset


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="benchmarks/training", metavar="DIR", help="where results.json/throughput.md go")
    p.add_argument("--models", nargs="+", default=["micro", "s3"])
    p.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[16], help="global batch sizes (16 = the presets')")
    p.add_argument("--steps", type=int, default=24, help="training steps per row")
    p.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    p.add_argument("--ddp", type=int, default=0, metavar="N", help="also run N processes under torchrun (1 thread each)")
    p.add_argument("--redraw", action="store_true", help="only rewrite throughput.md from the results.json in --out")
    return p


def speech_like(rng: np.random.Generator, seconds: float, sample_rate: int = 16_000) -> np.ndarray:
    """A gliding harmonic tone, amplitude-modulated at 4 Hz with pauses (as tests/conftest.py makes)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.3, 1.0) * t))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    env = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None) ** 2
    return (0.1 * sum(np.sin(k * phase) / k for k in range(1, 16)) * env).astype(np.float32)


def make_corpus(root: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    speech, noise = root / "speech", root / "noise"
    speech.mkdir(), noise.mkdir()
    for i in range(20):
        sf.write(str(speech / f"utt{i:02d}.wav"), speech_like(rng, rng.uniform(3.0, 6.0)), 16_000)
    for i, kind in enumerate(["white", "pink", "brown", "hum"] * 2):
        sf.write(str(noise / f"{kind}{i}.wav"), 0.05 * synthetic_noise(kind, 16_000 * 5, rng), 16_000)
    return speech, noise


def config(model: str, corpus: tuple[Path, Path], out: Path, steps: int, batch: int, threads: int, device: str):
    return TrainConfig(model=model, speech_dirs=[str(corpus[0])], noise_dirs=[str(corpus[1])], out_dir=str(out),
                       epochs=1, steps_per_epoch=steps, batch_size=batch, segment_seconds=SEGMENT, warmup_steps=5,
                       val_items=1, val_seconds=1.0, val_fraction=0.25, checkpoint_every=10**6, threads=threads,
                       device=device, progress=False)


def data_seconds(cfg: TrainConfig, steps: int) -> float:
    """Wall time of drawing the mixtures of ``steps`` batches alone."""
    train_set, _, _ = build_datasets(cfg)
    train_set.set_epoch(0)
    t0 = time.perf_counter()
    for s in range(steps):
        _batch(train_set, s, cfg.batch_size)
    return time.perf_counter() - t0


def row(model, processes, threads, batch, steps, wall, data=None, device="cpu") -> dict:
    return {"model": model, "device": device, "processes": processes, "threads": threads, "batch_size": batch,
            "steps": steps, "seconds_per_step": wall / steps, "audio_seconds_per_second": steps * batch * SEGMENT / wall,
            "data_share": None if data is None else data / wall, "load_average_1min": round(os.getloadavg()[0], 2)}


def run_ddp(model: str, corpus, out: Path, steps: int, batch: int, nproc: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")} | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m", "gtcrn_micro",
           "train", "--model", model, "--speech", str(corpus[0]), "--noise", str(corpus[1]), "--out", str(out),
           "--epochs", "1", "--steps-per-epoch", str(steps), "--batch-size", str(batch), "--segment-seconds", str(SEGMENT),
           "--warmup-steps", "5", "--val-items", "1", "--val-seconds", "1.0", "--val-fraction", "0.25",
           "--checkpoint-every", str(10**6), "--threads", "1", "--device", "cpu", "--no-progress"]
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    history = json.loads((out / "history.json").read_text())
    return history[0]["cpu_hours"] * 3600


def markdown(payload: dict) -> str:
    m = payload["machine"]
    lines = [
        "# Training throughput",
        "",
        "Generated by `scripts/benchmark_training.py`; do not edit by hand.",
        "",
        f"Command: `{payload['command']}`  ",
        f"Date: {payload['date']}; torch {m['torch']}, Python {m['python']}; {m['cpus']} CPUs ({m['processor']}); "
        f"load average (1 min) {payload['load_before']} before, {m['load_average_1min']} after.",
        "",
        f"Each row: {payload['steps']} training steps of `batch_size` x {SEGMENT:g} s mixtures through `train()` "
        "(mixing, STFT, forward, hybrid loss, backward, clipping, Adam), fresh weights, synthetic corpus. "
        "Throughput = seconds of audio trained per second of wall time; `data` = share of a step spent drawing "
        "the mixtures (one process).",
        "",
        "| model | device | processes x threads | batch | s / step | s of audio / s | data | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in payload["results"]:
        data = "" if r["data_share"] is None else f"{100 * r['data_share']:.0f}%"
        lines.append(f"| {r['model']} | {r['device']} | {r['processes']} x {r['threads']} | {r['batch_size']} | "
                     f"{r['seconds_per_step']:.3f} | {r['audio_seconds_per_second']:.1f} | {data} | "
                     f"{r['load_average_1min']} |")
    lines += ["", "What the numbers mean, and what else was tried (threads, batch shape, torch.compile): "
              "`benchmarks/training/notes.md`, written by hand."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out_dir = Path(args.out)
    if args.redraw:
        (out_dir / "throughput.md").write_text(markdown(json.loads((out_dir / "results.json").read_text())))
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    load_before = round(os.getloadavg()[0], 2)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = make_corpus(tmp)
        for model in args.models:
            for batch in args.batch_sizes:
                for threads in args.threads:
                    run = tmp / f"{model}-{batch}-{threads}"
                    cfg = config(model, corpus, run, args.steps, batch, threads, args.device)
                    history = train(cfg)
                    wall = history[0]["cpu_hours"] * 3600
                    torch.set_num_threads(threads)
                    results.append(row(model, 1, threads, batch, args.steps, wall, data_seconds(cfg, args.steps),
                                       args.device))
                    print(json.dumps(results[-1]), flush=True)
                if args.ddp > 1:
                    wall = run_ddp(model, corpus, tmp / f"{model}-{batch}-ddp", args.steps, batch, args.ddp)
                    results.append(row(model, args.ddp, 1, batch, args.steps, wall))
                    print(json.dumps(results[-1]), flush=True)
    payload = {"machine": machine(), "load_before": load_before, "steps": args.steps,
               "command": "python scripts/benchmark_training.py " + " ".join(shlex.quote(a) for a in sys.argv[1:]),
               "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "results": results}
    (out_dir / "results.json").write_text(json.dumps(payload, indent=1) + "\n")
    (out_dir / "throughput.md").write_text(markdown(payload))
    print(markdown(payload))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(argv=None))
