"""Release a trained model: its checkpoint and model card, and (micro, int8) its exported steps.

    python scripts/release_model.py --run runs/micro-abs2 --speech ../shared/data/speech --noise ../shared/data/noise
    python scripts/release_model.py --int8 --run runs/micro-bound --speech ... --noise ... --last WHY
    python scripts/release_model.py --model gtcrn --run runs/gtcrn --speech ... --noise ...
    python scripts/release_model.py --model s3 --run runs/s3

The ``s3`` model (the ESP32-S3-native design) ships as ONE set of weights for float and int8
(``gtcrn_micro.training.release_step_model``): ``s3.pt``, ``s3_float.tflite`` and
``s3_int8.tflite`` from the run's best validation epoch, the int8 step calibrated on the run's
training split, both scored on the run's validation mixtures, the int8 step costed for the S3;
the report goes to ``benchmarks/export/s3_report.json``. Its data folders come from the run.

The micro model ships as two checkpoints, each chosen on validation for what it is used for:

1. ``gtcrn_micro/checkpoints/{model}.pt`` + ``{model}.md``: the float model (``--backend torch`` /
   ``stream``), from the run's best checkpoint on float validation PESQ.
2. ``--int8`` (micro only): ``micro_bounded.pt`` + ``micro_bounded.md``, the model fine-tuned with
   bounded activations, and ``gtcrn-micro export`` of it, calibrated on the *validation split* of the
   training folders (never the test set); the float, int8 and int16x8 steps are copied to
   ``gtcrn_micro/checkpoints/micro_{kind}.tflite`` and the export report to
   ``benchmarks/export/micro_report.json`` (parity SNRs, op counts, sizes, TFLM arena).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _scores(path: str, model: str) -> dict:
    """Rows of a benchmark_quality results.csv for the card: ``{"noisy input": {...}, "micro (torch)": {...}}``."""
    import csv

    out = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            if row["model"] in ("noisy input", model):
                label = row["model"] if row["model"] == "noisy input" else f"{model} ({row['backend']})"
                out[label] = {k: float(row[k]) for k in ("pesq", "stoi", "si_snr")}
    return out


def _stage_scores(path: str) -> dict:
    """Rows of a benchmark_int8 int8_table.csv for the card, one per export stage."""
    import csv

    with open(path) as f:
        return {f"micro ({row['stage']})": {k: float(row[k]) for k in ("pesq", "stoi", "si_snr")}
                for row in csv.DictReader(f)}


def _release_s3(args, argv) -> int:
    """One model per job: float checkpoint and int8 step from the same weights."""
    import torch

    torch.set_num_threads(1)
    from gtcrn_micro.training.release import release_step_model, write_step_card

    scores = _scores(args.scores, "s3") if args.scores else None
    out = REPO / "benchmarks" / "export"
    if args.card_only:  # the card again with test rows, from the release's own report (no new export)
        report = json.loads((out / "s3_report.json").read_text())
        write_step_card(report, "s3", test_scores=scores)
        print("rewrote gtcrn_micro/checkpoints/s3.md" + (" with test rows" if scores else ""))
        return 0
    report = release_step_model(args.run or "runs/s3", "s3", calib_items=args.calib_items, val_items=args.val_items,
                                test_scores=scores)
    report["command"] = "python scripts/release_model.py " + " ".join(sys.argv[1:] if argv is None else argv)
    out.mkdir(parents=True, exist_ok=True)
    (out / "s3_report.json").write_text(json.dumps(report, indent=1, default=str))
    v = report["validation"]
    print(f"released s3 (epoch {report['epoch']}): validation PESQ-wb float {v['float_pesq']:.3f}, int8 "
          f"{v['int8_pesq']:.3f} (change {v['int8_pesq_change']:+.3f} +- {v['int8_pesq_change_se']:.3f}), "
          f"{v['items']} mixtures")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("micro", "gtcrn", "s3"), default="micro")
    p.add_argument("--run", default=None, help="training run folder (default runs/MODEL)")
    p.add_argument("--speech", nargs="+", help="speech folders of the run (micro, gtcrn; s3 reads its run's)")
    p.add_argument("--noise", nargs="+", help="noise folders of the run (micro, gtcrn; s3 reads its run's)")
    p.add_argument("--val-items", type=int, default=None, help="s3: score on the first N validation mixtures")
    p.add_argument("--calib-items", type=int, default=32)
    p.add_argument("--scores", metavar="CSV", help="results.csv of scripts/benchmark_quality.py: put the model's rows "
                   "(and the noisy row) in the model card as test scores")
    p.add_argument("--int8-table", metavar="CSV", help="int8_table.csv of scripts/benchmark_int8.py: add its rows "
                   "(every export stage on the same test set) to the model card")
    p.add_argument("--int8", action="store_true", help="micro only: release the run as the source of the int8 "
                   "steps (micro_bounded.pt) and export them, instead of as the float checkpoint")
    p.add_argument("--card-only", action="store_true", help="only rewrite the checkpoint and model card (no export)")
    p.add_argument("--last", metavar="WHY", default="",
                   help="release the run's last epoch instead of its best validation epoch, for the reason WHY "
                        "(a validation measurement; it goes into the model card)")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from gtcrn_micro.export import TFLITE_SOURCE, calibration_mixtures, calibration_trace, export_model
    from gtcrn_micro.model import build_model
    from gtcrn_micro.training import load_checkpoint
    from gtcrn_micro.training.release import CHECKPOINT_DIR, release_checkpoint

    if args.model == "s3":
        if args.int8 or args.last:
            p.error("--model s3 releases float and int8 together from the best epoch: no --int8, --last")
        return _release_s3(args, argv)
    if not (args.speech and args.noise):
        p.error("--speech and --noise are required for micro and gtcrn")
    if args.int8 and args.model != "micro":
        p.error("--int8: only the micro model has integer steps")
    scores = _scores(args.scores, args.model) if args.scores else {}
    if args.int8:
        scores = {k: v for k, v in scores.items() if k == "noisy input"}
        if args.int8_table:
            scores.update(_stage_scores(args.int8_table))
    name = TFLITE_SOURCE if args.int8 else args.model
    role = (f"Source of the shipped `micro_float/int8/int16x8.tflite` steps: the micro model fine-tuned with bounded "
            "activations so that it keeps its quality in int8 (chapter 5). For float inference use `micro`."
            if args.int8 else
            f"The float `{args.model}` model for `--backend torch` and `stream`, chosen on float validation quality."
            + (f" The exported TFLite steps come from `{TFLITE_SOURCE}` (see `{TFLITE_SOURCE}.md`)."
               if args.model == "micro" else ""))
    ckpt = release_checkpoint(args.run or f"runs/{args.model}", name, test_scores=scores or None,
                              checkpoint="last.pt" if args.last else "best.pt", why=args.last, role=role)
    print(f"released {ckpt} and its model card")
    if args.card_only or not args.int8:
        return 0
    model = build_model("micro").eval()
    load_checkpoint(ckpt, model)
    trace = calibration_trace(model, calibration_mixtures(args.speech, args.noise, n=args.calib_items))
    with tempfile.TemporaryDirectory() as tmp:
        report = export_model(model, tmp, trace)
        for kind in ("float", "int8", "int16x8"):
            shutil.copy(Path(tmp) / f"step_{kind}.tflite", CHECKPOINT_DIR / f"micro_{kind}.tflite")
    report["command"] = "python scripts/release_model.py " + " ".join(sys.argv[1:] if argv is None else argv)
    report["calibration"] = (f"{args.calib_items} mixtures of 4 s from the validation split of the training folders; "
                             "int8 activation ranges measured and clipped at 1e-4 per side")
    out = REPO / "benchmarks" / "export"
    out.mkdir(parents=True, exist_ok=True)
    (out / "micro_report.json").write_text(json.dumps(report, indent=1, default=str))
    for kind in ("float", "int8", "int16x8"):
        r = report[kind]
        print(f"{kind}: mask SNR vs torch {r['snr_vs_torch_db']:.1f} dB, {r['bytes']} bytes, {r['n_ops']} ops, "
              f"arena {r.get('tflm_arena_bytes')} B, TFLM==LiteRT {r.get('tflm_identical_to_litert')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
