"""Quality benchmark: every model x backend on a paired test set -> results.csv and results.md.

    python scripts/benchmark_quality.py --noisy DIR --clean DIR --out benchmarks/quality \\
        [--models micro gtcrn] [--backends torch ...] [--checkpoint micro=PATH ...] [--limit N] [--dnsmos] [--merge]

One row for the noisy input, then one per model and backend, each from
:func:`gtcrn_micro.inference.evaluate_pairs`: mean PESQ-wb, STOI, SI-SNR (and DNSMOS OVRL with
``--dnsmos``), and model time / audio time. ``results.md`` records the exact command line and the
date; one JSON file per row keeps the per-file scores. ``--merge`` keeps the rows of an earlier
run in the same ``--out`` for the models and backends not run this time (the noisy row included,
which is then not scored again), so slow rows can be run one at a time or side by side. Every
enhancer is loaded before any scoring starts, so a missing checkpoint or backend fails in seconds,
not after an hour.

On VoiceBank-DEMAND this is a report: never choose checkpoints or settings from its numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

from gtcrn_micro import __version__
from gtcrn_micro.config import MODEL_NAMES
from gtcrn_micro.data import paired_files
from gtcrn_micro.inference import NO_MODEL, evaluate_pairs, json_safe, load_enhancer

REPO = Path(__file__).resolve().parents[1]

COLUMNS = ("model", "backend", "checkpoint", "n", "pesq", "stoi", "si_snr", "dnsmos_ovrl", "realtime_factor")
PUBLISHED_VBD = (  # Rong et al., ICASSP 2024, VoiceBank-DEMAND test set (824 files)
    "Published on the VoiceBank-DEMAND test set (Rong et al., ICASSP 2024): noisy PESQ-wb 1.97 / "
    "STOI 0.921 / SI-SNR 8.45 dB; GTCRN 2.87 / 0.940 / 18.83 dB."
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--noisy", required=True, metavar="DIR", help="folder of noisy files")
    p.add_argument("--clean", required=True, metavar="DIR", help="folder of clean files with the same names")
    p.add_argument("--out", default="benchmarks/quality", metavar="DIR", help="where results.csv/.md go")
    p.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES), help="models to run")
    p.add_argument("--backends", nargs="+", default=["torch"], help="backends to run each model with")
    p.add_argument("--checkpoint", nargs="*", default=[], metavar="MODEL=PATH",
                   help="checkpoint per model (default: the shipped gtcrn_micro/checkpoints/MODEL.pt)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N pairs")
    p.add_argument("--dnsmos", action="store_true", help="add DNSMOS OVRL (slower)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--merge", action="store_true",
                   help="keep the earlier rows in --out for models/backends not run now (and its noisy row)")
    return p


def _checkpoints(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        model, sep, path = item.partition("=")
        if not sep or model not in MODEL_NAMES:
            raise SystemExit(f"benchmark_quality: error: --checkpoint {item!r} must look like MODEL=PATH with "
                             f"MODEL one of {', '.join(MODEL_NAMES)}.")
        out[model] = path
    return out


def _shown_path(path: str | None) -> str:
    """A checkpoint path as the table shows it: relative to the repository when inside it."""
    if not path:
        return "-"
    try:
        return Path(path).resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def row_from(result: dict) -> dict:
    """One table row from an :func:`evaluate_pairs` result (the noisy row reads the noisy scores)."""
    means = result["means"]
    noisy = result["model"] == NO_MODEL
    prefix = "noisy_" if noisy else "enh_"
    return {
        "model": "noisy input" if noisy else result["model"],
        "backend": "-" if noisy else result["backend"],
        "checkpoint": _shown_path(result["checkpoint"]),
        "n": result["n"],
        "pesq": means[prefix + "pesq"],
        "stoi": means[prefix + "stoi"],
        "si_snr": means[prefix + "si_snr"],
        "dnsmos_ovrl": means.get("enh_dnsmos_ovrl"),  # for the pass-through, enh_ is the noisy audio
        "realtime_factor": None if noisy else result["realtime_factor"],
    }


def _fmt(key: str, value) -> str:
    if value is None:
        return "-"
    if key in ("pesq", "stoi", "dnsmos_ovrl"):
        return f"{value:.3f}"
    if key == "si_snr":
        return f"{value:.2f}"
    if key == "realtime_factor":
        return f"{value:.4f}"
    return str(value)


def earlier_results(out: Path) -> tuple[list[dict], list[str]]:
    """Rows of ``out/results.csv`` (numbers parsed) and the commands that wrote them, or ``([], [])``."""
    if not (out / "results.csv").exists():
        return [], []
    with open(out / "results.csv") as f:
        rows = [{k: _parse(k, v) for k, v in r.items()} for r in csv.DictReader(f)]
    meta = out / "commands.json"
    return rows, json.loads(meta.read_text()) if meta.exists() else ["(not recorded)"]


def _parse(key: str, value: str):
    if key in ("model", "backend", "checkpoint"):
        return value
    if value == "":
        return None
    return int(value) if key == "n" else float(value)


def merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """``new`` plus the ``old`` rows of other (model, backend) pairs: noisy first, then models in order."""
    done = {(r["model"], r["backend"]) for r in new}
    rows = [r for r in old if (r["model"], r["backend"]) not in done] + new
    counts = {r["n"] for r in rows}
    if len(counts) > 1:
        raise SystemExit(f"benchmark_quality: error: --merge would mix rows over {sorted(counts)} files; "
                         "rerun every row on the same pairs (without --merge).")
    order = ["noisy input", *MODEL_NAMES]
    return sorted(rows, key=lambda r: (order.index(r["model"]) if r["model"] in order else 99, r["backend"] != "torch"))


def command_log(old: list[str], command: str) -> list[str]:
    """The commands behind the table, each once, in the order of their last run (``command`` last)."""
    seen = [c for c in dict.fromkeys(reversed(old)) if c != command]
    return [*reversed(seen), command]


def write_results(rows: list[dict], out: Path, commands: list[str], args: argparse.Namespace) -> None:
    """``results.csv`` (all columns, full precision), ``results.md`` (a table, the commands, the date)
    and ``commands.json`` (the commands that made the rows)."""
    cols = [c for c in COLUMNS if c != "dnsmos_ovrl" or args.dnsmos or any(r.get("dnsmos_ovrl") for r in rows)]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    heads = {"model": "model", "backend": "backend", "checkpoint": "checkpoint", "n": "n", "pesq": "PESQ-wb",
             "stoi": "STOI", "si_snr": "SI-SNR (dB)", "dnsmos_ovrl": "DNSMOS OVRL",
             "realtime_factor": "model time / audio time"}
    lines = [
        "# Speech quality benchmark",
        "",
        "Generated by `scripts/benchmark_quality.py`; do not edit by hand.",
        "",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        *[f"- Command: `{c}`" for c in commands],
        f"- Data: noisy `{args.noisy}`, clean `{args.clean}`, {rows[0]['n']} pairs",
        f"- Package: gtcrn_micro {__version__}; torch threads: {args.threads}",
        "",
        "| " + " | ".join(heads[c] for c in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    lines += ["| " + " | ".join(_fmt(c, r[c]) for c in cols) + " |" for r in rows]
    lines += [
        "",
        "Means over the files (PESQ-wb leaves out files where PESQ finds no speech). Model time / audio "
        "time is measured on the machine that ran the command, with other work possibly running.",
        "",
        PUBLISHED_VBD,
        "",
        "The VoiceBank-DEMAND test set is for reporting only: no checkpoint, hyper-parameter or "
        "calibration choice is made from these numbers.",
        "",
    ]
    (out / "results.md").write_text("\n".join(lines))
    (out / "commands.json").write_text(json.dumps(commands, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    checkpoints = _checkpoints(args.checkpoint)
    out = Path(args.out)
    old_rows, old_commands = earlier_results(out) if args.merge else ([], [])
    has_noisy = any(r["model"] == "noisy input" for r in old_rows)
    if old_rows:  # refuse a merge over another number of pairs now, not after hours of scoring
        try:
            n_new = len(paired_files(args.noisy, args.clean))
        except (ValueError, FileNotFoundError) as err:
            print(f"benchmark_quality: error: {err}", file=sys.stderr)
            return 2
        n_new = min(n_new, args.limit) if args.limit else n_new
        if {r["n"] for r in old_rows} != {n_new}:
            print(f"benchmark_quality: error: --merge would mix rows over {sorted({r['n'] for r in old_rows})} "
                  f"and {n_new} files; rerun every row on the same pairs (without --merge).", file=sys.stderr)
            return 2
    try:  # load everything first: a missing checkpoint or backend fails now, before hours of scoring
        enhancers = [] if has_noisy else [load_enhancer(NO_MODEL)]
        enhancers += [load_enhancer(m, checkpoints.get(m), b) for m in args.models for b in args.backends]
    except (ValueError, FileNotFoundError) as err:
        print(f"benchmark_quality: error: {err}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for enhancer in enhancers:
        result = evaluate_pairs(args.noisy, args.clean, enhancer, limit=args.limit, dnsmos=args.dnsmos,
                                progress=not args.no_progress)
        name = "noisy" if enhancer.model == NO_MODEL else f"{enhancer.model}-{enhancer.backend}"
        (out / f"{name}.json").write_text(json.dumps(json_safe(result), indent=1))
        rows.append(row_from(result))
        print(" ".join(f"{c}={_fmt(c, rows[-1][c])}" for c in COLUMNS if c != "checkpoint"), flush=True)
    command = "python scripts/benchmark_quality.py " + shlex.join(argv)
    if args.merge:  # re-read: another --merge run may have written its rows meanwhile
        old_rows, old_commands = earlier_results(out)
    rows = merge_rows(old_rows, rows) if old_rows else rows
    write_results(rows, out, command_log(old_commands, command), args)
    print(f"wrote {out / 'results.csv'} and {out / 'results.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
