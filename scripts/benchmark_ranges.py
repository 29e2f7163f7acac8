"""int8 activation ranges compared on held-out validation audio: recorded, measured, clipped.

    python scripts/benchmark_ranges.py --speech ../shared/data/speech --noise ../shared/data/noise

For the shipped ``micro_bounded`` checkpoint (the source of the shipped int8 step): calibrate on
mixtures from the validation split of the training folders (as ``scripts/release_model.py`` does), then quantize to int8 with each choice
of activation ranges and score each int8 model on *other* validation mixtures (another seed):
mask SNR against the float streaming model, and PESQ-wb against the clean speech next to the
float model's. Writes ``benchmarks/export/ranges.json`` and ``ranges.md``. Never uses the test set.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--speech", nargs="+", required=True)
    p.add_argument("--noise", nargs="+", required=True)
    p.add_argument("--calib-items", type=int, default=32)
    p.add_argument("--eval-items", type=int, default=24)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "export"))
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from gtcrn_micro.audio.stft import istft, stft
    from gtcrn_micro.export import (StepGraph, TFLiteEnhancer, calibrate_only, calibration_mixtures, calibration_trace,
                                    clipped_ranges, export_onnx, int8_snr, limit_to_saturation, measure_ranges,
                                    onnx_to_saved_model, quantize_with_ranges, saturation_limits, validation_pairs)
    from gtcrn_micro.export import TFLITE_SOURCE
    from gtcrn_micro.inference import shipped_checkpoint
    from gtcrn_micro.model import build_model
    from gtcrn_micro.training import load_checkpoint
    from gtcrn_micro.training.metrics import pesq_wb

    model = build_model("micro").eval()
    ckpt = load_checkpoint(shipped_checkpoint(TFLITE_SOURCE), model)
    val = ckpt.get("validation", {})
    graph = StepGraph(model)
    cal = calibration_trace(model, calibration_mixtures(args.speech, args.noise, n=args.calib_items))
    pairs = validation_pairs(args.speech, args.noise, args.eval_items, seed=999)
    ev = calibration_trace(model, [n for n, _ in pairs])

    with torch.no_grad():
        float_pesq = [pesq_wb(c, istft(model(stft(torch.from_numpy(n))), len(n))[0].numpy()) for n, c in pairs]
    rows = [{"ranges": "float model (reference)", "mask_snr_db": None, "pesq": float(np.nanmean(float_pesq)),
             "delta_pesq": 0.0}]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        onnx_to_saved_model(export_onnx(model, tmp / "step.onnx"), tmp / "saved", graph.input_names)
        calibrated = calibrate_only(tmp / "saved", cal, graph.input_names)
        stats = measure_ranges(calibrated, cal, graph.input_names)
        limits = saturation_limits(calibrated)
        choices = {
            "converter's recorded min/max": None,
            "measured min/max": clipped_ranges(stats, 0.0),
            "measured, tails of 1e-4 clipped (shipped)": clipped_ranges(stats, 1e-4),
            "measured, tails of 1e-4 clipped, sigmoid/tanh inputs limited":
                limit_to_saturation(clipped_ranges(stats, 1e-4), limits),
        }
        for label, ranges in choices.items():
            path = tmp / "int8.tflite"
            snr = int8_snr(quantize_with_ranges(calibrated, ranges), model, ev, path)
            enh = TFLiteEnhancer(model, path)
            pesq = float(np.nanmean([pesq_wb(c, enh.enhance(n)) for n, c in pairs]))
            rows.append({"ranges": label, "mask_snr_db": snr, "pesq": pesq, "delta_pesq": pesq - rows[0]["pesq"]})
            print(rows[-1], flush=True)
    inflated = sorted((r.inflation for r in stats.values() if np.isfinite(r.inflation)), reverse=True)
    result = {"command": "python scripts/benchmark_ranges.py " + shlex.join(argv),
              "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "checkpoint": {"path": "gtcrn_micro/checkpoints/micro_bounded.pt", "epoch": val.get("epoch"),
                             "step": val.get("step"), "val_pesq": val.get("val_pesq")},
              "calibration": f"{args.calib_items} validation-split mixtures of 4 s (seed 1234)",
              "evaluation": f"{args.eval_items} other validation-split mixtures of 4 s (seed 999)",
              "tensors": len(stats), "tensors_inflated_over_1.5x": int(sum(i > 1.5 for i in inflated)),
              "largest_inflation": inflated[0], "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ranges.json").write_text(json.dumps(result, indent=1))
    lines = ["# int8 activation ranges on held-out validation audio", "",
             "Generated by `scripts/benchmark_ranges.py`; do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Command: `{result['command']}`",
             f"- Checkpoint: `gtcrn_micro/checkpoints/micro_bounded.pt`, epoch {val.get('epoch')}, step {val.get('step')}, "
             f"validation PESQ-wb {val.get('val_pesq', float('nan')):.3f}",
             f"- Calibration: {result['calibration']}; evaluation: {result['evaluation']}",
             f"- {result['tensors_inflated_over_1.5x']} of {result['tensors']} activation tensors have a recorded range "
             f"over 1.5x the range of the values they held (largest: {result['largest_inflation']:.1f}x)", "",
             "| ranges | int8 mask SNR vs float (dB) | PESQ-wb | change vs float |", "|---|---|---|---|"]
    for r in rows:
        snr = "-" if r["mask_snr_db"] is None else f"{r['mask_snr_db']:.1f}"
        lines.append(f"| {r['ranges']} | {snr} | {r['pesq']:.3f} | {r['delta_pesq']:+.3f} |")
    (out / "ranges.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
