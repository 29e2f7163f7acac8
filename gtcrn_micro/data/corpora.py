"""Corpora on disk: paired test sets and the VoiceBank-DEMAND download (chapter 4).

- :func:`paired_files`: a folder of noisy files and a folder of clean files with the same names
  (VoiceBank-DEMAND style, ``noisy/p232_001.wav`` with ``clean/p232_001.wav``), matched by name
  without the extension.
- :func:`download_voicebank`: the VoiceBank-DEMAND test set (Valentini-Botinhao 2017,
  doi:10.7488/ds/2117, CC BY 4.0) from the University of Edinburgh DataShare, unpacked and
  resampled from 48 kHz to 16 kHz. Needs internet; tests use a local zip instead.

DNS-Challenge style material (folders of clean speech and of noise, no pairs) needs no helper:
pass the folders to ``gtcrn-micro train --speech DIR --noise DIR`` (they are read with
:func:`~gtcrn_micro.data.mixing.find_audio`).

The VoiceBank-DEMAND test set is for reporting only: never choose checkpoints,
hyper-parameters or calibration data on it.
"""

from __future__ import annotations

import io
import shutil
import urllib.parse
import urllib.request
import warnings
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf

from ..audio.io import AudioError, AudioNotice, check_audio, resample, save_audio
from .mixing import AUDIO_EXTENSIONS, find_audio

__all__ = ["VBD_TEST_URLS", "VBD_TRAIN_URLS", "VBD_URLS", "VBD_TEST_FILES", "VBD_DOI", "paired_files", "download_voicebank"]

_DATASHARE = "https://datashare.ed.ac.uk/bitstream/handle/10283/2791/"
VBD_TEST_URLS: dict[str, str] = {  # official 48 kHz archives of the test set
    "noisy": _DATASHARE + "noisy_testset_wav.zip",
    "clean": _DATASHARE + "clean_testset_wav.zip",
}
VBD_TRAIN_URLS: dict[str, str] = {  # official 48 kHz archives of the 28-speaker training set (11,572 pairs)
    "noisy": _DATASHARE + "noisy_trainset_28spk_wav.zip",
    "clean": _DATASHARE + "clean_trainset_28spk_wav.zip",
}
VBD_URLS = {"test": VBD_TEST_URLS, "train": VBD_TRAIN_URLS}  # each split's archives, by split name
VBD_TEST_FILES = 824  # utterances in the test set (speakers p232 and p257)
VBD_DOI = "10.7488/ds/2117"
_DONE = ".complete"  # marker written after a folder is fully extracted
_SHOW = 5  # unmatched names listed in an error


def _key(path: Path, root: Path) -> str:
    return PurePosixPath(path.relative_to(root).with_suffix("")).as_posix()


def _index(root: Path, kind: str) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for f in find_audio(root):
        key = _key(f, root)
        if key in files:
            raise ValueError(
                f"The {kind} folder holds {files[key].name} and {f.name}, which share a name; keep one of them."
            )
        files[key] = f
    return files


def _names(keys: list[str]) -> str:
    shown = ", ".join(keys[:_SHOW])
    return shown + (f" and {len(keys) - _SHOW} more" if len(keys) > _SHOW else "")


def paired_files(noisy_dir: str | Path, clean_dir: str | Path) -> list[tuple[str, Path, Path]]:
    """Match noisy and clean files by name (relative path without extension), sorted by name.

    Returns ``[(name, noisy_path, clean_path), ...]``. Both folders must hold exactly the same
    names: otherwise a :class:`ValueError` lists up to five names missing on each side.
    """
    noisy_dir, clean_dir = Path(noisy_dir), Path(clean_dir)
    noisy, clean = _index(noisy_dir, "noisy"), _index(clean_dir, "clean")
    only_noisy = sorted(set(noisy) - set(clean))
    only_clean = sorted(set(clean) - set(noisy))
    if only_noisy or only_clean:
        parts = []
        if only_noisy:
            parts.append(f"{len(only_noisy)} noisy file(s) have no clean file of the same name ({_names(only_noisy)})")
        if only_clean:
            parts.append(f"{len(only_clean)} clean file(s) have no noisy file of the same name ({_names(only_clean)})")
        raise ValueError(
            f"{' and '.join(parts)}; {noisy_dir} and {clean_dir} must hold the same file names."
        )
    return [(k, noisy[k], clean[k]) for k in sorted(noisy)]


# ---------------------------------------------------------------- download
def _is_url(source: str) -> bool:
    return urllib.parse.urlparse(source).scheme in ("http", "https", "ftp", "file")


def _local_path(source: str) -> Path | None:
    """The file behind a ``file://`` URL or a plain path; None for a remote URL."""
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if not _is_url(source):
        return Path(source)
    return None


def _fetch(source: str, folder: Path, progress: bool) -> tuple[Path, bool]:
    """(archive path, downloaded?) for a URL or a local file; downloads to ``folder`` atomically."""
    local = _local_path(source)
    if local is not None:
        if not local.is_file():
            raise FileNotFoundError(f"{local} does not exist; pass the path or file:// URL of a zip archive.")
        return local, False
    from tqdm.auto import tqdm

    folder.mkdir(parents=True, exist_ok=True)
    name = PurePosixPath(urllib.parse.urlparse(source).path).name or "download.zip"
    dest, part = folder / name, folder / (name + ".part")
    if dest.is_file() and zipfile.is_zipfile(dest):  # kept from an earlier run (keep_archives)
        return dest, True
    request = urllib.request.Request(source, headers={"User-Agent": "gtcrn-micro"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=name, disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
    except OSError as err:  # URLError, HTTPError, timeouts are OSErrors
        part.unlink(missing_ok=True)
        raise OSError(
            f"Downloading {source} failed ({err}); check the connection, or download the file by hand "
            "and pass its path instead of the URL."
        ) from None
    part.replace(dest)
    return dest, True


def _extract(archive: Path, source: str, out_dir: Path, sample_rate: int, fmt: str) -> int:
    """Every audio file in ``archive`` -> ``out_dir/<name>.<fmt>`` at ``sample_rate`` Hz, mono."""
    if not zipfile.is_zipfile(archive):
        raise ValueError(
            f"{source} is not a zip archive (the server may have sent an error page); "
            "download it again or by hand from https://doi.org/" + VBD_DOI + "."
        )
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    count = 0
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in sorted(zf.namelist()):
                path = PurePosixPath(member)
                if member.endswith("/") or path.suffix.lower() not in AUDIO_EXTENSIONS:
                    continue
                if "__MACOSX" in path.parts or path.name.startswith("."):
                    continue  # macOS metadata, not audio
                target = tmp / f"{path.stem}.{fmt}"
                if target.exists():
                    raise ValueError(f"{source} holds two files named {path.stem}; the archive is not a VoiceBank-DEMAND set.")
                try:
                    data, rate = sf.read(io.BytesIO(zf.read(member)), dtype="float32", always_2d=True)  # (L,C)
                except (sf.LibsndfileError, RuntimeError) as err:
                    raise AudioError(f"{member} in {source} cannot be read as audio ({err}).") from None
                wav = check_audio(data.mean(axis=1), rate, name=member, expected_rate=None)  # (L,)
                wav = resample(wav, rate, sample_rate)
                with warnings.catch_warnings():  # resampling may overshoot full scale by a hair
                    warnings.simplefilter("ignore", AudioNotice)
                    save_audio(target, np.clip(wav, -1.0, 1.0), sample_rate)
                count += 1
    except zipfile.BadZipFile as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"{source} is a damaged zip archive ({err}); download it again.") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if count == 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"{source} holds no .wav/.flac/.ogg files; it is not a VoiceBank-DEMAND archive.")
    (tmp / _DONE).write_text(f"{count} files from {source} at {sample_rate} Hz\n")
    if out_dir.is_dir():
        out_dir.rmdir()  # empty (checked by the caller)
    tmp.replace(out_dir)
    return count


def download_voicebank(
    dest: str | Path,
    urls: dict[str, str] | None = None,
    *,
    sample_rate: int = 16_000,
    fmt: str = "flac",
    keep_archives: bool = False,
    progress: bool = True,
    split: str = "test",
) -> dict[str, Path]:
    """Download and unpack the VoiceBank-DEMAND test set (or with ``split="train"`` the 28-speaker
    training set) into ``dest/noisy`` and ``dest/clean``.

    ``urls`` maps ``"noisy"`` and ``"clean"`` to the two zip archives: by default the official
    DataShare URLs (:data:`VBD_TEST_URLS` or :data:`VBD_TRAIN_URLS`, 48 kHz WAV); a ``file://`` URL or a local path works
    too (for an archive downloaded by hand). Each file is mixed to mono, resampled to
    ``sample_rate`` and written as ``fmt`` (``flac`` or ``wav``, 16-bit). A folder that was
    already completely extracted is skipped, so running it again costs nothing; an interrupted
    run leaves no half-filled folder. Downloads go to ``dest/downloads`` and are deleted after
    extraction unless ``keep_archives``. Returns ``{"noisy": path, "clean": path}``.

    License: CC BY 4.0, cite Valentini-Botinhao (2017), doi:10.7488/ds/2117. Report on the test
    set only; never choose checkpoints, hyper-parameters or calibration data on it. The training
    set's clean speech (28 VCTK speakers, none of them in the test set) can be passed to
    ``train --speech``, which mixes its own noisy inputs.
    """
    if fmt not in ("flac", "wav"):
        raise ValueError(f"fmt {fmt!r} is not supported; use 'flac' or 'wav'.")
    if split not in VBD_URLS:
        raise ValueError(f"split {split!r} is not a VoiceBank-DEMAND split; use one of {', '.join(VBD_URLS)}.")
    urls = dict(VBD_URLS[split] if urls is None else urls)
    missing = {"noisy", "clean"} - set(urls)
    if missing:
        raise ValueError(f"urls lacks {', '.join(sorted(missing))}; give both 'noisy' and 'clean' archives.")
    dest = Path(dest)
    out: dict[str, Path] = {}
    for kind in ("noisy", "clean"):
        folder = dest / kind
        out[kind] = folder
        if (folder / _DONE).exists():
            if progress:
                print(f"{folder}: already present, skipped")
            continue
        if folder.exists() and any(folder.iterdir()):
            raise ValueError(
                f"{folder} already holds files that download_voicebank did not write; "
                "move them away or choose another destination, so nothing of yours is overwritten."
            )
        archive, downloaded = _fetch(str(urls[kind]), dest / "downloads", progress)
        try:
            count = _extract(archive, str(urls[kind]), folder, sample_rate, fmt)
        except BaseException:
            if downloaded:  # an error page or a damaged download: fetch it afresh next time
                archive.unlink(missing_ok=True)
            raise
        if downloaded and not keep_archives:
            archive.unlink(missing_ok=True)
        if progress:
            print(f"{folder}: {count} files at {sample_rate} Hz")
    downloads = dest / "downloads"
    if downloads.is_dir() and not any(downloads.iterdir()):
        downloads.rmdir()
    return out
