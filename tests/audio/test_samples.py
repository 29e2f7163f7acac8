import importlib.util
import re
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gtcrn_micro.audio.samples import list_samples, load_sample

SAMPLES = resources.files("gtcrn_micro") / "assets" / "samples"
REPO = Path(__file__).resolve().parents[2]


def test_three_speech_and_three_noise_clips():
    assert len(list_samples("speech")) == 3 and len(list_samples("noise")) == 3
    assert sorted(list_samples("speech") + list_samples("noise")) == list_samples()


@pytest.mark.parametrize("name", ["speech_en_1", "speech_en_2", "speech_hsb", "noise_wind", "noise_birds", "noise_tap"])
def test_clip_is_usable(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no resampling, no silence, no clipping notice
        wav = load_sample(name)
    seconds = len(wav) / 16_000
    assert wav.dtype == np.float32 and wav.ndim == 1
    assert (2.5 <= seconds <= 3.5) if name.startswith("speech") else (3.9 <= seconds <= 4.1)
    assert 10 * np.log10(np.mean(wav.astype(np.float64) ** 2)) > -60  # not silent
    info = sf.info(str(SAMPLES / f"{name}.flac"))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (16_000, 1, "PCM_16", "FLAC")


def test_found_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_sample("noise_tap.flac").shape == (64_000,)


def test_unknown_names_and_kinds_are_explained():
    with pytest.raises(ValueError, match="no sample named 'speech'; choose one of noise_birds"):
        load_sample("speech")
    with pytest.raises(ValueError, match="kind 'clean' is unknown; use one of speech, noise"):
        list_samples("clean")


def test_total_size_and_sources():
    files = [p for p in SAMPLES.iterdir() if p.name.endswith(".flac")]
    assert sum(len(p.read_bytes()) for p in files) < 500_000
    sources = (SAMPLES / "SOURCES.md").read_text()
    rows = [line for line in sources.splitlines() if line.startswith("| `")]
    assert sorted(re.findall(r"^\| `([^`]+)`", "\n".join(rows), re.M)) == sorted(p.name for p in files)
    for row in rows:
        assert re.search(r"picovoice_s2i/.*Apache-2\.0|commonvoice_hsb/.*CC0|blanket/.*\| CC0 \||speechcommands_bg/.*CC BY 4\.0", row), row


def _make_samples_module():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "scripts" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_data_dir(root: Path, make_samples, license_overrides=None) -> None:
    """A tiny stand-in for the development data: index.csv plus synthetic clips."""
    rng = np.random.default_rng(0)
    rows = ["kind,source,repo,raw_path,out,license,orig_sr,dur_s,note"]
    licenses = {"picovoice_s2i": "Apache-2.0 (x)", "commonvoice_hsb": "CC0 (x)", "blanket": "CC0", "speechcommands_bg": "CC BY 4.0 (x)"}
    licenses.update(license_overrides or {})
    for name, rel in make_samples.CLIPS.items():
        source = rel.split("/")[1]
        if name.startswith("speech"):  # 1 s of silence, then 4 s of "speech" bursts
            t = np.arange(64_000) / 16_000
            voiced = 0.3 * np.sin(2 * np.pi * 200 * t) * (np.sin(2 * np.pi * 3 * t) > -0.5)
            wav = np.concatenate([np.zeros(16_000), voiced, np.zeros(8000)])
        else:
            wav = 0.05 * rng.standard_normal(16_000 * 10)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(root / rel), wav.astype(np.float32), 16_000, subtype="PCM_16")
        rows.append(f"{rel.split('/')[0]},{source},Owner+repo,raw/{name}.wav,{rel},{licenses[source]},16000,9,x")
    (root / "index.csv").write_text("\n".join(rows) + "\n")


def test_make_samples_script_cuts_voiced_regions(tmp_path):
    make_samples = _make_samples_module()
    _fake_data_dir(tmp_path / "data", make_samples)
    out = tmp_path / "out"
    assert make_samples.main([str(tmp_path / "data"), "--out", str(out)]) == 0
    speech, _ = sf.read(str(out / "speech_en_1.flac"))
    assert 2.6 <= len(speech) / 16_000 <= 3.4
    assert np.max(np.abs(speech[: int(0.25 * 16_000)])) > 0.1  # starts right before the voice
    assert len(sf.read(str(out / "noise_wind.flac"))[0]) == 64_000
    assert "Owner/repo: `raw/noise_tap.wav`" in (out / "SOURCES.md").read_text()


def test_make_samples_script_refuses_other_licenses(tmp_path):
    make_samples = _make_samples_module()
    _fake_data_dir(tmp_path / "data", make_samples, {"blanket": "CC BY"})
    with pytest.raises(SystemExit, match="license 'CC BY' is not allowed"):
        make_samples.main([str(tmp_path / "data"), "--out", str(tmp_path / "out")])


def test_samples_dir_is_the_folder_of_the_shipped_clips():
    from gtcrn_micro.audio.samples import samples_dir

    folder = samples_dir()
    assert folder.is_dir() and folder.name == "samples"
    assert sorted(p.stem for p in folder.glob("*.flac")) == list_samples()
