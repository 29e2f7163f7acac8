"""Memory benchmark: peak memory and time of `gtcrn-micro enhance` on long files, per backend.

    python scripts/benchmark_memory.py --minutes 10 60 --out benchmarks/memory
    python scripts/benchmark_memory.py --minutes 10 --backends torch tflite-int8 \\
        --label before --src /tmp/before        # the same, with another checkout of the code

Makes a long 16 kHz noisy file from the samples shipped in the package (their speech tiled, their
noise tiled at 5 dB SNR, plus a little fresh white noise in every block so no two minutes are
identical), written in blocks to a temporary folder (never committed), and runs
``python -m gtcrn_micro enhance FILE -o OUT --backend B`` in a child process per backend and
length, the shipped model (micro) on one thread. For each run: the child's peak resident memory
(``ru_maxrss`` from ``os.wait4``: the high-water mark of the whole process, imports included),
wall and CPU time, and real-time factors (seconds per second of audio: below 1 is faster than
real time). Results are merged into ``long_input.json`` (keyed by label, backend and length) and
``long_input.md`` is written from all of them. This is a measurement, not a test.
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

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("torch", "stream", "tflite-float", "tflite-int8", "tflite-int16x8")
SAMPLE_RATE = 16_000


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--minutes", type=float, nargs="*", default=[10, 60],
                   help="lengths of the long file (minutes); none: only --floor and the table")
    p.add_argument("--floor", action="store_true",
                   help="also measure the memory of the imports alone (torch; torch + TensorFlow) in a child")
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "memory"), metavar="DIR",
                   help="folder of long_input.json/.md")
    p.add_argument("--label", default="after", help="name of this code version in the table (default after)")
    p.add_argument("--src", default=str(ROOT), metavar="DIR",
                   help="checkout whose gtcrn_micro runs (default this one); e.g. a `git worktree` of an older commit")
    p.add_argument("--tmp", default=None, metavar="DIR", help="where the long files go (default a temporary folder)")
    return p


def make_long_input(path: Path, minutes: float, seed: int = 0) -> Path:
    """A ``minutes``-long noisy 16 kHz PCM_16 WAV from the shipped samples, written 10 s at a time."""
    from gtcrn_micro.audio import list_samples, load_sample

    speech = np.concatenate([load_sample(n) for n in list_samples("speech")])  # (Ls,)
    noise = np.concatenate([load_sample(n) for n in list_samples("noise")])  # (Ln,)
    rms = lambda x: float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))  # noqa: E731
    noise = noise * (rms(speech) / rms(noise) / 10 ** (5 / 20))  # 5 dB SNR over the whole tile
    rng = np.random.default_rng(seed)
    total, block = int(minutes * 60 * SAMPLE_RATE), 10 * SAMPLE_RATE
    with sf.SoundFile(str(path), "w", SAMPLE_RATE, 1, subtype="PCM_16") as f:
        for start in range(0, total, block):
            n = min(block, total - start)
            idx = np.arange(start, start + n)
            mix = speech[idx % len(speech)] + noise[idx % len(noise)] + 3e-3 * rng.standard_normal(n)
            f.write(np.clip(0.5 * mix, -1, 1).astype(np.float32))
    return path


def run_child(src: Path, wav: Path, backend: str, out_wav: Path) -> dict:
    """``python -m gtcrn_micro enhance`` in a child, reaped with ``os.wait4`` to read its own rusage:
    peak RSS, wall and CPU seconds, exit code and output."""
    cmd = [sys.executable, "-m", "gtcrn_micro", "enhance", str(wav), "-o", str(out_wav), "--backend", backend]
    env = {**os.environ, "PYTHONPATH": str(src)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=str(src), env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
        out.seek(0), err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    return {"exit_code": proc.returncode, "peak_rss_mb": usage.ru_maxrss / 1024, "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "stdout": stdout.strip(), "stderr": stderr.strip()[-500:]}


FLOORS = {"torch": "import torch", "torch + TensorFlow": "import torch, tensorflow"}


def import_floor(src: Path) -> dict[str, float]:
    """Peak RSS (MB) of a child that only imports what the backends need: the floor under every row."""
    out = {}
    for name, code in FLOORS.items():
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=str(src), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out[name] = usage.ru_maxrss / 1024
    return out


def machine() -> dict:
    import platform

    import torch

    return {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "load_1min_at_start": os.getloadavg()[0]}


def write_markdown(report: dict, path: Path) -> None:
    rows = sorted(report["results"].values(), key=lambda r: (r["minutes"], r["label"] != "before", r["label"],
                                                              BACKENDS.index(r["backend"])))
    lines = [
        "# Long input: peak memory and time of `gtcrn-micro enhance`",
        "",
        "One noisy 16 kHz file made from the package's sample clips (speech and noise tiled, 5 dB SNR, fresh "
        "white noise in every 10 s), enhanced by `python -m gtcrn_micro enhance FILE -o OUT --backend B` with the "
        "shipped micro model on one thread, each run in its own child process. Peak memory is the child's "
        "`ru_maxrss` (resident high-water mark, imports included: TensorFlow alone is several hundred MB). "
        "RTF = seconds per second of audio (below 1: faster than real time), from the wall clock and from "
        "the child's CPU time (less sensitive to other jobs on this shared 2-core machine).",
        "",
        "`before` is the code before issue 23's bounded-memory change (the whole file read, enhanced and written "
        "at once; `stream` an eager torch step per hop); `after` reads, enhances and writes 10 s blocks with the "
        "model state carried from block to block (the same output as one pass: tests/inference/test_chunked.py).",
        "",
        "| minutes | code | backend | peak memory MB | wall s | RTF (wall) | CPU s | RTF (CPU) | load at start |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        sec = r["minutes"] * 60
        status = "" if r["exit_code"] == 0 else f" (exit {r['exit_code']})"
        lines.append(f"| {r['minutes']:g} | {r['label']} | {r['backend']}{status} | {r['peak_rss_mb']:.0f} | "
                     f"{r['wall_s']:.0f} | {r['wall_s'] / sec:.3f} | {r['cpu_s']:.0f} | {r['cpu_s'] / sec:.3f} | "
                     f"{r['load_1min']:.1f} |")
    if report.get("sources"):
        lines += ["", "Code: " + "; ".join(f"`{k}` = {v}" for k, v in report["sources"].items()) + "."]
    if report.get("floor_mb"):
        floor = ", ".join(f"{k} {v:.0f} MB" for k, v in report["floor_mb"].items())
        lines += ["", f"Floor: a child that only imports {floor}. The tflite-int8 and tflite-int16x8 backends "
                  "run the reference-kernel interpreter built into TensorFlow (bit-exact with TFLite Micro) and "
                  "the host parts in torch, so most of their peak is that import, not the audio."]
    lines += ["", "Machine: " + ", ".join(f"{k} {v}" for k, v in report["machine"].items()), "",
              "Commands (in order):", ""] + [f"- `{c}` ({d})" for c, d in report["commands"]] + [""]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "long_input.json"
    report = json.loads(json_path.read_text()) if json_path.exists() else {"results": {}, "commands": []}
    if args.minutes or args.floor or "machine" not in report:
        report["machine"] = machine()
    command = "python " + " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *(argv or sys.argv[1:])])
    report["commands"].append([command, datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")])
    src = Path(args.src).resolve()
    commit = subprocess.run(["git", "-C", str(src), "log", "-1", "--format=%h %s"], capture_output=True, text=True)
    report.setdefault("sources", {})[args.label] = commit.stdout.strip()[:100] or str(src)
    if args.floor:
        report["floor_mb"] = import_floor(src)
        print("import floor:", report["floor_mb"], flush=True)
        json_path.write_text(json.dumps(report, indent=1) + "\n")
        write_markdown(report, out / "long_input.md")
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        for minutes in args.minutes:
            wav = make_long_input(Path(tmp) / f"long_{minutes:g}min.wav", minutes)
            print(f"{wav.name}: {wav.stat().st_size / 2**20:.0f} MB", flush=True)
            for backend in args.backends:
                load = os.getloadavg()[0]
                r = run_child(src, wav, backend, Path(tmp) / "enhanced.wav")
                if r["exit_code"] == 0:
                    frames = sf.info(str(Path(tmp) / "enhanced.wav")).frames
                    if frames != sf.info(str(wav)).frames:
                        r["exit_code"], r["stderr"] = -1, f"output has {frames} samples, not the input's"
                r.update(label=args.label, backend=backend, minutes=minutes, load_1min=load)
                report["results"][f"{args.label}/{backend}/{minutes:g}"] = r
                print(f"{args.label} {backend} {minutes:g} min: peak {r['peak_rss_mb']:.0f} MB, wall "
                      f"{r['wall_s']:.0f} s (RTF {r['wall_s'] / minutes / 60:.3f}), exit {r['exit_code']}"
                      + (f": {r['stderr']}" if r["exit_code"] else ""), flush=True)
                json_path.write_text(json.dumps(report, indent=1) + "\n")  # after every run: a long job may be cut
                write_markdown(report, out / "long_input.md")
                (Path(tmp) / "enhanced.wav").unlink(missing_ok=True)
            wav.unlink()
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(report, out / "long_input.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
