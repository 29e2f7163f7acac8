"""Checkpoints compared pair by pair on a run's validation mixtures (gtcrn_micro.training.compare)."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import gtcrn_micro.training.trainer as trainer
from gtcrn_micro.training import PRESETS, TrainConfig, train
from gtcrn_micro.training.compare import compare_at_snrs, compare_on_validation

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_checkpoints.py"


@pytest.fixture(scope="module")
def run(corpus_dirs, tmp_path_factory):
    speech, noise = corpus_dirs
    out = tmp_path_factory.mktemp("run_cmp")
    cfg = TrainConfig(**(dict(PRESETS["cpu-tiny"]) | dict(epochs=2, steps_per_epoch=3, checkpoint_every=3,
                                                           val_items=3, val_seconds=1.0)),
                      model="micro", speech_dirs=[str(speech)], noise_dirs=[str(noise)], out_dir=str(out),
                      progress=False, threads=1)
    train(cfg)
    return cfg, out


def test_a_checkpoint_against_itself_differs_by_nothing_and_others_by_their_scores(run):
    cfg, out = run
    result = compare_on_validation(cfg, {"a": out / "last.pt", "same": out / "last.pt", "b": out / "best.pt"})
    first, same, other = result["rows"]
    assert result["items"] == 3 and "diff" not in first
    assert same["diff"] == 0 and same["se"] == 0 and same["n"] == 3 and same["mean"] == first["mean"]
    per = result["per_item"]
    finite = [(b - a) for a, b in zip(per["a"], per["b"]) if a == a and b == b]
    assert other["diff"] == pytest.approx(sum(finite) / len(finite))
    assert other["mean"] == pytest.approx(sum(v for v in per["b"] if v == v) / len([v for v in per["b"] if v == v]))


def test_by_folder_splits_the_mixtures_by_their_speech_folder(run, corpus_dirs, tmp_path):
    cfg, out = run
    speech, _ = corpus_dirs
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for i, f in enumerate(sorted(speech.iterdir())):  # copies: a folder is found by the file's real path
        (a if i % 2 else b).joinpath(f.name).write_bytes(f.read_bytes())
    two = TrainConfig(**{**cfg.__dict__, "speech_dirs": [str(a), str(b)], "val_items": 8})
    result = compare_on_validation(two, {"last": out / "last.pt", "best": out / "best.pt"})
    groups = result["by_folder"]
    assert sum(g["items"] for g in groups) == 8 and {g["folder"] for g in groups} <= {str(a), str(b)}
    _, val_set, _ = trainer.build_datasets(two)
    for g in groups:
        items = [i for i in range(8) if val_set.speech.files[val_set.item_info(i)["speech_index"]].parent == Path(g["folder"])]
        assert len(items) == g["items"]
        mean_best = np.nanmean([result["per_item"]["best"][i] for i in items])
        assert g["rows"][1]["mean"] == pytest.approx(mean_best)


def test_bad_requests_are_clear_errors(run):
    cfg, out = run
    with pytest.raises(ValueError, match="at least two"):
        compare_on_validation(cfg, {"a": out / "last.pt"})
    with pytest.raises(ValueError, match="metric"):
        compare_on_validation(cfg, {"a": out / "last.pt", "b": out / "best.pt"}, metric="mos")


def test_script_writes_markdown_and_json(run, tmp_path, capsys):
    _, out = run
    spec = importlib.util.spec_from_file_location("compare_checkpoints", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    md = tmp_path / "cmp.md"
    argv = ["--run", str(out), "--checkpoint", f"last={out / 'last.pt'}", "--checkpoint", f"best={out / 'best.pt'}",
            "--metric", "stoi", "--out", str(md)]
    assert script.main(argv) == 0
    text = md.read_text()
    assert "| last |" in text and "| best |" in text and "mean STOI" in text and "compare_checkpoints.py" in text
    assert "## By speech folder" in text and "best - last (SE)" in text
    assert json.loads(md.with_suffix(".json").read_text())["metric"] == "stoi"
    assert script.main(["--run", str(tmp_path), "--checkpoint", "a=x", "--checkpoint", "b=y", "--out", str(md)]) == 2
    assert "train_config.json" in capsys.readouterr().err
    assert script.main(["--run", str(out), "--checkpoint", "nothing", "--out", str(md)]) == 2
    assert "NAME=PATH" in capsys.readouterr().err


def test_fixed_snrs_mix_the_same_excerpts_at_each_snr(run):
    cfg, out = run
    result = compare_at_snrs(cfg, {"last": out / "last.pt"}, [0.0, 100.0], items=2)
    low, clean = result["rows"]
    assert (low["snr_db"], clean["snr_db"], result["items"]) == (0.0, 100.0, 2)
    assert abs(low["input"]["si_snr"]) < 1.5  # the noisy input's SI-SNR is about the SNR it was mixed at
    assert clean["input"]["si_snr"] > 90 and clean["input"]["stoi"] > 0.999
    assert set(low["last"]) == {"pesq", "stoi", "si_snr"} and clean["last"]["si_snr"] < clean["input"]["si_snr"]
    with pytest.raises(ValueError, match="SNR"):
        compare_at_snrs(cfg, {"last": out / "last.pt"}, [])


def test_script_tables_fixed_snrs(run, tmp_path):
    _, out = run
    spec = importlib.util.spec_from_file_location("compare_checkpoints", SCRIPT)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    md = tmp_path / "snr.md"
    argv = ["--run", str(out), "--checkpoint", f"last={out / 'last.pt'}", "--snr", "5", "100", "--items", "2",
            "--out", str(md)]
    assert script.main(argv) == 0
    text = md.read_text()
    assert "| 5 | PESQ-wb |" in text and "| 100 | SI-SNR (dB) |" in text and "| last |" in text
    assert [r["snr_db"] for r in json.loads(md.with_suffix(".json").read_text())["rows"]] == [5.0, 100.0]


def test_noisy_input_row_and_snr_bands_with_clean_speech(run):
    cfg, out = run
    wide = TrainConfig(**{**cfg.__dict__, "val_items": 6, "val_snr_max": 40.0, "val_clean_share": 0.5})
    result = compare_on_validation(wide, {"noisy": "none", "last": out / "last.pt"}, metric="si_snr")
    from gtcrn_micro.data.splits import snr_band_order

    bands = [g["snr"] for g in result["by_snr"]]
    assert sum(g["items"] for g in result["by_snr"]) == 6 and bands == [b for b in snr_band_order() if b in bands]
    clean = next(g for g in result["by_snr"] if g["snr"] == "clean")
    assert clean["rows"][0]["mean"] > 60  # clean speech in: the input is the target
