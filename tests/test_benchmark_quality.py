"""scripts/benchmark_quality.py on generated pairs with an untrained checkpoint (the plumbing, not the numbers)."""

import csv
import importlib.util
from pathlib import Path

import pytest

from tests.inference._fixtures import make_checkpoint, make_pairs, single_thread  # noqa: F401  (autouse fixture)

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_csv_and_md_with_the_command(bench, tmp_path, capsys):
    noisy, clean = make_pairs(tmp_path / "data", n=3, seconds=1.0)
    ckpt = make_checkpoint(tmp_path / "micro.pt")
    out = tmp_path / "bench"
    argv = ["--noisy", str(noisy), "--clean", str(clean), "--out", str(out), "--models", "micro",
            "--checkpoint", f"micro={ckpt}", "--limit", "2", "--no-progress"]
    assert bench.main(argv) == 0
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["backend"], r["n"]) for r in rows] == [("noisy input", "-", "2"), ("micro", "torch", "2")]
    assert list(rows[0]) == ["model", "backend", "checkpoint", "n", "pesq", "stoi", "si_snr", "realtime_factor"]
    assert float(rows[0]["stoi"]) > 0 and float(rows[1]["pesq"]) >= 1.0
    md = (out / "results.md").read_text()
    assert "python scripts/benchmark_quality.py --noisy" in md and "--limit 2" in md
    assert "- Date: 20" in md and "| noisy input | - |" in md and "reporting only" in md
    assert (out / "noisy.json").exists() and (out / "micro-torch.json").exists()


def test_unavailable_backend_fails_before_any_scoring(bench, tmp_path, capsys):
    noisy, clean = make_pairs(tmp_path / "data", n=1, seconds=0.5)
    ckpt = make_checkpoint(tmp_path / "micro.pt")
    argv = ["--noisy", str(noisy), "--clean", str(clean), "--out", str(tmp_path / "bench"), "--models", "micro",
            "--backends", "torch", "onnx", "--checkpoint", f"micro={ckpt}"]
    assert bench.main(argv) == 2
    assert "Unknown backend 'onnx'" in capsys.readouterr().err
    assert not (tmp_path / "bench").exists()


def test_merge_keeps_earlier_rows_and_their_commands(bench, tmp_path, capsys):
    noisy, clean = make_pairs(tmp_path / "data", n=2, seconds=1.0)
    ckpt = make_checkpoint(tmp_path / "micro.pt")
    out = tmp_path / "bench"
    base = ["--noisy", str(noisy), "--clean", str(clean), "--out", str(out), "--models", "micro",
            "--checkpoint", f"micro={ckpt}", "--no-progress"]
    assert bench.main(base + ["--backends", "stream"]) == 0
    first = (out / "noisy.json").stat().st_mtime_ns
    assert bench.main(base + ["--backends", "torch", "--merge"]) == 0
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["model"], r["backend"]) for r in rows] == [("noisy input", "-"), ("micro", "torch"), ("micro", "stream")]
    assert (out / "noisy.json").stat().st_mtime_ns == first  # the noisy row was kept, not scored again
    md = (out / "results.md").read_text()
    assert md.count("- Command: `python scripts/benchmark_quality.py") == 2 and "--merge" in md
    assert rows[1]["checkpoint"] == str(ckpt)  # outside the repository: shown as given
    # a merge over another number of pairs is refused before scoring, rather than mixed into one table
    scored = (out / "micro-torch.json").stat().st_mtime_ns
    assert bench.main(base + ["--backends", "torch", "--merge", "--limit", "1"]) == 2
    assert "mix rows over [2] and 1 files" in capsys.readouterr().err
    assert (out / "micro-torch.json").stat().st_mtime_ns == scored
    with pytest.raises(SystemExit, match="mix rows over"):  # the table writer keeps its own check
        bench.merge_rows([{"model": "micro", "backend": "torch", "n": 2}], [{"model": "micro", "backend": "stream", "n": 1}])


def test_checkpoints_inside_the_repository_are_shown_relative(bench):
    inside = bench.REPO / "gtcrn_micro" / "checkpoints" / "micro.pt"
    assert bench._shown_path(str(inside)) == "gtcrn_micro/checkpoints/micro.pt"
    assert bench._shown_path(None) == "-"


def test_command_log_lists_each_command_once_in_the_order_of_its_last_run(bench):
    assert bench.command_log(["a", "b", "a", "c"], "b") == ["a", "c", "b"]
    assert bench.command_log([], "x") == ["x"]
    assert bench.command_log(["x", "x"], "x") == ["x"]
