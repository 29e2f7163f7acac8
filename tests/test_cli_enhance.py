"""The enhance, evaluate and download-voicebank commands: files in, files out, errors as one sentence."""

import io
import json
import zipfile

import numpy as np
import pytest
import soundfile as sf

import gtcrn_micro.inference.enhancer as enhancer_mod
from gtcrn_micro.cli import main
from tests.conftest import speech_like
from tests.inference._fixtures import make_checkpoint, make_pairs, single_thread  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(make_checkpoint(tmp_path_factory.mktemp("ckpt") / "micro.pt"))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("pairs"), n=2, seconds=1.0)


def one_error_line(capsys, command):
    """Exactly one line on stderr: 'gtcrn-micro COMMAND: error: ...', no traceback."""
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err.startswith(f"gtcrn-micro {command}: error:") and "Traceback" not in err
    return err


def test_enhance_a_stereo_44k_file(tmp_path, ckpt, capsys):
    src = tmp_path / "talk.wav"
    wav = speech_like(np.random.default_rng(0), 0.5, 44_100)
    sf.write(str(src), np.stack([wav, 0.5 * wav], 1), 44_100)
    assert main(["enhance", str(src), "-o", str(tmp_path / "talk_enh.wav"), "--checkpoint", ckpt]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "talk.wav -> " in out
    assert "2 channels averaged to mono" in err and "resampled 44100 Hz -> 16000 Hz" in err
    enh, rate = sf.read(str(tmp_path / "talk_enh.wav"))
    assert rate == 16_000 and enh.shape == (8000,) and np.isfinite(enh).all()


def test_enhance_a_folder(tmp_path, ckpt, pairs, capsys):
    noisy, _ = pairs
    out_dir = tmp_path / "new" / "enhanced"
    assert main(["enhance", str(noisy), "-o", str(out_dir), "--checkpoint", ckpt]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert sorted(p.name for p in out_dir.iterdir()) == ["p000.wav", "p001.wav"]
    for name in ("p000.wav", "p001.wav"):
        assert sf.info(str(out_dir / name)).frames == sf.info(str(noisy / name)).frames


def test_enhance_refuses_to_write_over_its_input(tmp_path, ckpt, pairs, capsys):
    noisy, _ = pairs
    before = {p.name: p.read_bytes() for p in noisy.iterdir()}
    assert main(["enhance", str(noisy), "-o", str(noisy), "--checkpoint", ckpt]) == 2
    assert "input folder itself" in one_error_line(capsys, "enhance")
    src = noisy / "p000.wav"
    assert main(["enhance", str(src), "-o", str(src), "--checkpoint", ckpt]) == 2
    assert "input file itself" in one_error_line(capsys, "enhance")
    assert {p.name: p.read_bytes() for p in noisy.iterdir()} == before


@pytest.mark.parametrize("kind, match", [("nan", "NaN"), ("empty", "empty file"), ("corrupt", "cannot be read")])
def test_bad_input_file_is_one_sentence(tmp_path, ckpt, capsys, kind, match):
    src = tmp_path / f"{kind}.wav"
    if kind == "nan":
        sf.write(str(src), np.array([0.1, np.nan] * 800, np.float32), 16_000, subtype="FLOAT")
    elif kind == "empty":
        src.write_bytes(b"")
    else:
        src.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10)
    assert main(["enhance", str(src), "-o", str(tmp_path / "out.wav"), "--checkpoint", ckpt]) == 2
    assert match in one_error_line(capsys, "enhance")
    assert not (tmp_path / "out.wav").exists()


def test_a_bad_file_in_a_folder_is_reported_and_the_rest_written(tmp_path, ckpt, capsys):
    inp = tmp_path / "in"
    inp.mkdir()
    sf.write(str(inp / "good.wav"), speech_like(np.random.default_rng(1), 0.3), 16_000)
    (inp / "bad.wav").write_bytes(b"")
    assert main(["enhance", str(inp), "-o", str(tmp_path / "out"), "--checkpoint", ckpt]) == 2
    out, err = capsys.readouterr()
    assert out.strip().splitlines() == [l for l in out.strip().splitlines() if "good.wav ->" in l]  # results only
    assert "bad.wav" in err and "error:" in err and "bad.wav" not in out  # per-file errors go to stderr
    assert "1 of 2 files could not be enhanced" in err and (tmp_path / "out" / "good.wav").exists()


def test_a_silent_file_is_noted_once(tmp_path, ckpt, capsys):
    src = tmp_path / "silent.wav"
    sf.write(str(src), np.zeros(16_000, np.float32), 16_000)
    assert main(["enhance", str(src), "-o", str(tmp_path / "out.wav"), "--checkpoint", ckpt]) == 0
    out, err = capsys.readouterr()
    assert out.count("\n") == 1 and "silent.wav -> " in out
    assert err.count("is silent") == 1 and err.count("\n") == 1, err


def test_corrupt_checkpoint_is_one_sentence(tmp_path, pairs, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x80\x02 definitely not torch")
    assert main(["enhance", str(pairs[0]), "-o", str(tmp_path / "out"), "--checkpoint", str(bad)]) == 2
    assert "corrupted" in one_error_line(capsys, "enhance")


def test_missing_shipped_checkpoint_is_one_sentence(tmp_path, pairs, capsys, monkeypatch):
    monkeypatch.setattr(enhancer_mod, "_shipped_dir", lambda: tmp_path)
    assert main(["enhance", str(pairs[0]), "-o", str(tmp_path / "out")]) == 2
    assert "gtcrn-micro train --model micro" in one_error_line(capsys, "enhance")


def test_tflite_backend_with_a_torch_checkpoint_is_one_sentence(tmp_path, pairs, ckpt, capsys):
    assert main(["enhance", str(pairs[0]), "-o", str(tmp_path / "o"), "--checkpoint", ckpt, "--backend", "tflite-int8"]) == 2
    assert "needs a .tflite file" in one_error_line(capsys, "enhance")


def test_evaluate_writes_json(tmp_path, ckpt, pairs, capsys):
    noisy, clean = pairs
    report = tmp_path / "scores" / "micro.json"
    code = main(["evaluate", "--noisy", str(noisy), "--clean", str(clean), "--checkpoint", ckpt,
                 "--limit", "1", "--json", str(report), "--no-progress"])
    assert code == 0
    out = capsys.readouterr().out
    assert "noisy input" in out and "enhanced (micro/torch)" in out
    result = json.loads(report.read_text())
    assert {"model", "backend", "checkpoint", "n", "means", "files", "realtime_factor", "notices"} <= set(result)
    assert result["n"] == 1 and set(result["files"][0]) >= {"name", "noisy_pesq", "enh_pesq", "enh_stoi", "enh_si_snr"}


def test_evaluate_the_noisy_input_alone(pairs, capsys):
    noisy, clean = pairs
    assert main(["evaluate", "--noisy", str(noisy), "--clean", str(clean), "--model", "none", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "noisy input" in out and "enhanced" not in out


def test_evaluate_pairing_error_names_the_files(tmp_path, pairs, ckpt, capsys):
    noisy, _ = pairs
    clean = tmp_path / "clean"
    clean.mkdir()
    sf.write(str(clean / "p000.wav"), np.zeros(160), 16_000)
    sf.write(str(clean / "other.wav"), np.zeros(160), 16_000)
    assert main(["evaluate", "--noisy", str(noisy), "--clean", str(clean), "--checkpoint", ckpt]) == 2
    err = one_error_line(capsys, "evaluate")
    assert "p001" in err and "other" in err


def test_download_voicebank_from_local_archives(tmp_path, capsys):
    urls = {}
    for kind in ("noisy", "clean"):
        urls[kind] = tmp_path / f"{kind}.zip"
        with zipfile.ZipFile(urls[kind], "w") as zf:
            buf = io.BytesIO()
            sf.write(buf, np.full(4800, 0.1, np.float32), 48_000, format="WAV")
            zf.writestr(f"{kind}_testset_wav/p232_001.wav", buf.getvalue())
    dest = tmp_path / "vbd"
    args = ["download-voicebank", str(dest), "--noisy-url", urls["noisy"].as_uri(), "--clean-url", str(urls["clean"])]
    assert main(args) == 0
    assert "reporting only" in capsys.readouterr().out
    assert sf.info(str(dest / "clean" / "p232_001.flac")).frames == 1600
    train = tmp_path / "vbd_train"
    assert main(["download-voicebank", str(train), "--split", "train", "--noisy-url", str(urls["noisy"]),
                 "--clean-url", str(urls["clean"])]) == 0
    assert f"gtcrn-micro train --speech {train / 'clean'}" in capsys.readouterr().out
