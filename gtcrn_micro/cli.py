"""Command-line interface: ``gtcrn-micro COMMAND`` (or ``python -m gtcrn_micro COMMAND``).

Each command is a thin layer over an importable function; ``COMMANDS`` maps a name to a pair
``(add_arguments, run)`` so later stages (train, enhance, evaluate, export, deploy) slot in by
adding one entry.

``--help`` stays fast: this module imports nothing heavy at the top (torch, TensorFlow and the
package's own modules that need them are imported inside the command functions), and a command's
arguments are added only when that command is parsed. Bad input ends in one sentence on stderr
and exit code 2; TensorFlow's start-up noise is kept off stderr unless ``--verbose`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import warnings
from pathlib import Path
from typing import Callable

from .config import MODEL_NAMES
from .inference._names import BACKEND_NAMES, NO_MODEL, PLANNED_BACKENDS, RUNTIMES

__all__ = ["main", "build_parser"]


class CLIError(Exception):
    """An error meant for the person at the terminal: printed as one sentence, exit code 2."""


# ---------------------------------------------------------------- profile
def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODEL_NAMES, default="gtcrn", help="model preset to profile")
    p.add_argument("--json", action="store_true", help="end with one line of JSON (params, macs_per_second, blocks)")
    p.add_argument("--target", choices=["esp32s3"], default=None,
                   help="cost an int8 .tflite step on this chip instead (kernel path, cycles per op; an estimate)")
    p.add_argument("--tflite", default=None, help="with --target: the int8 .tflite step to cost")
    p.add_argument("--measure", action="store_true",
                   help="with --target: count this model's reference-kernel instructions with callgrind (valgrind)")


def _profile_run(args: argparse.Namespace) -> int:
    if args.target or args.tflite:
        return _profile_target(args)
    from .model import build_model, profile_model

    model = build_model(args.model)
    report = profile_model(model)
    print(report.table())
    if args.json:
        print(json.dumps(report.to_dict()))
    return 0


def _profile_target(args: argparse.Namespace) -> int:
    from .deploy.s3cost import profile_table, s3_profile

    if not args.tflite or not args.target:
        raise CLIError("--target esp32s3 and --tflite FILE go together; pass both.")
    model = args.model if args.model != "gtcrn" else "micro"  # the front/back end of the step's config
    profile = s3_profile(args.tflite, model=model, measure=args.measure)
    print(profile_table(profile))
    if args.json:
        print(json.dumps(profile))
    return 0


# ---------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    from .training.options import add_cli_arguments  # no torch: `train --help` answers at once

    add_cli_arguments(p)


def _train_run(args: argparse.Namespace) -> int:
    from .training.options import config_from_args
    from .training.trainer import train

    cfg = config_from_args(args)  # bad options fail here, before anything is written
    rank0 = os.environ.get("RANK", "0") == "0"  # under torchrun, only rank 0 writes
    if rank0:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "command.txt", "a") as f:  # the model card quotes it
            f.write("gtcrn-micro " + " ".join(shlex.quote(a) for a in sys.argv[1:]) + "\n")
    history = train(cfg)
    if history and rank0:
        best = max(history, key=lambda h: h["val_pesq"])
        print(f"best validation PESQ {best['val_pesq']:.3f} at epoch {best['epoch']}; checkpoints in {args.out}")
    return 0


# ---------------------------------------------------------------- enhance
def _print_notices(notices: list[str]) -> None:
    for note in notices:
        print(f"  note: {note}", file=sys.stderr)


def _enhancer_args(p: argparse.ArgumentParser, *, allow_none: bool) -> None:
    models = MODEL_NAMES + ((NO_MODEL,) if allow_none else ())
    extra = f"; {NO_MODEL!r} passes the noisy input through, to score it alone" if allow_none else ""
    p.add_argument("--model", choices=models, default="micro", help=f"model preset (default micro){extra}")
    planned = [b for b in PLANNED_BACKENDS if b not in BACKEND_NAMES]
    later = f" (later stages add {', '.join(planned)})" if planned else ""
    p.add_argument("--backend", default="torch", metavar="NAME",
                   help=f"how the model runs: {', '.join(sorted(BACKEND_NAMES))}{later}; default torch")
    p.add_argument("--checkpoint", metavar="PATH", default=None,
                   help="checkpoint file (.pt from `gtcrn-micro train`, or .tflite from `gtcrn-micro export` for the "
                        "tflite-* backends); default: the one shipped with the package")
    p.add_argument("--runtime", choices=RUNTIMES, default="litert",
                   help="interpreter for tflite-* backends: LiteRT (default) or the TensorFlow Lite Micro interpreter")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="CPU threads for torch (default 1: plenty for these small models, and fast on a busy machine)")


def _load_enhancer(args: argparse.Namespace):
    """``load_enhancer`` for the command's options; TensorFlow's start-up lines filtered unless --verbose."""
    from ._quiet import filtered_stderr
    from .inference import load_enhancer

    if args.verbose:
        return load_enhancer(args.model, args.checkpoint, args.backend, args.runtime)
    with filtered_stderr(quiet_failure=True):  # TensorFlow is imported and the interpreter made here
        return load_enhancer(args.model, args.checkpoint, args.backend, args.runtime)


def _set_threads(n: int) -> None:
    import torch

    if n < 1:
        raise CLIError(f"--threads is {n}; pass 1 or more.")
    torch.set_num_threads(n)


def _enhance_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="an audio file, or a folder of audio files (searched recursively)")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help="output file (or folder) for a file INPUT; output folder for a folder INPUT "
                        "(created if missing; same names with .wav); never the input itself")
    _enhancer_args(p, allow_none=False)


def _enhance_run(args: argparse.Namespace) -> int:
    from .inference import enhance_path, plan_outputs

    plan_outputs(args.input, args.output)  # refuse bad INPUT/OUTPUT before loading a model
    _set_threads(args.threads)
    enhancer = _load_enhancer(args)

    def report(result) -> None:
        print(result.line(), file=sys.stderr if result.error else sys.stdout, flush=True)
        _print_notices(result.notices)

    try:
        results = enhance_path(args.input, args.output, enhancer, on_file=report)
    except OSError as err:
        raise CLIError(str(err)) from None
    failed = [r for r in results if r.error]
    if failed:
        raise CLIError(f"{len(failed)} of {len(results)} files could not be enhanced (see the lines above); "
                       f"the others were written to {args.output}.")
    return 0


# ---------------------------------------------------------------- evaluate
def _evaluate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--noisy", required=True, metavar="DIR", help="folder of noisy files")
    p.add_argument("--clean", required=True, metavar="DIR", help="folder of clean files with the same names")
    _enhancer_args(p, allow_none=True)
    p.add_argument("--json", metavar="FILE", default=None, help="write per-file scores and means to this JSON file")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N pairs (sorted by name)")
    p.add_argument("--dnsmos", action="store_true", help="also DNSMOS OVRL/SIG/BAK of the enhanced audio (slower)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _evaluate_run(args: argparse.Namespace) -> int:
    from collections import Counter

    from .inference import evaluate_pairs, json_safe, summary_table

    _set_threads(args.threads)
    enhancer = _load_enhancer(args)
    result = evaluate_pairs(args.noisy, args.clean, enhancer, limit=args.limit, dnsmos=args.dnsmos,
                            progress=not args.no_progress)
    if result["notices"]:  # e.g. 824 files resampled: one line per kind of notice, not per file
        kinds = Counter(n.split(": ", 1)[-1] for n in result["notices"])
        for text, count in kinds.most_common(5):
            print(f"note: {count} file(s): {text}", file=sys.stderr)
    print(summary_table(result))
    if result["realtime_factor"] == result["realtime_factor"]:  # not NaN
        print(f"model time / audio time: {result['realtime_factor']:.4f}")
    if args.json:
        path = Path(args.json)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(json_safe(result), indent=1))
        except OSError as err:
            raise CLIError(f"cannot write {path} ({err.strerror or err}); choose another --json path.") from None
        print(f"scores written to {path}")
    return 0


# ---------------------------------------------------------------- download-voicebank
def _download_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("dest", metavar="DEST", help="folder to fill: DEST/noisy and DEST/clean (16 kHz FLAC)")
    p.add_argument("--split", choices=("test", "train"), default="test",  # the keys of corpora.VBD_URLS
                   help="test: the 824 test pairs (report on them only); train: the 11,572 pairs of the "
                        "28-speaker training set, whose clean folder train --speech can use (default test)")
    p.add_argument("--noisy-url", default=None, help="noisy_testset_wav.zip (noisy_trainset_28spk_wav.zip with "
                                                      "--split train): URL, file:// URL or local path "
                                                      "(default: the official DataShare URL)")
    p.add_argument("--clean-url", default=None, help="clean_testset_wav.zip (clean_trainset_28spk_wav.zip): "
                                                      "URL, file:// URL or local path")
    p.add_argument("--format", choices=("flac", "wav"), default="flac", help="output format (default flac)")
    p.add_argument("--keep-archives", action="store_true", help="keep the downloaded zip files in DEST/downloads")


def _download_run(args: argparse.Namespace) -> int:
    from .data.corpora import VBD_URLS, download_voicebank

    default = VBD_URLS[args.split]
    urls = {"noisy": args.noisy_url or default["noisy"], "clean": args.clean_url or default["clean"]}
    try:
        out = download_voicebank(args.dest, urls, fmt=args.format, keep_archives=args.keep_archives, split=args.split)
    except OSError as err:
        raise CLIError(str(err)) from None
    use = ("use it for reporting only." if args.split == "test" else
           f"train on its clean speech with: gtcrn-micro train --speech {out['clean']} --noise NOISE_DIR ...")
    print(f"VoiceBank-DEMAND {args.split} set (CC BY 4.0, doi:10.7488/ds/2117) in {out['noisy']} and {out['clean']}; "
          + use)
    return 0


# ---------------------------------------------------------------- export
EXPORT_FORMATS = {"onnx": (), "tflite-float": ("float",), "tflite-int8": ("int8",), "tflite-int16x8": ("int16x8",),
                  "all": ("float", "int8", "int16x8")}


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODEL_NAMES, default="micro", help="model preset")
    p.add_argument("--checkpoint", help="weights to export (a gtcrn-micro checkpoint)")
    p.add_argument("--format", choices=sorted(EXPORT_FORMATS), default="all", help="what to write")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.add_argument("--calib-speech", nargs="+", metavar="DIR", help="speech folders: calibrate on their validation split")
    p.add_argument("--calib-noise", nargs="+", metavar="DIR", help="noise folders (with --calib-speech)")
    p.add_argument("--calib-items", type=int, default=32, help="calibration mixtures of 4 s (default 32)")
    p.add_argument("--ranges", choices=("clipped", "clipped-saturation", "minmax"), default="clipped",
                   help="int8 activation ranges: measured and clipped at the tails (default), the same with "
                        "sigmoid/tanh inputs limited to where their int8 output changes, or the converter's min/max")
    p.add_argument("--tail", type=float, default=1e-4, help="share of values left out on each side (default 1e-4)")


def _export_run(args: argparse.Namespace) -> int:
    from .export import STEP_MODELS, calibration_mixtures, calibration_trace, export_model, sample_mixtures
    from .model import build_model
    from .training import model_from_checkpoint

    if args.model not in STEP_MODELS:
        raise CLIError(f"Only the {' and '.join(STEP_MODELS)} models have a streaming step to export "
                       f"(not {args.model!r}).")
    if bool(args.calib_speech) != bool(args.calib_noise):
        raise CLIError("Pass both --calib-speech and --calib-noise, or neither (then the shipped clips are used).")
    if not args.verbose:
        from ._quiet import filtered_stderr

        with filtered_stderr():  # the exporter needs TensorFlow: load it here, its start-up lines filtered
            import tensorflow  # noqa: F401
    if args.checkpoint:  # the model as the checkpoint was trained (its --model-option settings)
        model, _ = model_from_checkpoint(args.checkpoint)
        if getattr(model, "cfg", None) is not None and model.cfg.name != args.model:
            raise CLIError(f"{args.checkpoint} holds a {model.cfg.name!r} model, not {args.model!r}: "
                           f"pass --model {model.cfg.name}.")
    else:
        model = build_model(args.model).eval()
    noisy = (calibration_mixtures(args.calib_speech, args.calib_noise, n=args.calib_items) if args.calib_speech
             else sample_mixtures())
    if not 0 <= args.tail < 0.5:
        raise CLIError(f"--tail must be in [0, 0.5), not {args.tail}.")
    report = export_model(model, args.out, calibration_trace(model, noisy), kinds=EXPORT_FORMATS[args.format],
                          ranges=args.ranges, tail=args.tail)
    for kind in EXPORT_FORMATS[args.format]:
        r = report[kind]
        print(f"{kind:8s} {r['bytes']:7d} bytes, {r['n_ops']} ops, SNR vs torch {r['snr_vs_torch_db']:.1f} dB, "
              f"TFLM arena {r.get('tflm_arena_bytes', 'n/a')} bytes")
    print(f"ONNX SNR vs torch {report['onnx_snr_db']:.1f} dB; report in {args.out}/report.json")
    return 0


# ---------------------------------------------------------------- deploy
def _deploy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=("esp32s3",), help="board family to generate a firmware project for")
    p.add_argument("--model", choices=MODEL_NAMES, default="micro", help="model preset (only micro has an int8 step)")
    p.add_argument("--tflite", metavar="PATH", default=None,
                   help="full-int8 step from `gtcrn-micro export` (default: the one shipped with the package)")
    p.add_argument("-o", "--out", required=True, metavar="DIR", help="folder for the ESP-IDF project (new or empty)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder, overwriting project files")


def _deploy_run(args: argparse.Namespace) -> int:
    from .deploy import generate_esp32s3_project

    project = generate_esp32s3_project(args.model, args.tflite, args.out, force=args.force)
    print(f"ESP-IDF project in {project.out_dir}: {len(project.files)} files, model {project.model_bytes} bytes, "
          f"{len(project.ops)} ops, arena {project.arena_bytes} bytes; "
          f"`make -C {project.out_dir}/host_test test`, then `idf.py set-target esp32s3 build flash monitor` there.")
    return 0


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "profile": ("count parameters and multiply-accumulates (MACs) of a model", _profile_args, _profile_run),
    "train": ("train a model on folders of speech and noise (resumes a killed run)", _train_args, _train_run),
    "enhance": ("enhance an audio file or a folder of audio files", _enhance_args, _enhance_run),
    "evaluate": ("score a model with PESQ-wb, STOI, SI-SNR (and DNSMOS) on folders of noisy and clean files",
                 _evaluate_args, _evaluate_run),
    "download-voicebank": ("download the VoiceBank-DEMAND test (or training) set and resample it to 16 kHz",
                           _download_args, _download_run),
    "export": ("export the streaming step to ONNX and float / int8 / 16x8 TFLite, checked against torch",
               _export_args, _export_run),
    "deploy": ("generate an ESP-IDF project (ESP32-S3) with the int8 model, its C audio path and a host test",
               _deploy_args, _deploy_run),
}


class _CommandParser(argparse.ArgumentParser):
    """A command's parser that adds its arguments the first time it parses or prints help.

    ``gtcrn-micro --help`` and ``gtcrn-micro enhance ...`` then never run the other commands'
    ``add_arguments`` (``train``'s come from the trainer, which imports torch).
    """

    def __init__(self, *args, add_arguments: Callable | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments

    def add_pending_arguments(self) -> None:
        if self._add_arguments is not None:
            add, self._add_arguments = self._add_arguments, None
            add(self)

    def parse_known_args(self, args=None, namespace=None):
        self.add_pending_arguments()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self.add_pending_arguments()
        return super().format_usage()

    def format_help(self) -> str:
        self.add_pending_arguments()
        return super().format_help()


def build_parser(lazy: bool = False) -> argparse.ArgumentParser:
    """The parser of every command; ``lazy``: add a command's arguments only when it is used (what ``main`` does)."""
    parser = argparse.ArgumentParser(
        prog="gtcrn-micro",
        description="GTCRN speech enhancement for microcontrollers: profile, train, enhance, evaluate, export, deploy.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_CommandParser)
    sub.required = True
    for name, (help_text, add_args, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, add_arguments=add_args)
        p.add_argument("--verbose", action="store_true",
                       help="also show what TensorFlow and other libraries log (CUDA, absl, deprecation warnings)")
        p.set_defaults(_run=run)
        if not lazy:
            p.add_pending_arguments()
    return parser


def _one_line(err: BaseException) -> str:
    """The first line of an error's message (a library's message can run to several)."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(lazy=True)
    args = parser.parse_args(argv)
    if not args.verbose:
        from ._quiet import quiet_environment

        quiet_environment()  # before anything imports TensorFlow
    try:
        with warnings.catch_warnings():
            if not args.verbose:
                from ._quiet import ignore_known_warnings

                ignore_known_warnings()
            return int(args._run(args) or 0)
    except (CLIError, ValueError, OSError) as err:  # OSError: missing files, permissions, a full disk
        print(f"gtcrn-micro {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
