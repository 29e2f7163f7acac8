"""Float against integer, on a paired test set: the micro model through every stage of its export.

    python scripts/benchmark_int8.py --noisy DIR --clean DIR [--out benchmarks/export] [--limit N]

Rows: the float model streaming in torch (the reference the integer models are measured against),
then the exported step in float TFLite, int16x8 and int8 (LiteRT, reference kernels) and int8
under the TensorFlow Lite Micro interpreter. Columns: mean PESQ-wb, STOI, SI-SNR against the
clean file; the output SNR against the float streaming model's output (the whole waveform, over
all files); the change in PESQ against the float stream; and, from the export report of the same
files (``benchmarks/export/micro_report.json``), model bytes, TFLM arena bytes and op counts.
Writes ``int8_table.csv``, ``int8_table.md`` and ``int8_files.json`` (per-file scores).

The int8 model under TFLM computes the same integers as under LiteRT's reference kernels; this
script checks that on every file and, where the waveforms are identical, reuses the LiteRT scores.
On VoiceBank-DEMAND this is a report: nothing is chosen from it.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
ROWS = (("float (torch, streaming)", "stream", None), ("float TFLite", "tflite-float", "litert"),
        ("int16x8 TFLite", "tflite-int16x8", "litert"), ("int8 TFLite (LiteRT)", "tflite-int8", "litert"),
        ("int8 TFLite Micro", "tflite-int8", "tflm"))


_RUNNERS: dict = {}


def _score_file(pair) -> dict:
    """Every stage of ROWS on one (name, noisy, clean) file: per-stage scores, squared errors against
    the float stream, the float stream's energy, and whether TFLM's audio equals LiteRT's."""
    import torch

    from gtcrn_micro.audio.io import load_audio
    from gtcrn_micro.export import TFLITE_SOURCE
    from gtcrn_micro.inference import load_enhancer, shipped_checkpoint
    from gtcrn_micro.training.metrics import score_pair

    if not _RUNNERS:  # once per process
        torch.set_num_threads(1)
        source = shipped_checkpoint(TFLITE_SOURCE)  # the float weights the shipped steps were exported from
        _RUNNERS.update({label: load_enhancer("micro", None if runtime else source, backend,
                                              runtime=runtime or "litert").run
                         for label, backend, runtime in ROWS})
    name, noisy_path, clean_path = pair
    noisy, clean = load_audio(noisy_path), load_audio(clean_path)
    outs = {label: np.asarray(_RUNNERS[label](noisy), np.float64)[: len(clean)] for label, *_ in ROWS}
    ref = outs[ROWS[0][0]]
    same = bool(np.array_equal(outs["int8 TFLite (LiteRT)"], outs["int8 TFLite Micro"]))
    row, err = {"name": name}, {}
    for label, *_ in ROWS:
        err[label] = float(np.sum((outs[label] - ref) ** 2))
        if label == "int8 TFLite Micro" and same:
            scores = {k: row[f"int8 TFLite (LiteRT)/{k}"] for k in ("pesq", "stoi", "si_snr")}
        else:
            scores = score_pair(clean, outs[label].astype(np.float32))
        row.update({f"{label}/{k}": scores[k] for k in ("pesq", "stoi", "si_snr")})
    return {"row": row, "err": err, "sig": float(np.sum(ref**2)), "same": same}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--noisy", required=True)
    p.add_argument("--clean", required=True)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "export"))
    p.add_argument("--report", default=str(REPO / "benchmarks" / "export" / "micro_report.json"))
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--jobs", type=int, default=1, help="worker processes, one CPU thread each (default 1)")
    args = p.parse_args(argv)

    from gtcrn_micro.data.corpora import paired_files

    pairs = paired_files(args.noisy, args.clean)[: args.limit]
    t0 = time.time()
    if args.jobs > 1:  # files are independent: split them over worker processes (spawned: TF and TFLM stay apart)
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
            results = list(pool.map(_score_file, pairs, chunksize=8))
    else:
        results = []
        for n, pair in enumerate(pairs):
            results.append(_score_file(pair))
            if (n + 1) % 50 == 0:
                print(f"{n + 1}/{len(pairs)} files, {time.time() - t0:.0f} s", flush=True)
    files = [r["row"] for r in results]
    err = {label: sum(r["err"][label] for r in results) for label, *_ in ROWS}
    sig = sum(r["sig"] for r in results)
    identical = sum(r["same"] for r in results)
    print(f"{len(pairs)} files in {time.time() - t0:.0f} s ({args.jobs} process(es))", flush=True)

    report = json.loads(Path(args.report).read_text())
    table = []
    base = np.nanmean([f[f"{ROWS[0][0]}/pesq"] for f in files])
    for label, backend, _ in ROWS:
        fmt = backend.split("-", 1)[1] if backend.startswith("tflite-") else None
        pesq = float(np.nanmean([f[f"{label}/pesq"] for f in files]))
        entry = report.get(fmt, {}) if fmt else {}
        table.append({
            "stage": label, "n": len(files), "pesq": pesq,
            "stoi": float(np.mean([f[f"{label}/stoi"] for f in files])),
            "si_snr": float(np.mean([f[f"{label}/si_snr"] for f in files])),
            "delta_pesq": pesq - base,
            "snr_vs_float_db": float("inf") if err[label] == 0 else float(10 * np.log10(sig / err[label])),
            "model_bytes": entry.get("bytes"),
            "tflm_arena_bytes": entry.get("tflm_arena_bytes"),
            "ops": " ".join(f"{k}:{v}" for k, v in sorted(entry.get("ops", {}).items())) or None,
        })
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "int8_files.json").write_text(json.dumps(files, indent=0))
    with open(out / "int8_table.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0]))
        w.writeheader()
        w.writerows(table)

    def fmt(v, nd):
        return "-" if v is None else (f"{v:.{nd}f}" if isinstance(v, float) else str(v))

    lines = ["# micro: float against integer, every export stage", "",
             "Generated by `scripts/benchmark_int8.py`; do not edit by hand.", "",
             f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             f"- Command: `python scripts/benchmark_int8.py {shlex.join(argv)}`",
             f"- Data: noisy `{args.noisy}`, clean `{args.clean}`, {len(files)} pairs",
             f"- Models: `gtcrn_micro/checkpoints/micro_bounded.pt` (the micro model fine-tuned with bounded "
             f"activations) and the `micro_*.tflite` steps exported from it "
             f"({report.get('calibration', 'calibration not recorded')}); int8 ranges: "
             f"{report.get('int8', {}).get('ranges', 'clipped, tail 0.0001 per side')}",
             f"- int8 under TFLM gave bit-identical audio to int8 under LiteRT on {identical} of {len(files)} files.",
             "",
             "| stage | PESQ-wb | change vs float | STOI | SI-SNR (dB) | output SNR vs float (dB) | model bytes | TFLM arena bytes |",
             "|---|---|---|---|---|---|---|---|"]
    for r in table:
        lines.append(f"| {r['stage']} | {r['pesq']:.3f} | {r['delta_pesq']:+.3f} | {r['stoi']:.3f} | {r['si_snr']:.2f} | "
                     f"{fmt(r['snr_vs_float_db'], 1)} | {fmt(r['model_bytes'], 0)} | {fmt(r['tflm_arena_bytes'], 0)} |")
    lines += ["", "Ops of the int8 model: " + (table[3]["ops"] or "-"), "",
              "The VoiceBank-DEMAND test set is for reporting only: no checkpoint, hyper-parameter or calibration "
              "choice is made from these numbers.", ""]
    (out / "int8_table.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
