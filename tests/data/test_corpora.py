import io
import zipfile

import numpy as np
import pytest
import soundfile as sf

from gtcrn_micro.data import VBD_TEST_URLS, VBD_TRAIN_URLS, download_voicebank, paired_files


def _touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        sf.write(str(folder / name), np.zeros(160, np.float32), 16_000)


def test_pairs_match_by_name_whatever_the_extension(tmp_path):
    _touch(tmp_path / "noisy", "b.wav", "a.wav")
    _touch(tmp_path / "clean", "a.flac", "b.wav")
    pairs = paired_files(tmp_path / "noisy", tmp_path / "clean")
    assert [(n, p.name, c.name) for n, p, c in pairs] == [("a", "a.wav", "a.flac"), ("b", "b.wav", "b.wav")]


def test_unmatched_names_are_listed(tmp_path):
    _touch(tmp_path / "noisy", *[f"n{i}.wav" for i in range(8)], "both.wav")
    _touch(tmp_path / "clean", "both.wav", "lonely.wav")
    with pytest.raises(ValueError) as err:
        paired_files(tmp_path / "noisy", tmp_path / "clean")
    msg = str(err.value)
    assert "8 noisy file(s)" in msg and "n0, n1, n2, n3, n4 and 3 more" in msg and "n7" not in msg
    assert "1 clean file(s)" in msg and "lonely" in msg


def test_two_files_with_one_name_are_refused(tmp_path):
    _touch(tmp_path / "noisy", "a.wav", "a.flac")
    _touch(tmp_path / "clean", "a.wav")
    with pytest.raises(ValueError, match="share a name"):
        paired_files(tmp_path / "noisy", tmp_path / "clean")


def test_official_urls_are_the_datashare_archives():
    assert VBD_TEST_URLS == {
        "noisy": "https://datashare.ed.ac.uk/bitstream/handle/10283/2791/noisy_testset_wav.zip",
        "clean": "https://datashare.ed.ac.uk/bitstream/handle/10283/2791/clean_testset_wav.zip",
    }


def _tone(freq, seconds=0.5, rate=48_000):
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _wav_bytes(data, rate=48_000):
    buf = io.BytesIO()
    sf.write(buf, data, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@pytest.fixture
def archives(tmp_path):
    """Small stand-ins for the two DataShare zips: 48 kHz WAVs in a top folder, plus macOS clutter."""
    paths = {}
    for kind, freq in (("noisy", 1000.0), ("clean", 500.0)):
        path = tmp_path / f"{kind}_testset_wav.zip"
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr(f"{kind}_testset_wav/", b"")
            zf.writestr(f"{kind}_testset_wav/p232_001.wav", _wav_bytes(_tone(freq)))
            zf.writestr(f"{kind}_testset_wav/p257_002.wav", _wav_bytes(np.stack([_tone(freq)] * 2, 1)))
            zf.writestr(f"__MACOSX/{kind}_testset_wav/._p232_001.wav", b"junk")
            zf.writestr(f"{kind}_testset_wav/readme.txt", b"not audio")
        paths[kind] = path
    return paths


def test_download_from_file_urls_resamples_to_16k_and_skips_when_present(archives, tmp_path, capsys):
    dest = tmp_path / "vbd"
    urls = {k: p.as_uri() for k, p in archives.items()}  # file:// URLs: no network
    out = download_voicebank(dest, urls)
    assert out == {"noisy": dest / "noisy", "clean": dest / "clean"}
    for kind, freq in (("noisy", 1000.0), ("clean", 500.0)):
        assert sorted(p.name for p in (dest / kind).glob("*.flac")) == ["p232_001.flac", "p257_002.flac"]
        wav, rate = sf.read(str(dest / kind / "p232_001.flac"), dtype="float32")
        assert rate == 16_000 and wav.shape == (8000,)
        peak_hz = np.argmax(np.abs(np.fft.rfft(wav))) * 16_000 / len(wav)
        assert peak_hz == pytest.approx(freq, abs=4)
        assert np.abs(wav).max() == pytest.approx(0.3, abs=0.01)
    assert [n for n, _, _ in paired_files(dest / "noisy", dest / "clean")] == ["p232_001", "p257_002"]
    assert not (dest / "downloads").exists()
    assert all(p.exists() for p in archives.values())  # local archives are read, never deleted
    capsys.readouterr()
    gone = {k: str(tmp_path / "gone.zip") for k in urls}  # already present: the sources are not even opened
    download_voicebank(dest, gone)
    assert capsys.readouterr().out.count("already present") == 2


def test_plain_paths_and_wav_output(archives, tmp_path):
    out = download_voicebank(tmp_path / "vbd", {k: str(p) for k, p in archives.items()}, fmt="wav", progress=False)
    assert sf.info(str(out["clean"] / "p257_002.wav")).samplerate == 16_000


def test_not_a_zip_is_a_clear_error_and_leaves_nothing(tmp_path, archives):
    page = tmp_path / "page.zip"
    page.write_text("<html>Access denied</html>")
    with pytest.raises(ValueError, match="not a zip archive"):
        download_voicebank(tmp_path / "vbd", {"noisy": str(page), "clean": str(archives["clean"])}, progress=False)
    assert not (tmp_path / "vbd" / "noisy").exists() and not (tmp_path / "vbd" / "noisy.partial").exists()


def test_an_existing_folder_of_yours_is_never_overwritten(tmp_path, archives):
    mine = tmp_path / "vbd" / "noisy"
    _touch(mine, "precious.wav")
    with pytest.raises(ValueError, match="did not write"):
        download_voicebank(tmp_path / "vbd", {k: str(p) for k, p in archives.items()}, progress=False)
    assert (mine / "precious.wav").exists()


def test_http_download_path_without_network(archives, tmp_path, monkeypatch):
    """The https branch (streamed to a .part file, renamed, deleted after extraction), with urlopen faked."""
    import gtcrn_micro.data.corpora as corpora

    opened = []

    class FakeResponse(io.BytesIO):
        headers = {}

        def __exit__(self, *exc):
            return False

    def fake_urlopen(request, timeout):
        opened.append(request.full_url)
        kind = "noisy" if "noisy" in request.full_url else "clean"
        return FakeResponse(archives[kind].read_bytes())

    monkeypatch.setattr(corpora.urllib.request, "urlopen", fake_urlopen)
    out = download_voicebank(tmp_path / "vbd", progress=False)
    assert opened == [VBD_TEST_URLS["noisy"], VBD_TEST_URLS["clean"]]
    assert len(list(out["noisy"].glob("*.flac"))) == 2 and not (tmp_path / "vbd" / "downloads").exists()
    download_voicebank(tmp_path / "vbd_train", progress=False, split="train")
    assert opened[2:] == [VBD_TRAIN_URLS["noisy"], VBD_TRAIN_URLS["clean"]]
    assert all("trainset_28spk_wav.zip" in u for u in opened[2:])
    with pytest.raises(ValueError, match="split 'dev'"):
        download_voicebank(tmp_path / "vbd_dev", progress=False, split="dev")
