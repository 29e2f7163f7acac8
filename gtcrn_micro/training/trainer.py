"""Training: ``train(TrainConfig) -> history`` and the ``gtcrn-micro train`` command (chapter 4).

- Data: on-the-fly mixtures (``gtcrn_micro.data``), deterministic in (seed, epoch, index), from
  folders of clean speech and of noise; a validation split by file hash that shares no file with
  training, or (``split="speaker"``, the ``speaker`` preset) by speaker folder, with validation
  mixtures balanced across the ``--speech`` folders (:mod:`gtcrn_micro.data.splits`).
- Optimisation: Adam, linear warm-up then cosine decay, gradient-norm clipping, the hybrid loss.
- Validation after every epoch on a fixed set of mixtures: loss, PESQ-wb, STOI, SI-SNR. The best
  checkpoint is chosen on validation PESQ only.
- Checkpoints (``last.pt``) hold model, optimizer, scheduler, RNG states and the position in the
  epoch, written every ``checkpoint_every`` steps: a killed run resumes where it stopped and
  continues exactly as if it had never stopped.
- A plain log (``train.log``), ``history.json`` and ``curves.png`` in the run folder.
- Hardware: ``device`` (``--device cpu|cuda``, ``auto`` takes a GPU when torch sees one) and
  data-parallel training over several processes, GPUs or machines under ``torchrun`` (PyTorch
  DDP): ``batch_size`` stays the global batch, split evenly over the processes, so N processes
  train the same run as one (:mod:`.distributed`). Only rank 0 validates and writes.
- Fine-tuning: ``init_from`` (``--init CKPT``) starts a new run from another checkpoint's weights
  (fresh optimizer and schedule). The starting weights are scored on this run's validation set
  first, as ``initial`` in the checkpoint and log, and they count as the best so far: the run only
  replaces them when an epoch beats them on validation.
- Activation bound (micro only, ``--act-penalty W --act-bound B``): adds W times the squared excess
  of the int8 graph's activations beyond +-B to the loss (:mod:`.bounds`), so that int8 can give
  them a fine step; the epoch record then holds the penalty and the validation peak |activation|.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..audio.stft import istft, stft
from ..config import get_config
from ..data.mixing import AudioBank, MixConfig, MixtureDataset, find_audio, split_files
from ..data.splits import speech_folder_of, split_by_speaker
from . import distributed
from .bounds import ActivationBound
from .distributed import Workers
from .losses import LossWeights, hybrid_loss
from .metrics import score_pair
from .options import PRESETS, TrainConfig, add_cli_arguments, config_from_args, parse_model_options  # noqa: F401  (re-exported)

__all__ = ["TrainConfig", "PRESETS", "train", "load_checkpoint", "model_from_checkpoint", "build_datasets", "model_config"]


def lr_factor(step: int, cfg: TrainConfig) -> float:
    """Learning-rate multiplier: linear warm-up, then cosine decay to ``min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.total_steps - cfg.warmup_steps))
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_datasets(cfg: TrainConfig) -> tuple[MixtureDataset, MixtureDataset, dict]:
    """Train and validation mixture sets from the speech/noise folders, split by file hash or
    (``split="speaker"``) by speaker; noise is always split by file hash."""
    if not cfg.speech_dirs or not cfg.noise_dirs:
        raise ValueError("Pass at least one speech folder and one noise folder (--speech DIR --noise DIR).")
    for name in ("snr_max", "val_snr_max"):
        if not getattr(cfg, name) > MixConfig.snr_db[0]:
            raise ValueError(f"{name} must be above {MixConfig.snr_db[0]} dB, not {getattr(cfg, name)}.")
    for name in ("clean_share", "val_clean_share"):
        if not 0 <= getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be at least 0 and below 1, not {getattr(cfg, name)}.")
    if cfg.split not in ("file", "speaker"):
        raise ValueError(f"split must be 'file' or 'speaker', not {cfg.split!r}.")
    speech_files = find_audio(*cfg.speech_dirs)
    if cfg.split == "speaker":
        found = set(speech_folder_of(speech_files, cfg.speech_dirs))
        for i, d in enumerate(cfg.speech_dirs):
            if i not in found:
                raise ValueError(f"The speech folder {d} holds no .wav/.flac/.ogg files; remove it from --speech.")
        sp_train, sp_val = split_by_speaker(speech_files, cfg.speech_dirs, cfg.val_fraction)
    else:
        sp_train, sp_val = split_files(speech_files, cfg.val_fraction)
    no_train, no_val = split_files(find_audio(*cfg.noise_dirs), cfg.val_fraction)
    if not sp_val or not no_val:
        raise ValueError("The validation split is empty: add more files or raise val_fraction.")
    w = cfg.speech_weights
    if w is not None and (not cfg.balance_speech or len(w) != len(cfg.speech_dirs) or not all(x > 0 for x in w)):
        raise ValueError(f"speech_weights needs balance_speech and one positive weight per speech folder "
                         f"({len(cfg.speech_dirs)}), not {w}.")

    def speech_bank(files: list[Path], weights: list[float] | None = None, by_folder: bool = False) -> AudioBank:
        return AudioBank(files, groups=speech_folder_of(files, cfg.speech_dirs) if by_folder else None,
                         group_weights=weights)  # noise: file by file

    balanced_val = cfg.split == "speaker"  # validation item i from the (i % folders)-th --speech folder
    banks = dict(sp_train=speech_bank(sp_train, cfg.speech_weights, cfg.balance_speech),
                 sp_val=speech_bank(sp_val, by_folder=cfg.balance_speech or balanced_val),
                 no_train=AudioBank(no_train), no_val=AudioBank(no_val))
    if balanced_val and banks["sp_val"].n_groups < len(cfg.speech_dirs):
        empty = sorted(set(cfg.speech_dirs) - {cfg.speech_dirs[i] for i in speech_folder_of(banks["sp_val"].files,
                                                                                           cfg.speech_dirs)})
        raise ValueError(f"The speech folder(s) {', '.join(empty)} have no usable validation file; give them more "
                         "files or speakers, or raise val_fraction.")
    train_set = MixtureDataset(banks["sp_train"], banks["no_train"], cfg.steps_per_epoch * cfg.batch_size,
                               MixConfig(segment_seconds=cfg.segment_seconds, min_active=cfg.min_speech_active,
                                         snr_db=(MixConfig.snr_db[0], cfg.snr_max), clean_prob=cfg.clean_share),
                               seed=cfg.seed)
    val_set = MixtureDataset(banks["sp_val"], banks["no_val"], cfg.val_items,
                             MixConfig(segment_seconds=cfg.val_seconds, min_active=cfg.min_speech_active,
                                       snr_db=(MixConfig.snr_db[0], cfg.val_snr_max), clean_prob=cfg.val_clean_share),
                             seed=cfg.seed + 10_000 if cfg.val_seed < 0 else cfg.val_seed, balanced=balanced_val)
    info = {f"{k}_files": len(b) for k, b in banks.items()} | {f"{k}_minutes": round(b.seconds / 60, 1) for k, b in banks.items()}
    if cfg.split == "speaker":
        info["split"] = "speaker"
    return train_set, val_set, info


def _batch(ds: MixtureDataset, step: int, batch_size: int,
           workers: Workers = Workers()) -> tuple[torch.Tensor, torch.Tensor]:
    """This process's share of global batch ``step``: all of it in one process, B/N items under torchrun."""
    first, n = distributed.shard(batch_size, workers)
    items = [ds[step * batch_size + first + i] for i in range(n)]
    return torch.stack([n for n, _ in items]), torch.stack([c for _, c in items])  # (B/N,L) each


def model_config(cfg: TrainConfig):
    """The model :class:`~gtcrn_micro.config.Config` a run trains: the preset with ``model_overrides``."""
    base = get_config(cfg.model)
    try:
        return base.with_model(**cfg.model_overrides) if cfg.model_overrides else base
    except TypeError:
        raise ValueError(f"model_overrides {sorted(cfg.model_overrides)} are not all ModelConfig fields.") from None


def _build_model(cfg: TrainConfig) -> torch.nn.Module:
    from ..model import build_model

    return build_model(model_config(cfg))


@torch.no_grad()
def score_items(model: torch.nn.Module, val_set: MixtureDataset, weights: LossWeights,
                bound: ActivationBound | None = None) -> tuple[list[dict[str, float]], list[float], float]:
    """Per validation mixture: PESQ-wb / STOI / SI-SNR and the loss, and the largest |activation|
    ``bound`` watched (0 without it). Leaves the model in eval mode."""
    model.eval()
    device = next(model.parameters()).device
    scores, losses, peak = [], [], 0.0
    for i in range(len(val_set)):
        noisy, clean = val_set[i]
        spec = stft(noisy[None].to(device))  # (1,F,T,2)
        with bound or contextlib.nullcontext():
            est = model(spec)
        if bound is not None:
            peak = max(peak, bound.peak())
        losses.append(float(hybrid_loss(est, stft(clean[None].to(device)), len(clean), weights)["total"]))
        enh = istft(est, len(clean))[0].cpu().numpy()
        scores.append(score_pair(clean.numpy(), enh))
    return scores, losses, peak


def mean_scores(scores: list[dict[str, float]], prefix: str = "") -> dict[str, float]:
    """Per-item metric dicts -> the mean of each metric, skipping items where it is NaN."""
    return {f"{prefix}{k}": float(np.nanmean([s[k] for s in scores])) for k in scores[0]}


def validate(model: torch.nn.Module, val_set: MixtureDataset, weights: LossWeights,
             bound: ActivationBound | None = None) -> dict[str, float]:
    """Loss and PESQ-wb / STOI / SI-SNR (means) on the fixed validation mixtures; with ``bound``,
    also the largest |activation| it watches (``val_act_peak``)."""
    scores, losses, peak = score_items(model, val_set, weights, bound)
    out = {"val_loss": float(np.mean(losses))} | mean_scores(scores, prefix="val_")
    if bound is not None:
        out["val_act_peak"] = peak
    model.train()
    return out


def _model_options_differ(ckpt: dict, model: torch.nn.Module) -> dict[str, tuple]:
    """ModelConfig fields whose saved value differs from ``model``'s: name -> (saved, model's).

    Options such as ``tra_energy`` change what the weights compute without changing their shapes,
    so ``load_state_dict`` alone would accept the wrong model silently.
    """
    saved = (ckpt.get("model_config") or {}).get("model") or {}
    cfg = getattr(model, "cfg", None)
    if cfg is None or not saved:
        return {}
    ours = asdict(cfg.model)
    return {k: (v, ours[k]) for k, v in saved.items() if k in ours and _plain(v) != _plain(ours[k])}


def _plain(v):
    return list(v) if isinstance(v, (list, tuple)) else v


def load_checkpoint(path: str | Path, model: torch.nn.Module | None = None, check_options: bool = True) -> dict:
    """Read a checkpoint; with ``model``, load its weights. Clear errors for bad files.

    ``check_options``: refuse a checkpoint trained with other model options than ``model`` was
    built with (``--init`` turns it off to fine-tune into a changed option on purpose).
    """
    ckpt = _read_checkpoint(path)
    if model is not None:
        _load_weights(ckpt, model, path, check_options)
    return ckpt


def _read_checkpoint(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Checkpoint {path} does not exist.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated, corrupted or not a torch file
        raise ValueError(f"Checkpoint {path} cannot be read ({type(err).__name__}); it is corrupted or not a "
                         "gtcrn-micro checkpoint: re-download or re-train it.") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt:
        raise ValueError(f"Checkpoint {path} holds no model weights; it is not a gtcrn-micro checkpoint.")
    return ckpt


def _load_weights(ckpt: dict, model: torch.nn.Module, path: str | Path, check_options: bool = True) -> None:
    differ = _model_options_differ(ckpt, model) if check_options else {}
    if differ:
        text = ", ".join(f"{k}={a!r} (this model: {b!r})" for k, (a, b) in sorted(differ.items()))
        raise ValueError(f"Checkpoint {path} was trained with other model options: {text}; build the model "
                         "from the checkpoint's model_config.")
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as err:
        raise ValueError(f"Checkpoint {path} does not fit this model ({str(err).splitlines()[0]}); "
                         "check --model.") from None


def model_from_checkpoint(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """The model a checkpoint was trained as (its saved preset and model options), weights loaded, in eval mode."""
    from ..config import config_as_trained
    from ..model import build_model

    ckpt = load_checkpoint(path)
    name = ckpt.get("model_name") or (ckpt.get("model_config") or {}).get("model", {}).get("name")
    if not name:
        raise ValueError(f"Checkpoint {path} does not say which model it holds.")
    model = build_model(config_as_trained(name, ckpt))
    load_checkpoint(path, model)
    return model.eval(), ckpt


def _on_cpu(obj):
    """Tensors of a (nested) state dict moved to the CPU, so a GPU run's checkpoint loads anywhere."""
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _on_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_on_cpu(v) for v in obj)
    return obj


def _save(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)  # atomic: a kill never leaves a half-written checkpoint


def plot_history(history: list[dict], path: str | Path | None = None):
    """Training/validation loss and validation PESQ per epoch; saves to ``path`` if given.

    Returns a :class:`~gtcrn_micro.audio.plots.PlotFigure` (no pyplot: nothing shown twice in notebooks).
    """
    from matplotlib.ticker import MaxNLocator

    from ..audio.plots import new_figure

    fig, (a, b) = new_figure(1, 2, figsize=(9, 3.2))
    ep = [h["epoch"] for h in history]
    a.plot(ep, [h["train_loss"] for h in history], marker="o", label="train")
    a.plot(ep, [h["val_loss"] for h in history], marker="o", label="validation")
    a.set_xlabel("epoch"), a.set_ylabel("hybrid loss"), a.legend()
    b.plot(ep, [h["val_pesq"] for h in history], marker="o", color="C2")
    b.set_xlabel("epoch"), b.set_ylabel("validation PESQ-wb")
    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    if path:
        fig.savefig(path, dpi=110)
    return fig


def train(cfg: TrainConfig) -> list[dict]:
    """Train (or resume) a model; returns the per-epoch history. See the module docstring.

    Under ``torchrun`` every process calls it; each returns the same history.
    """
    workers, device = distributed.setup(cfg.device)
    try:
        return _train(cfg, workers, device)
    finally:
        distributed.teardown(workers)


def _train(cfg: TrainConfig, workers: Workers, device: torch.device) -> list[dict]:
    out = Path(cfg.out_dir)
    main = workers.main  # rank 0: validation, checkpoints, log, plots
    distributed.shard(cfg.batch_size, workers)  # an uneven split fails before anything is written
    if cfg.compile and cfg.act_penalty > 0:
        raise ValueError("--compile does not work with --act-penalty (its hooks change the model at every step); "
                         "drop one of them.")
    if cfg.compile and workers.parallel:
        raise ValueError("--compile is for one process; under torchrun leave it out (the global-batch BatchNorm "
                         "is not compiled and was not tested compiled).")
    if main:
        out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    log = open(out / "train.log", "a") if main else None

    def say(msg: str) -> None:
        if not main:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        log.write(line + "\n")
        log.flush()
        if not cfg.progress:
            print(line, flush=True)

    try:
        return _loop(cfg, workers, device, out, say)
    finally:
        if log is not None:
            log.close()


def _loop(cfg: TrainConfig, workers: Workers, device: torch.device, out: Path, say) -> list[dict]:
    main = workers.main
    torch.manual_seed(cfg.seed)
    random.seed(cfg.seed)
    model = _build_model(cfg).to(device)  # weights drawn on the CPU from the seed, then moved: same on every device
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, cfg))
    weights = LossWeights()
    bound = ActivationBound(model, cfg.act_bound) if cfg.act_penalty > 0 else None
    history: list[dict] = []
    epoch, step_in_epoch, running, running_pen, seconds = 0, 0, [], [], 0.0
    best, initial = -float("inf"), None

    last = out / "last.pt"
    ckpt = distributed.from_rank0(workers, lambda: load_checkpoint(last) if last.exists() else None)
    if ckpt is not None:
        _load_weights(ckpt, model, last)
        saved = ckpt["train_config"]
        absent = {"init_from": "", "act_penalty": 0.0, "act_bound": 8.0,  # values of keys older runs did not save
                  "min_speech_active": 0.0, "snr_max": 20.0, "balance_speech": False, "speech_weights": None,
                  "val_seed": -1, "split": "file", "clean_share": 0.0, "val_snr_max": 20.0, "val_clean_share": 0.0}
        # model options: _load_weights above compared the model itself (preset + overrides) with the saved one.
        # device and the number of processes may change: the global batch, hence the run, stays the same.
        for key in ("model", "batch_size", "segment_seconds", "seed", "steps_per_epoch", "init_from",
                    "act_penalty", "act_bound", "min_speech_active", "snr_max", "balance_speech", "speech_weights",
                    "val_seed", "split", "clean_share", "val_snr_max", "val_clean_share"):
            if saved.get(key, absent.get(key)) != getattr(cfg, key):
                raise ValueError(f"{last} was trained with {key}={saved.get(key)!r}, not {getattr(cfg, key)!r}; "
                                 "use another --out folder or the same settings.")
        opt.load_state_dict(ckpt["optimizer"])  # moves the optimizer state to the parameters' device
        sched.load_state_dict(ckpt["scheduler"])
        torch.set_rng_state(ckpt["rng"]["torch"])
        random.setstate(ckpt["rng"]["python"])
        epoch, step_in_epoch, running = ckpt["epoch"], ckpt["step_in_epoch"], ckpt["running"]
        running_pen = ckpt.get("running_pen", [])
        history, best, seconds = ckpt["history"], ckpt["best"], ckpt.get("seconds", 0.0)
        initial = ckpt.get("initial")
        say(f"resumed from {last}: epoch {epoch}, step {step_in_epoch}")
    elif cfg.init_from:
        start = distributed.from_rank0(workers, lambda: load_checkpoint(cfg.init_from))
        differ = _model_options_differ(start, model)
        _load_weights(start, model, cfg.init_from, check_options=False)
        say(f"initialised from the weights of {cfg.init_from}"
            + "".join(f"; {k} was {a!r}, now {b!r}" for k, (a, b) in sorted(differ.items())))
    del ckpt
    if main:
        (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=1))

    train_set, val_set, info = build_datasets(cfg)
    n_params = sum(p.numel() for p in params)
    if main:
        (out / "data.json").write_text(json.dumps(info))
    say(f"model {cfg.model}: {n_params} trainable params; data {json.dumps(info)}")
    if workers.parallel or device.type != "cpu":
        say(f"{workers.world_size} process(es) on {device.type}, {cfg.batch_size // workers.world_size} of the "
            f"{cfg.batch_size} examples of each batch per process, {cfg.threads} thread(s) each")

    net = model  # what the training steps call; validation and checkpoints use `model` itself
    if workers.parallel:
        from torch.nn.parallel import DistributedDataParallel

        distributed.sync_batchnorm(model, workers)  # batch statistics over the global batch
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:  # dynamic=False: the batch shape never changes, and torch 2.13's dynamic shapes fail on these models
        net = torch.compile(model, dynamic=False)

    def payload() -> dict:
        return {"model": _on_cpu(model.state_dict()), "optimizer": _on_cpu(opt.state_dict()),
                "scheduler": sched.state_dict(),
                "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
                "epoch": epoch, "step_in_epoch": step_in_epoch, "running": running,
                "running_pen": running_pen, "history": history,
                "best": best, "seconds": seconds, "train_config": asdict(cfg), "model_name": cfg.model,
                "model_config": asdict(model_config(cfg)), "initial": initial}

    def on_rank0(fn):  # validation: rank 0 computes, every rank gets the result
        return distributed.from_rank0(workers, fn)

    if cfg.init_from and initial is None:  # score the starting weights on this run's validation set
        def score_start():
            scored = {"from": cfg.init_from} | validate(model, val_set, weights, bound)
            say("starting weights: " + " ".join(f"{k}={v:.4g}" for k, v in scored.items() if isinstance(v, float)))
            return scored

        initial = on_rank0(score_start)
        best = initial["val_pesq"]
        if main:
            _save(out / "best.pt", payload())
            _save(last, payload())

    while epoch < cfg.epochs:
        train_set.set_epoch(epoch)
        epoch_start = (step_in_epoch, seconds)  # for the throughput line in the log
        bar = tqdm(range(step_in_epoch, cfg.steps_per_epoch), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=not (cfg.progress and main), initial=step_in_epoch, total=cfg.steps_per_epoch)
        for step in bar:
            t0 = time.perf_counter()
            noisy, clean = _batch(train_set, step, cfg.batch_size, workers)  # (B/N,L)
            noisy, clean = noisy.to(device), clean.to(device)
            with bound or contextlib.nullcontext():
                est = net(stft(noisy))  # (B/N,F,T,2)
            terms = hybrid_loss(est, stft(clean), clean.shape[-1], weights)
            total = terms["total"]
            if bound is not None:
                pen = bound.penalty()
                bound.tensors = []  # hold no activations past this step
                running_pen.append(distributed.mean_over_ranks(workers, pen))
                total = total + cfg.act_penalty * pen
            opt.zero_grad(set_to_none=True)
            total.backward()  # DDP: gradients averaged over the ranks = the global batch's gradient
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            opt.step()
            sched.step()
            running.append(distributed.mean_over_ranks(workers, terms["total"]))  # the global batch's loss
            seconds += time.perf_counter() - t0
            step_in_epoch = step + 1
            bar.set_postfix(loss=f"{np.mean(running):.3f}")
            if step_in_epoch % cfg.checkpoint_every == 0 and step_in_epoch < cfg.steps_per_epoch:
                if main:
                    _save(last, payload())
                say(f"epoch {epoch + 1} step {step_in_epoch}: train loss {np.mean(running):.4f}")
        record = {"epoch": epoch + 1, "step": (epoch + 1) * cfg.steps_per_epoch, "train_loss": float(np.mean(running)),
                  "lr": sched.get_last_lr()[0], "cpu_hours": seconds / 3600}
        if bound is not None:
            record["train_act_penalty"] = float(np.mean(running_pen))
        steps_run, wall = cfg.steps_per_epoch - epoch_start[0], seconds - epoch_start[1]
        say(f"training throughput {steps_run * cfg.batch_size * cfg.segment_seconds / max(wall, 1e-9):.1f} s of audio "
            f"per second ({wall / max(steps_run, 1):.3f} s per step of {cfg.batch_size} x {cfg.segment_seconds:g} s, "
            f"{workers.world_size} process(es) on {device.type}, {cfg.threads} thread(s) each)")
        record = on_rank0(lambda: record | validate(model, val_set, weights, bound))
        history.append(record)
        say(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()))
        epoch, step_in_epoch, running, running_pen = epoch + 1, 0, [], []
        if record["val_pesq"] > best:
            best = record["val_pesq"]
            if main:
                _save(out / "best.pt", payload())
            say(f"new best validation PESQ {best:.3f}")
        if main:
            _save(last, payload())
            (out / "history.json").write_text(json.dumps(history, indent=1))
            plot_history(history, out / "curves.png")
    return history
