"""Command-line interface: ``gtcrn-micro COMMAND`` (or ``python -m gtcrn_micro COMMAND``).

Each command is a thin layer over an importable function; ``COMMANDS`` maps a name to a pair
``(add_arguments, run)`` so later stages (train, enhance, evaluate, export, deploy) slot in by
adding one entry.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from .config import MODEL_NAMES

__all__ = ["main", "build_parser"]


class CLIError(Exception):
    """An error meant for the person at the terminal: printed as one sentence, exit code 2."""


# ---------------------------------------------------------------- profile
def _profile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", choices=MODEL_NAMES, default="gtcrn", help="model preset to profile")
    p.add_argument("--json", action="store_true", help="end with one line of JSON (params, macs_per_second, blocks)")


def _profile_run(args: argparse.Namespace) -> int:
    from .model import build_model, profile_model

    model = build_model(args.model)
    report = profile_model(model)
    print(report.table())
    if args.json:
        print(json.dumps(report.to_dict()))
    return 0


# ---------------------------------------------------------------- train
def _train_args(p: argparse.ArgumentParser) -> None:
    from .training.trainer import add_cli_arguments

    add_cli_arguments(p)


def _train_run(args: argparse.Namespace) -> int:
    from .training.trainer import config_from_args, train

    history = train(config_from_args(args))
    if history:
        best = max(history, key=lambda h: h["val_pesq"])
        print(f"best validation PESQ {best['val_pesq']:.3f} at epoch {best['epoch']}; checkpoints in {args.out}")
    return 0


COMMANDS: dict[str, tuple[str, Callable, Callable]] = {
    "profile": ("count parameters and multiply-accumulates (MACs) of a model", _profile_args, _profile_run),
    "train": ("train a model on folders of speech and noise (resumes a killed run)", _train_args, _train_run),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtcrn-micro",
        description="GTCRN speech enhancement for microcontrollers: profile, train, enhance, evaluate, export, deploy.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_text, add_args, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except (CLIError, ValueError, FileNotFoundError) as err:
        print(f"gtcrn-micro {args.command}: error: {err}", file=sys.stderr)
        return 2
