"""A training run's settings and the ``train`` command's options (chapter 4), without torch.

:class:`TrainConfig` holds everything a run depends on; :data:`PRESETS` names groups of settings;
:func:`add_cli_arguments` / :func:`config_from_args` turn ``gtcrn-micro train`` options into a
config. Nothing here imports torch, so ``gtcrn-micro train --help`` answers at once;
:mod:`.trainer` runs the config.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

__all__ = ["TrainConfig", "PRESETS", "add_cli_arguments", "parse_model_options", "config_from_args"]


@dataclass
class TrainConfig:
    """Everything a training run depends on. Saved next to its checkpoints."""

    model: str = "micro"  # model preset: micro or gtcrn
    model_overrides: dict = field(default_factory=dict)  # ModelConfig fields changed from the preset (candidates)
    speech_dirs: list[str] = field(default_factory=list)  # folders of clean speech
    noise_dirs: list[str] = field(default_factory=list)  # folders of noise recordings
    out_dir: str = "runs/micro"  # checkpoints, log, history, plot
    epochs: int = 40
    steps_per_epoch: int = 400  # one "epoch" = this many batches of fresh mixtures
    batch_size: int = 16
    segment_seconds: float = 2.0  # 2 s = 126 frames per example
    lr: float = 2e-3  # peak learning rate (Adam)
    warmup_steps: int = 500  # linear warm-up, then cosine decay to lr * min_lr_ratio
    min_lr_ratio: float = 0.02
    weight_decay: float = 0.0
    grad_clip: float = 5.0  # clip the global gradient norm (GRUs)
    act_penalty: float = 0.0  # weight of the activation-bound penalty (0 = off; micro only, see bounds.py)
    act_bound: float = 8.0  # |activation| allowed before the penalty starts
    min_speech_active: float = 0.0  # redraw speech segments with a smaller share of active frames (MixConfig.min_active)
    balance_speech: bool = False  # draw each --speech folder equally often (else each file equally often)
    speech_weights: list[float] | None = None  # with balance_speech: training draws the folders in these proportions
    snr_max: float = 20.0  # training mixtures' SNR is drawn from -5..snr_max dB (validation: val_snr_max)
    clean_share: float = 0.0  # share of training mixtures that are clean speech (no room, SNR 100 dB): leave it alone
    split: str = "file"  # "file": 10 % of files by hash; "speaker": whole speaker folders (data/splits.py), and
    #                      validation mixtures drawn from each --speech folder in turn (balanced across sources)
    val_fraction: float = 0.1  # share of files (or of speakers) held out for validation
    val_snr_max: float = 20.0  # validation mixtures' SNR is drawn from -5..val_snr_max dB (20: runs before it)
    val_clean_share: float = 0.0  # share of validation mixtures that are clean speech (SNR 100 dB, no room)
    val_items: int = 48  # fixed validation mixtures
    val_seconds: float = 4.0
    seed: int = 0
    val_seed: int = -1  # seed of the validation mixtures; -1 = seed + 10000 (so a new --seed alone changes them)
    init_from: str = ""  # fine-tune: start from this checkpoint's weights (new optimizer and schedule)
    threads: int = 2  # torch intra-op threads per process (the reference machine has 2 cores)
    device: str = "auto"  # cpu, cuda, or auto: cuda when torch sees a GPU (each torchrun process takes its LOCAL_RANK's)
    compile: bool = False  # torch.compile the training steps' model (fixed shapes): on 1 CPU thread 5-15 % faster for micro,
    #                        no faster for s3 (benchmarks/training/notes.md); compiling takes a minute or more
    checkpoint_every: int = 100  # steps between last.pt writes
    progress: bool = True  # tqdm progress bars

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


PRESETS: dict[str, dict] = {
    # The long CPU run behind the shipped checkpoints (hours on 2 cores; resumable).
    "full": {},
    # Next runs (issue 22): speaker-disjoint split, source-balanced validation of 300 fixed mixtures
    # with SNRs up to 40 dB and 20 % clean speech (does the model leave it alone?); training up to
    # 40 dB with 5 % clean examples. The data settings only: the run's length is "full"'s.
    "speaker": dict(split="speaker", val_items=300, val_snr_max=40.0, val_clean_share=0.2, snr_max=40.0,
                    clean_share=0.05, min_speech_active=0.5),
    # Minutes on a laptop CPU: the book's demonstration run on the shipped sample clips.
    "cpu-tiny": dict(epochs=2, steps_per_epoch=10, batch_size=4, segment_seconds=1.0, warmup_steps=5,
                     val_items=4, val_seconds=2.0, val_fraction=0.34, checkpoint_every=5),
}


def add_cli_arguments(p) -> None:
    p.add_argument("--model", default="micro", help="model preset (micro or gtcrn)")
    p.add_argument("--speech", nargs="+", required=True, metavar="DIR", help="folders of clean speech (.wav/.flac)")
    p.add_argument("--noise", nargs="+", required=True, metavar="DIR", help="folders of noise recordings")
    p.add_argument("--out", required=True, help="run folder: checkpoints, log, history (resumes if last.pt exists)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="full", help="settings preset")
    for f in fields(TrainConfig):
        if f.name in ("model", "speech_dirs", "noise_dirs", "out_dir", "progress") or f.type not in ("int", "float"):
            continue
        p.add_argument(f"--{f.name.replace('_', '-')}", type=int if f.type == "int" else float, default=None,
                       help=f"override {f.name} (default {f.default})")
    p.add_argument("--init", metavar="CKPT", default=None,
                   help="fine-tune: start from this checkpoint's weights (new optimizer and schedule)")
    p.add_argument("--model-option", action="append", default=[], metavar="KEY=VALUE",
                   help="change one model option of the preset, e.g. tra_energy=abs (repeatable)")
    p.add_argument("--balance-speech", action="store_true", default=None,
                   help="draw each --speech folder equally often, however many files it holds "
                        "(default: each file equally often); validation mixtures too. Excerpts that "
                        "--min-speech-active rejects are redrawn from any folder")
    p.add_argument("--speech-weights", nargs="+", type=float, default=None, metavar="W",
                   help="with --balance-speech: training draws the --speech folders in these proportions, "
                        "one weight per folder (validation still draws them equally often)")
    p.add_argument("--split", choices=("file", "speaker"), default=None,
                   help="validation split: file = 10%% of files by hash (default); speaker = whole speaker folders "
                        "(SOURCE/SPEAKER/... under each --speech folder; files directly in it by file hash), "
                        "validation mixtures taken from each --speech folder in turn. --preset speaker sets it")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None,
                   help="where to train: auto (default) = cuda when torch sees a GPU, else cpu. Several GPUs or "
                        "machines: start this command under torchrun (README, 'Training on a GPU')")
    p.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the model for the training steps: faster steps after a minute or more of "
                        "compiling (benchmarks/training/notes.md)")
    p.add_argument("--no-progress", action="store_true", help="log lines instead of progress bars")


def parse_model_options(items: list[str]) -> dict:
    """``["tra_energy=abs", "channels=16"]`` -> ModelConfig overrides, typed like the fields."""
    from ..config import ModelConfig

    types = {f.name: f.type for f in fields(ModelConfig)}
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or str(types.get(key)) not in ("int", "float", "str") or key == "name":
            names = ", ".join(sorted(k for k, t in types.items() if str(t) in ("int", "float", "str") and k != "name"))
            raise ValueError(f"--model-option {item!r}: expected KEY=VALUE with KEY one of {names}.")
        kind = str(types[key])
        try:
            out[key] = int(value) if kind == "int" else float(value) if kind == "float" else value
        except ValueError:
            raise ValueError(f"--model-option {item!r}: {key} takes a {kind}.") from None
    return out


def config_from_args(args) -> TrainConfig:
    overrides = dict(PRESETS[args.preset])
    for f in fields(TrainConfig):
        v = getattr(args, f.name, None)
        if v is not None and f.name not in ("model",):
            overrides[f.name] = v
    if getattr(args, "init", None):
        overrides["init_from"] = args.init
    if getattr(args, "model_option", None):
        overrides["model_overrides"] = parse_model_options(args.model_option)
    return TrainConfig(model=args.model, speech_dirs=args.speech, noise_dirs=args.noise, out_dir=args.out,
                       progress=not args.no_progress, **overrides)
