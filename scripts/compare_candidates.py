"""Candidate designs for the int8 model, trained briefly on the same data and compared.

    python scripts/compare_candidates.py --speech ../shared/data/speech --noise ../shared/data/noise

Each candidate is the ``micro`` preset with some :class:`~gtcrn_micro.config.ModelConfig` fields
changed. Each one is trained from scratch with the same data, seed and step budget
(``runs/candidates/NAME``, resumable: re-running the script continues a killed run), then exported
with the shipped recipe (ONNX -> onnx2tf -> int8 with measured, clipped ranges; calibrated on
validation-split mixtures) and scored on *other* validation-split mixtures: float PESQ-wb, int8
PESQ-wb, output SNR of the int8 audio against the float audio, int8 size, op count and TFLM arena.
Writes ``benchmarks/candidates/candidates.json`` and ``candidates.md``. Never uses the test set.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# name -> (ModelConfig changes from the micro preset, what it tests)
CANDIDATES: dict[str, tuple[dict, str]] = {
    "gru": ({"tra_energy": "square"}, "grouped GRUs over time in the dual path, TRA energy mean(x*x) (GTCRN's)"),
    "tcn": ({"dual_path": "tcn", "tra_energy": "square"}, "dual path over time as causal dilated depthwise convs (1, 2, 4, 8), no GRU"),
    "gru-abs": ({"tra_energy": "abs"}, "as gru, TRA energy mean(|x|): linear in the signal, not squared (the micro preset since it "
                                         "was found to keep the int8 range)"),
    "gru-relu": ({"activation": "relu", "tra_energy": "square"}, "as gru, ReLU instead of PReLU: fused into the conv before it, "
                                          "no ops of its own (PReLU is 4 int8 ops)"),
}


def evaluate(model, int8_path: Path, pairs) -> dict:
    """Float and int8 PESQ-wb and the int8-vs-float output SNR over ``pairs`` of (noisy, clean)."""
    import torch

    from gtcrn_micro.audio.stft import istft, stft
    from gtcrn_micro.export import TFLiteEnhancer, snr_db
    from gtcrn_micro.training.metrics import pesq_wb

    enh = TFLiteEnhancer(model, int8_path)
    fp, ip, snr = [], [], []
    for noisy, clean in pairs:
        with torch.no_grad():
            f = istft(model(stft(torch.from_numpy(noisy))), len(noisy))[0].numpy()
        q = enh.enhance(noisy)
        fp.append(pesq_wb(clean, f))
        ip.append(pesq_wb(clean, q))
        snr.append(snr_db(f, q))
    return {"float_pesq": float(np.nanmean(fp)), "int8_pesq": float(np.nanmean(ip)),
            "int8_output_snr_db": float(np.median(snr))}


def run_candidate(name: str, overrides: dict, args, cal_noisy, pairs) -> dict:
    import torch

    from gtcrn_micro.export import calibration_trace, export_model
    from gtcrn_micro.model import build_model, profile_model
    from gtcrn_micro.training import load_checkpoint
    from gtcrn_micro.training.trainer import TrainConfig, model_config, train

    cfg = TrainConfig(model="micro", model_overrides=overrides, speech_dirs=args.speech, noise_dirs=args.noise,
                      out_dir=str(Path(args.runs) / name), epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
                      warmup_steps=args.warmup_steps, val_items=args.val_items, threads=1, progress=False)
    t0 = time.time()
    history = train(cfg)
    model = build_model(model_config(cfg)).eval()
    load_checkpoint(Path(cfg.out_dir) / "last.pt", model)  # the weights after the full step budget
    prof = profile_model(model)
    with tempfile.TemporaryDirectory() as tmp:
        report = export_model(model, tmp, calibration_trace(model, cal_noisy), kinds=("float", "int8"))
        scores = evaluate(model, Path(tmp) / "step_int8.tflite", pairs)
    int8 = report["int8"]
    row = {"name": name, "changes": overrides, "about": CANDIDATES[name][1], "params": prof.params,
           "mmac_per_s": prof.macs_per_second / 1e6, "steps": cfg.total_steps,
           "cpu_hours": history[-1]["cpu_hours"], "val_pesq_training": history[-1]["val_pesq"],
           **scores, "int8_mask_snr_db": int8["snr_vs_torch_db"], "int8_bytes": int8["bytes"],
           "int8_ops": int8["n_ops"], "tflm_arena_bytes": int8.get("tflm_arena_bytes"),
           "op_counts": int8["ops"], "wall_minutes": (time.time() - t0) / 60}
    row["int8_pesq_change"] = row["int8_pesq"] - row["float_pesq"]
    print(json.dumps({k: v for k, v in row.items() if k != "op_counts"}), flush=True)
    return row


def write_tables(result: dict, out: Path) -> None:
    """``candidates.json`` and ``.md``; rows of candidates not run this time are kept from the last file."""
    out.mkdir(parents=True, exist_ok=True)
    old = json.loads((out / "candidates.json").read_text()) if (out / "candidates.json").exists() else {}
    kept = [r for r in old.get("rows", []) if r["name"] not in {n["name"] for n in result["rows"]}]
    if kept:
        result["command"] = f"{old['command']}; then {result['command']}"
    order = list(CANDIDATES)
    result["rows"] = sorted(kept + result["rows"], key=lambda r: order.index(r["name"]) if r["name"] in order else 99)
    (out / "candidates.json").write_text(json.dumps(result, indent=1))
    lines = ["# Candidate designs for the int8 model", "",
             "Generated by `scripts/compare_candidates.py`; do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Command: `{result['command']}`",
             f"- Training: {result['training']}",
             f"- Calibration: {result['calibration']}; evaluation: {result['evaluation']}", "",
             "| candidate | params | MMAC/s | float PESQ-wb | int8 PESQ-wb | int8 change | int8 output SNR vs float (dB) "
             "| int8 bytes | ops | TFLM arena (bytes) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        arena = "-" if r["tflm_arena_bytes"] is None else f"{r['tflm_arena_bytes']:,}"
        lines.append(f"| {r['name']} | {r['params']:,} | {r['mmac_per_s']:.1f} | {r['float_pesq']:.3f} | "
                     f"{r['int8_pesq']:.3f} | {r['int8_pesq_change']:+.3f} | {r['int8_output_snr_db']:.1f} | "
                     f"{r['int8_bytes']:,} | {r['int8_ops']} | {arena} |")
    lines += [""] + [f"- **{r['name']}**: {r['about']}" for r in result["rows"]]
    (out / "candidates.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speech", nargs="+", required=True)
    p.add_argument("--noise", nargs="+", required=True)
    p.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), default=list(CANDIDATES))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--steps-per-epoch", type=int, default=400)
    p.add_argument("--warmup-steps", type=int, default=100)
    p.add_argument("--val-items", type=int, default=48)
    p.add_argument("--calib-items", type=int, default=32)
    p.add_argument("--eval-items", type=int, default=24)
    p.add_argument("--runs", default=str(REPO / "runs" / "candidates"))
    p.add_argument("--out", default=str(REPO / "benchmarks" / "candidates"))
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from gtcrn_micro.data.mixing import AudioBank, MixConfig, MixtureDataset, find_audio, split_files
    from gtcrn_micro.export import calibration_mixtures

    cal_noisy = calibration_mixtures(args.speech, args.noise, n=args.calib_items)
    _, sp = split_files(find_audio(*args.speech), 0.1)
    _, no = split_files(find_audio(*args.noise), 0.1)
    held = MixtureDataset(AudioBank(sp), AudioBank(no), args.eval_items, MixConfig(segment_seconds=4.0), seed=999)
    pairs = [(n.numpy(), c.numpy()) for n, c in (held[i] for i in range(args.eval_items))]
    rows = [run_candidate(name, CANDIDATES[name][0], args, cal_noisy, pairs) for name in args.only]
    result = {"command": "python scripts/compare_candidates.py " + shlex.join(argv),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "training": f"from scratch, {args.epochs} x {args.steps_per_epoch} steps of 16 x 2 s mixtures, warm-up "
                          f"{args.warmup_steps} steps then cosine decay, seed 0, 1 CPU thread; scored after the last step",
              "calibration": f"{args.calib_items} validation-split mixtures of 4 s (seed 1234)",
              "evaluation": f"{args.eval_items} other validation-split mixtures of 4 s (seed 999); "
                            "int8 run with TensorFlow's reference kernels (= TFLM up to 1-step rounding ties)",
              "rows": rows}
    write_tables(result, Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
