"""Turn a training run into a shipped checkpoint with its model card (chapter 4).

``release_checkpoint("runs/micro", "micro")`` copies the run's best weights (chosen on the
validation set only) to ``gtcrn_micro/checkpoints/micro.pt``, without the optimizer, and writes
``micro.md``: the data, steps, CPU hours, the exact command, validation scores, and the test-set
scores when a benchmark file is given. Everything in the card is read from the run's own files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from ..data import MixConfig
from .trainer import load_checkpoint

__all__ = ["CHECKPOINT_DIR", "release_checkpoint", "release_step_model", "write_step_card"]

CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "checkpoints"

#: A step model's release copies the run's best.pt here first (``RUN/released.pt``): a run still
#: training may find a better epoch meanwhile, and the card must describe the weights that shipped.
SNAPSHOT = "released.pt"


def _draw_rules(cfg: dict) -> str:
    """How speech excerpts were drawn, where a run changed the defaults (training and validation)."""
    rules = []
    if cfg.get("balance_speech"):
        rules.append("each speech folder drawn equally often (`--balance-speech`)")
    if cfg.get("speech_weights"):
        ratio = ":".join(f"{w:g}" for w in cfg["speech_weights"])
        rules.append(f"training drew the speech folders {ratio} in their listed order (`--speech-weights`), "
                     "validation equally often")
    if cfg.get("min_speech_active"):
        rules.append(f"excerpts with under {cfg['min_speech_active']:.0%} active frames redrawn (`--min-speech-active`)")
    return (" Speech: " + "; ".join(rules) + ".") if rules else ""


def _clean_share(share) -> str:
    return f", {share:.0%} clean speech (SNR 100 dB, no room)" if share else ""


def _split_rule(cfg: dict) -> str:
    """How the run held out its validation files (``--split``)."""
    if cfg.get("split") == "speaker":
        return (f"validation split by speaker ({cfg['val_fraction']:.0%} of each source's speaker folders, no speaker on "
                "both sides; files of unknown speaker by file hash), validation mixtures drawn from each source in turn")
    return f"validation split by file hash ({cfg['val_fraction']:.0%} of files)"


def _lineage(start: str, limit: int = 20) -> list[dict]:
    """The fine-tuning chain behind ``start`` (a checkpoint path), oldest first: for each checkpoint
    its run's commands and the hours of training steps up to it. Stops where a file or its
    ``init_from`` is missing."""
    chain, path = [], start
    while path and len(chain) < limit:
        link = {"checkpoint": path, "commands": ["(command.txt not found)"], "hours": None}
        cmd = Path(path).parent / "command.txt"
        if cmd.exists():
            link["commands"] = [c for c in cmd.read_text().split("\n") if c.strip()] or link["commands"]
        chain.append(link)
        if not Path(path).exists():
            break
        ckpt = load_checkpoint(path)
        if ckpt.get("history"):
            link["hours"] = ckpt["history"][-1]["cpu_hours"]
        path = (ckpt.get("train_config") or {}).get("init_from", "")
        if path in (c["checkpoint"] for c in chain):  # a loop: stop rather than spin
            break
    return chain[::-1]


def release_checkpoint(run_dir: str | Path, name: str, dest: str | Path = CHECKPOINT_DIR,
                       test_scores: dict | None = None, checkpoint: str = "best.pt", why: str = "",
                       role: str = "", sections: list[str] | None = None) -> Path:
    """Write ``dest/{name}.pt`` and ``dest/{name}.md`` from ``run_dir``'s best checkpoint.

    ``checkpoint="last.pt"`` releases the run's last epoch instead; ``why`` must then say on what
    validation measurement that choice rests (it goes into the card). ``role``, if given, is a
    sentence under the card's title saying what the checkpoint is shipped for. ``sections``: more
    Markdown lines (whole ``##`` sections) placed before the test-set section.
    """
    run, dest = Path(run_dir), Path(dest)
    if checkpoint not in ("best.pt", "last.pt", SNAPSHOT):
        raise ValueError(f"checkpoint must be 'best.pt' or 'last.pt', not {checkpoint!r}.")
    if checkpoint == "last.pt" and not why.strip():
        raise ValueError("Releasing last.pt instead of the best validation epoch needs a reason (why=...).")
    ckpt = load_checkpoint(run / checkpoint)
    history, cfg, initial = ckpt["history"], ckpt["train_config"], ckpt.get("initial")
    if not history:
        raise ValueError(f"No epoch of {run} beat its starting weights ({cfg.get('init_from')}) on validation; "
                         "release the run those weights came from instead.")
    if checkpoint == "last.pt" and ckpt.get("step_in_epoch"):
        raise ValueError(f"{run / 'last.pt'} is in the middle of an epoch; finish the run first.")
    best = max(history, key=lambda h: h["val_pesq"]) if checkpoint != "last.pt" else history[-1]
    last = json.loads((run / "history.json").read_text())[-1] if (run / "history.json").exists() else history[-1]
    commands = (run / "command.txt").read_text().split("\n") if (run / "command.txt").exists() else []
    commands = [c for c in commands if c.strip()] or ["(not recorded)"]
    data = json.loads((run / "data.json").read_text()) if (run / "data.json").exists() else {}
    dest.mkdir(parents=True, exist_ok=True)
    torch.save({"model": ckpt["model"], "model_name": ckpt["model_name"], "model_config": ckpt["model_config"],
                "train_config": cfg, "epoch": best["epoch"], "validation": best, "initial": initial},
               dest / f"{name}.pt")
    n_params = sum(v.numel() for k, v in ckpt["model"].items() if "running_" not in k and "num_batches" not in k)
    mix = MixConfig()  # the mixing defaults every run used (training changes only the top SNR)
    lines = [
        f"# Model card: `{name}` ({ckpt['model_name']})",
        "",
        "Generated by `gtcrn_micro.training.release_checkpoint` from the training run's own files; do not edit by hand.",
        "",
        *([role.strip(), ""] if role.strip() else []),
        "## Training",
        "",
        "- Commands (in order; a resumed run appends a line):",
        *[f"  `{c}`" for c in commands],
        f"- Speech folders: {', '.join(cfg['speech_dirs'])}; noise folders: {', '.join(cfg['noise_dirs'])}",
        f"- Data: on-the-fly mixtures (SNR {mix.snr_db[0]:g}..{cfg.get('snr_max', mix.snr_db[1]):g} dB, level "
        f"{mix.level_db[0]:g}..{mix.level_db[1]:g} dBFS, {mix.reverb_prob:.0%} simulated "
        f"rooms, synthetic noise and babble{_clean_share(cfg.get('clean_share'))}), {cfg['segment_seconds']} s "
        f"segments, batch {cfg['batch_size']}; {_split_rule(cfg)}, {cfg['val_items']} fixed validation mixtures of "
        f"{cfg['val_seconds']} s (SNR {mix.snr_db[0]:g}..{cfg.get('val_snr_max', mix.snr_db[1]):g} dB"
        f"{_clean_share(cfg.get('val_clean_share'))}).{_draw_rules(cfg)}",
    ]
    if data:
        lines.append(f"- Files and minutes: {json.dumps(data)}")
    chain = _lineage(initial["from"]) if initial else []
    if initial:
        lines += [
            f"- Fine-tuned from `{initial['from']}`: this run started from those weights with a fresh optimizer and "
            f"schedule. On this run's validation set the starting weights scored PESQ {initial['val_pesq']:.3f} / "
            f"STOI {initial['val_stoi']:.3f} / SI-SNR {initial['val_si_snr']:.2f} dB (table below: after fine-tuning).",
            "- Where the starting weights came from, oldest run first (each run's commands, and its hours of "
            "training steps up to the checkpoint it passed on):",
        ]
        for link in chain:
            hours = "hours not recorded" if link["hours"] is None else f"{link['hours']:.2f} h"
            lines.append(f"  - `{link['checkpoint']}` ({hours}): " + "; ".join(f"`{c}`" for c in link["commands"]))
        known = [link["hours"] for link in chain if link["hours"] is not None]
        lines.append(f"- Hours of training steps behind this checkpoint, all runs together: "
                     f"{sum(known) + best['cpu_hours']:.2f}" + ("" if len(known) == len(chain) else
                                                                 " (some earlier runs did not record theirs)") + ".")
    if checkpoint == "last.pt":
        lines.append(f"- Chosen: the run's last epoch (`last.pt`), not its best validation-PESQ epoch, because {why.strip()}")
    lines += [
        f"- Steps: {best['step']} of the run's {last['step']} (epoch {best['epoch']} of {last['epoch']} run so far, "
        f"{cfg['epochs']} planned); hours of training steps to this checkpoint: {best['cpu_hours']:.2f} (wall clock on a 2-core CPU shared with other work).",
        f"- Optimiser: Adam, peak lr {cfg['lr']}, {cfg['warmup_steps']} warm-up steps, cosine decay over the planned "
        f"epochs, gradient clip {cfg['grad_clip']}; lr at this checkpoint {best['lr']:.2e}. A resume with another "
        "`--epochs` (see the commands) reshapes the rest of the cosine from that step on.",
        f"- Parameters in the state dict (incl. fixed ERB weights and SFE buffers): {n_params}.",
        "",
        "## Validation (held-out files of the training material; "
        + ("the checkpoint was chosen on PESQ here)" if checkpoint != "last.pt" else "scores of the released epoch)"),
        "",
        "| PESQ-wb | STOI | SI-SNR (dB) | loss |",
        "|---|---|---|---|",
        f"| {best['val_pesq']:.3f} | {best['val_stoi']:.3f} | {best['val_si_snr']:.2f} | {best['val_loss']:.3f} |",
        "",
        *(sections or []),
        "## Test (VoiceBank-DEMAND test set, 824 utterances; reported, never used for choices)",
        "",
    ]
    if test_scores:
        lines += ["| input | PESQ-wb | STOI | SI-SNR (dB) |", "|---|---|---|---|"]
        for row, s in test_scores.items():
            lines.append(f"| {row} | {s['pesq']:.3f} | {s['stoi']:.3f} | {s['si_snr']:.2f} |")
    else:
        lines.append("Not measured for this checkpoint yet.")
    (dest / f"{name}.md").write_text("\n".join(lines) + "\n")
    return dest / f"{name}.pt"


def _step_sections(val: dict, cost: dict, name: str, calib: str) -> list[str]:
    """Model-card sections of a step model's release: int8 on validation, and its ESP32-S3 cost."""
    f = lambda v, d=3: "-" if v is None or v != v else f"{v:.{d}f}"  # noqa: E731  (NaN -> "-")
    lines = [
        f"## Float and int8 on the same validation mixtures (one set of weights: `{name}.pt`, `{name}_int8.tflite`)",
        "",
        f"The int8 step (`{name}_int8.tflite`) runs the whole audio path: float STFT and features on the host, the int8 "
        f"step, the mask on the host. Calibration: {calib}. Items: {val['items']} (the run's fixed validation set).",
        "",
        "| mixtures | items | float PESQ-wb | int8 PESQ-wb | float STOI | int8 STOI | float SI-SNR (dB) | int8 SI-SNR (dB) |",
        "|---|---|---|---|---|---|---|---|",
        f"| all | {val['items']} | {f(val['float_pesq'])} | {f(val['int8_pesq'])} | {f(val['float_stoi'])} | "
        f"{f(val['int8_stoi'])} | {f(val['float_si_snr'], 2)} | {f(val['int8_si_snr'], 2)} |",
    ]
    from ..data.splits import snr_band_order

    by = val.get("by_label") or {}
    for label, row in sorted(by.items(), key=lambda kv: snr_band_order().index(kv[0]) if kv[0] in snr_band_order() else 99):
        lines.append(f"| {label} | {row['items']} | {f(row.get('float_pesq'))} | {f(row.get('int8_pesq'))} | "
                     f"{f(row.get('float_stoi'))} | {f(row.get('int8_stoi'))} | {f(row.get('float_si_snr'), 2)} | "
                     f"{f(row.get('int8_si_snr'), 2)} |")
    lines += ["", f"int8 minus float, PESQ-wb, paired over items: {val['int8_pesq_change']:+.3f} "
              f"(standard error {val['int8_pesq_change_se']:.3f}).", ""]
    if cost:
        lines += [
            "## Cost on the ESP32-S3 (an estimate: `gtcrn-micro profile --target esp32s3`)",
            "",
            "| ops | on reference kernels | ms per 16 ms hop (low / central / high) | share of one core (central / high) "
            "| TFLM arena (B) | model (B) |",
            "|---|---|---|---|---|---|",
            f"| {cost['ops']} | {cost['reference_kernel_ops']} | {cost['ms_per_hop_low']:.1f} / "
            f"{cost['ms_per_hop_central']:.1f} / {cost['ms_per_hop_high']:.1f} | {cost['core_share_central']:.0%} / "
            f"{cost['core_share_high']:.0%} | {cost['arena_bytes']:,} | {cost['model_bytes']:,} |",
            "",
        ]
    return lines


def release_step_model(run_dir: str | Path, name: str, dest: str | Path = CHECKPOINT_DIR,
                       calib_items: int = 32, val_items: int | None = None, test_scores: dict | None = None,
                       measure_cost: bool = True, work_dir: str | Path | None = None) -> dict:
    """Release a step model (float checkpoint and int8 step from the same weights) from ``run_dir``'s best epoch.

    Writes ``dest/{name}.pt``, ``dest/{name}_float.tflite``, ``dest/{name}_int8.tflite`` and the
    card ``dest/{name}.md``. The int8 step is calibrated on ``calib_items`` mixtures of the run's
    *training* split; float and int8 are then scored on the run's own validation mixtures (the first
    ``val_items``, default all; never the test set) and the int8 step is costed for the ESP32-S3.
    Returns the release report (export checks, validation scores, cost).
    """
    import tempfile

    from ..data.splits import item_labels
    from ..export import calibration_trace, export_model
    from ..export.scoring import float_int8_scores
    from .trainer import TrainConfig, build_datasets, model_from_checkpoint

    run, dest = Path(run_dir), Path(dest)
    snapshot = run / SNAPSHOT
    shutil.copyfile(run / "best.pt", snapshot.with_suffix(".tmp"))
    snapshot.with_suffix(".tmp").replace(snapshot)  # the weights released below, whatever the run does next
    model, ckpt = model_from_checkpoint(snapshot)
    from ..model.micro import MaskedStepModel

    if not isinstance(model, MaskedStepModel):
        raise ValueError(f"{run / 'best.pt'} holds a {ckpt.get('model_name')!r} model, which has no streaming step.")
    if not ckpt.get("history"):
        raise ValueError(f"{run / 'best.pt'} has no validated epoch yet: let the run finish one.")
    cfg = TrainConfig(**{k: v for k, v in ckpt["train_config"].items() if k in TrainConfig.__dataclass_fields__})
    train_set, val_set, _ = build_datasets(cfg)
    calib = [train_set[i][0].numpy() for i in range(calib_items)]
    calib_text = (f"{calib_items} mixtures of {cfg.segment_seconds:g} s from the run's training split; int8 activation "
                  "ranges measured and clipped at 1e-4 per side")
    labels = item_labels(val_set, cfg.speech_dirs)["snr"]
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        report = export_model(model, tmp, calibration_trace(model, calib), kinds=("float", "int8"))
        for kind in ("float", "int8"):
            shutil.copy(Path(tmp) / f"step_{kind}.tflite", dest / f"{name}_{kind}.tflite")
    int8_path = dest / f"{name}_int8.tflite"
    val = float_int8_scores(model, int8_path, val_set, val_items, labels=labels)
    cost = {}
    if measure_cost:
        from ..deploy import s3_profile

        prof = s3_profile(int8_path, model=ckpt.get("model_name") or "s3", measure=True)
        cost = {k: prof[k] for k in ("ops", "reference_kernel_ops", "ms_per_hop_low", "ms_per_hop_central",
                                     "ms_per_hop_high", "core_share_central", "core_share_high", "arena_bytes",
                                     "model_bytes", "x86_instructions_per_step", "op_histogram")}
    best = max(ckpt["history"], key=lambda h: h["val_pesq"])
    result = {"export": report, "validation": val, "cost": cost, "calibration": calib_text,
              "epoch": best["epoch"], "run": str(run)}
    write_step_card(result, name, dest, test_scores, first=True)
    return result


def write_step_card(result: dict, name: str, dest: str | Path = CHECKPOINT_DIR, test_scores: dict | None = None,
                    first: bool = False) -> Path:
    """(Re)write ``dest/{name}.pt`` and its card from a :func:`release_step_model` result, e.g. with test scores.

    The card describes ``RUN/released.pt``, the copy of best.pt that the release exported; it
    refuses when that copy is not the shipped ``{name}.pt`` (released again since, or edited), so
    that card, checkpoint and int8 step stay one model.
    """
    run, dest = Path(result["run"]), Path(dest)
    if not first:  # the release itself writes {name}.pt from the snapshot just below
        released = load_checkpoint(run / SNAPSHOT)
        shipped = load_checkpoint(dest / f"{name}.pt")
        if (released["model"].keys() != shipped["model"].keys()
                or not all(torch.equal(released["model"][k], shipped["model"][k]) for k in released["model"])):
            raise ValueError(f"{run / SNAPSHOT} is not the shipped {dest / (name + '.pt')}: release the run again.")
    role = (f"The shipped `{name}` model: one set of weights for float (`--backend torch`, `stream`) and int8 "
            f"(`{name}_int8.tflite`, `--backend tflite-int8`, the firmware), chosen on float validation PESQ-wb; "
            "its int8 step is scored on the same validation mixtures below.")
    return release_checkpoint(run, name, dest, test_scores=test_scores, role=role, checkpoint=SNAPSHOT,
                              sections=_step_sections(result["validation"], result["cost"], name, result["calibration"]))
