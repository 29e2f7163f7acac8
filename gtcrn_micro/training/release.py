"""Turn a training run into a shipped checkpoint with its model card (chapter 4).

``release_checkpoint("runs/micro", "micro")`` copies the run's best weights (chosen on the
validation set only) to ``gtcrn_micro/checkpoints/micro.pt``, without the optimizer, and writes
``micro.md``: the data, steps, CPU hours, the exact command, validation scores, and the test-set
scores when a benchmark file is given. Everything in the card is read from the run's own files.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..data import MixConfig
from .trainer import load_checkpoint

__all__ = ["CHECKPOINT_DIR", "release_checkpoint"]

CHECKPOINT_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


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
                       role: str = "") -> Path:
    """Write ``dest/{name}.pt`` and ``dest/{name}.md`` from ``run_dir``'s best checkpoint.

    ``checkpoint="last.pt"`` releases the run's last epoch instead; ``why`` must then say on what
    validation measurement that choice rests (it goes into the card). ``role``, if given, is a
    sentence under the card's title saying what the checkpoint is shipped for.
    """
    run, dest = Path(run_dir), Path(dest)
    if checkpoint not in ("best.pt", "last.pt"):
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
    best = max(history, key=lambda h: h["val_pesq"]) if checkpoint == "best.pt" else history[-1]
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
        f"rooms, synthetic noise and babble), {cfg['segment_seconds']} s segments, batch {cfg['batch_size']}; validation "
        f"split by file hash ({cfg['val_fraction']:.0%} of files), {cfg['val_items']} fixed validation mixtures of "
        f"{cfg['val_seconds']} s (SNR {mix.snr_db[0]:g}..{mix.snr_db[1]:g} dB).{_draw_rules(cfg)}",
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
        + ("the checkpoint was chosen on PESQ here)" if checkpoint == "best.pt" else "scores of the released epoch)"),
        "",
        "| PESQ-wb | STOI | SI-SNR (dB) | loss |",
        "|---|---|---|---|",
        f"| {best['val_pesq']:.3f} | {best['val_stoi']:.3f} | {best['val_si_snr']:.2f} | {best['val_loss']:.3f} |",
        "",
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
