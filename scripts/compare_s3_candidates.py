"""ESP32-S3-native candidate designs (issue 20): quality, int8 loss and S3 cost in one table.

    python scripts/compare_s3_candidates.py runs/candidates/s3-gru runs/candidates/s3-tcn \
        --cost-only gru2=dual_path=gru,dp_blocks=2 tcn2=dp_blocks=2

Each RUN folder is a brief training run of the ``s3`` preset (its exact command is in the run's
``command.txt``; all runs use the same data, split and validation mixtures). For each run, its
best checkpoint (chosen on validation PESQ-wb by the trainer) is exported to int8 with the
shipped recipe, calibrated on 24 mixtures of the run's *training* split, and then:

- float and int8 are scored on the same validation mixtures of the run (``--items``, the first N of
  its fixed set; never the test set): PESQ-wb, STOI, SI-SNR, and the paired int8 - float change
  with its standard error;
- the int8 step is costed by the S3 cost model (``gtcrn_micro.deploy.s3_profile``): ops, ops on
  reference kernels, ms per 16 ms hop (low / central / high), share of one core, TFLM arena, bytes.

``--cost-only NAME=OPTIONS`` adds rows for designs that were not trained: the s3 preset with those
options, random weights, exported and costed the same way (cost does not depend on the weights).
The shipped ``micro_int8.tflite`` is costed as the row to beat. Writes
``benchmarks/candidates/s3_candidates.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "candidates"
COST_KEYS = ("ops", "reference_kernel_ops", "ms_per_hop_low", "ms_per_hop_central", "ms_per_hop_high",
             "core_share_central", "core_share_high", "arena_bytes", "model_bytes")


def parse_options(text: str) -> dict:
    """'dual_path=tcn,dp_blocks=2' -> {'dual_path': 'tcn', 'dp_blocks': 2}"""
    out = {}
    for part in filter(None, text.split(",")):
        key, value = part.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def cost_of(model, trace, tmp: Path) -> tuple[dict, Path]:
    from gtcrn_micro.deploy import s3_profile
    from gtcrn_micro.export import export_model

    report = export_model(model, tmp, trace, kinds=("int8",))
    path = tmp / "step_int8.tflite"
    prof = s3_profile(path, model="s3", measure=True)  # this model's own reference kernels, counted by callgrind
    cost = {k: prof[k] for k in COST_KEYS} | {"op_histogram": prof["op_histogram"],
                                              "x86_instructions_per_step": prof["x86_instructions_per_step"],
                                              "int8_snr_vs_float_mask_db": report["int8"]["snr_vs_torch_db"],
                                              "tflm_identical_to_litert": report["int8"].get("tflm_identical_to_litert")}
    return cost, path


def scores(model, int8_path: Path, val_set, items: int) -> dict:
    """Per-item float and int8 scores on the first ``items`` validation mixtures, and their paired change."""
    from gtcrn_micro.export.scoring import float_int8_scores

    return float_int8_scores(model, int8_path, val_set, items)


def trained_row(run: Path, items: int) -> dict:
    from gtcrn_micro.export import calibration_trace
    from gtcrn_micro.model import profile_model
    from gtcrn_micro.training.trainer import TrainConfig, build_datasets, model_from_checkpoint

    model, ckpt = model_from_checkpoint(run / "best.pt")
    cfg = TrainConfig(**json.loads((run / "train_config.json").read_text()))
    train_set, val_set, _ = build_datasets(cfg)
    history = json.loads((run / "history.json").read_text())
    best = max(history, key=lambda h: h.get("val_pesq", -1))
    trace = calibration_trace(model, [train_set[i][0].numpy() for i in range(24)])  # training material
    with tempfile.TemporaryDirectory() as tmp:
        cost, path = cost_of(model, trace, Path(tmp))
        quality = scores(model, path, val_set, items)
    prof = profile_model(model)
    command = (run / "command.txt").read_text().strip().splitlines()[-1] if (run / "command.txt").exists() else ""
    return {"name": run.name, "trained": True, "options": cfg.model_overrides, "params": prof.params,
            "mmac_per_s": round(prof.macs_per_second / 1e6, 2), "epochs": len(history), "best_epoch": best.get("epoch"),
            "cpu_hours": round(float(history[-1].get("cpu_hours", float("nan"))), 2),
            "val_pesq_best_epoch": best.get("val_pesq"), **quality, **cost, "command": command}


def cost_only_row(name: str, options: dict) -> dict:
    import torch

    from gtcrn_micro.config import get_config
    from gtcrn_micro.export import calibration_trace
    from gtcrn_micro.export.calibration import sample_mixtures
    from gtcrn_micro.model import build_model, profile_model

    torch.manual_seed(0)
    model = build_model(get_config("s3").with_model(**options)).eval()
    trace = calibration_trace(model, [w[:32000] for w in sample_mixtures()[:3]])
    with tempfile.TemporaryDirectory() as tmp:
        cost, _ = cost_of(model, trace, Path(tmp))
    prof = profile_model(model)
    return {"name": name, "trained": False, "options": options, "params": prof.params,
            "mmac_per_s": round(prof.macs_per_second / 1e6, 2), **cost}


def shipped_row() -> dict:
    from gtcrn_micro.deploy import s3_profile

    path = REPO / "gtcrn_micro" / "checkpoints" / "micro_int8.tflite"
    prof = s3_profile(path, model="micro", measure=True)
    return {"name": "micro (shipped, before)", "trained": True, "options": {}, **{k: prof[k] for k in COST_KEYS},
            "op_histogram": prof["op_histogram"], "x86_instructions_per_step": prof["x86_instructions_per_step"]}


def markdown(result: dict) -> str:
    f = lambda x, d=3: "-" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x))  # noqa: E731
    lines = ["# ESP32-S3-native candidates", "", "Generated by `scripts/compare_s3_candidates.py`; do not edit by hand.", "",
             f"- Date: {result['date']}", f"- Command: `{result['command']}`",
             f"- Quality: the first {result['items']} of each run's fixed validation mixtures (speaker-disjoint split, "
             "-5..40 dB and clean speech), float and int8 on the same mixtures; never the test set.",
             "- Cost: `gtcrn_micro.deploy.s3_profile(measure=True)` on the int8 step: ESP-NN kernels from ESP-NN's published "
             "S3 ticks, reference kernels from this model's own callgrind count (an estimate; see "
             "benchmarks/deploy/s3_calibration.md); share = of one 240 MHz core per 16 ms hop, front/back end included.", "",
             "| design | trained | params | MMAC/s | float PESQ-wb | int8 PESQ-wb | int8 change (SE) | float STOI | float SI-SNR (dB) | "
             "ops | on reference kernels | ms/hop low-central-high | core share central / high | arena (B) | model (B) | "
             "x86 instructions per step (TFLM, callgrind) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        change = "-" if "int8_pesq_change" not in r else f"{r['int8_pesq_change']:+.3f} ({r['int8_pesq_change_se']:.3f})"
        ms = f"{r['ms_per_hop_low']:.1f} / {r['ms_per_hop_central']:.1f} / {r['ms_per_hop_high']:.1f}"
        lines.append(f"| {r['name']} | {'yes' if r.get('trained') and 'float_pesq' in r else 'no (cost only)' if not r.get('trained') else 'shipped'} | "
                     f"{f(r.get('params'))} | {f(r.get('mmac_per_s'), 1)} | {f(r.get('float_pesq'))} | {f(r.get('int8_pesq'))} | {change} | "
                     f"{f(r.get('float_stoi'))} | {f(r.get('float_si_snr'), 2)} | {r['ops']} | {r['reference_kernel_ops']} | {ms} | "
                     f"{r['core_share_central']:.0%} / {r['core_share_high']:.0%} | {r['arena_bytes']:,} | {r['model_bytes']:,} | "
                     f"{f(r.get('x86_instructions_per_step'))} |")
    lines += ["", "Options (changes from the `s3` preset) and op histograms:", ""]
    for r in result["rows"]:
        hist = ", ".join(f"{k} {v}" for k, v in sorted(r.get("op_histogram", {}).items(), key=lambda kv: -kv[1]))
        lines.append(f"- **{r['name']}** `{json.dumps(r.get('options', {}))}`: {hist}")
        if r.get("command"):
            lines.append(f"  - trained with `{r['command']}`")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="run folders of the s3 preset (best.pt, train_config.json)")
    ap.add_argument("--cost-only", nargs="*", default=[], metavar="NAME=OPTIONS", help="untrained designs to cost")
    ap.add_argument("--items", type=int, default=300, help="validation mixtures to score float and int8 on")
    ap.add_argument("--out", type=Path, default=OUT / "s3_candidates")
    args = ap.parse_args(argv)
    rows = [shipped_row()]
    rows += [cost_only_row(spec.split("=", 1)[0], parse_options(spec.split("=", 1)[1])) for spec in args.cost_only]
    for run in args.runs:
        rows.append(trained_row(run, args.items))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "op_histogram"}), flush=True)
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": "python scripts/compare_s3_candidates.py " + shlex.join(sys.argv[1:] if argv is None else argv),
              "items": args.items, "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
