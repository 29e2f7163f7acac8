"""On-the-fly training mixtures: clean speech + noise at a random SNR and level (chapter 4).

Every example is a pure function of ``(seed, epoch, index)``: the same triple always gives the
same (noisy, clean) pair, whatever ran before. That makes training resumable exactly and
validation sets fixed without storing any audio.

Noise comes from recordings, and on a fraction of examples from synthetic sources (white, pink
and brown noise, mains hum with harmonics, babble made of other utterances). A fraction of
examples is reverberated with a simulated room impulse response; the target is then the speech
with only the direct path and early reflections (the first 50 ms), so the model learns to remove
late reverberation as well as noise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from scipy.signal import fftconvolve, resample_poly

__all__ = ["AUDIO_EXTENSIONS", "CLEAN_SNR_DB", "find_audio", "split_files", "AudioBank", "MixConfig", "MixtureDataset",
           "synthetic_noise", "room_impulse_response"]

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
CLEAN_SNR_DB = 100.0  # the SNR of MixConfig.clean_prob examples: the added noise is 100 dB down, inaudible


def find_audio(*roots: str | Path) -> list[Path]:
    """Every audio file under the given folders (recursively), sorted; a clear error if none."""
    files: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise FileNotFoundError(f"{root} does not exist; pass a folder that holds .wav or .flac files.")
        files += [p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file()]
    if not files:
        raise FileNotFoundError(f"No .wav/.flac files under {', '.join(map(str, roots))}.")
    return sorted(files)


def split_files(files: list[Path], val_fraction: float = 0.1, salt: str = "gtcrn-micro") -> tuple[list[Path], list[Path]]:
    """Deterministic train/validation split by a hash of each file's name and parent folder.

    A file lands in the same split on every machine and whatever other files exist, so the two
    splits never share a file. (The development corpora publish no speaker ids for most files;
    where a corpus has speaker folders, hash the folder instead to split by speaker.)
    """
    train, val = [], []
    for f in files:
        key = f"{salt}/{Path(f).parent.name}/{Path(f).name}".encode()
        u = int(hashlib.sha1(key).hexdigest()[:8], 16) / 0xFFFFFFFF
        (val if u < val_fraction else train).append(f)
    return train, val


class AudioBank:
    """Audio files held in memory as int16 (half the memory of float32), resampled to 16 kHz.

    ``segment(rng, n)`` returns a random ``n``-sample float32 excerpt, looping short files. With
    ``groups`` (one id per file, e.g. the folder it came from) every group is drawn equally often,
    however many files it holds; ``group_weights`` (one per group id 0, 1, ...) draws them in
    proportion to their weights instead. ``draw(..., group=g)`` draws from the ``g``-th group
    (in sorted order of the group ids present) only.
    """

    def __init__(self, files: list[Path], sample_rate: int = 16_000, min_seconds: float = 0.5,
                 groups: list[int] | None = None, group_weights: list[float] | None = None):
        if groups is not None and len(groups) != len(files):
            raise ValueError(f"groups has {len(groups)} entries for {len(files)} files.")
        if group_weights is not None:
            if groups is None:
                raise ValueError("group_weights needs groups.")
            if not all(np.isfinite(w) and w > 0 for w in group_weights) or max(groups, default=0) >= len(group_weights):
                raise ValueError(f"group_weights {list(group_weights)} must be positive, one per group id 0..{max(groups, default=0)}.")
        self.files, self.clips, kept_groups = [], [], []
        for i, f in enumerate(files):
            wav, sr = sf.read(str(f), dtype="float32", always_2d=True)
            wav = wav.mean(axis=1)
            if sr != sample_rate:
                g = np.gcd(sr, sample_rate)
                wav = resample_poly(wav, sample_rate // g, sr // g).astype(np.float32)
            if len(wav) < min_seconds * sample_rate or not np.isfinite(wav).all() or np.abs(wav).max() < 1e-4:
                continue  # too short, broken or silent: useless for training
            self.files.append(Path(f))
            self.clips.append(np.round(np.clip(wav, -1, 1) * 32767).astype(np.int16))
            kept_groups.append(groups[i] if groups is not None else 0)
        if not self.clips:
            raise ValueError("None of the audio files is usable (all too short, silent or broken).")
        # with groups, draw() picks a group first (each equally often), then a clip within it
        self._members = None
        if groups is not None:
            members: dict[int, list[int]] = {}
            for index, g in enumerate(kept_groups):
                members.setdefault(g, []).append(index)
            self._members = [members[g] for g in sorted(members)]
        self._p = None  # None: every group equally often (the draw of runs before group_weights)
        if group_weights is not None:
            w = np.array([group_weights[g] for g in sorted(members)], dtype=np.float64)
            self._p = w / w.sum()
        self.sample_rate = sample_rate
        self._peaks: dict[tuple[int, float], float] = {}

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def seconds(self) -> float:
        return sum(len(c) for c in self.clips) / self.sample_rate

    def segment(self, rng: np.random.Generator, n: int, index: int | None = None) -> np.ndarray:
        """A random ``n``-sample excerpt (float32) of clip ``index`` (random clip if None)."""
        return self.draw(rng, n, index)[0]

    @property
    def n_groups(self) -> int:
        """How many groups hold usable clips (1 without ``groups``)."""
        return 1 if self._members is None else len(self._members)

    def draw(self, rng: np.random.Generator, n: int, index: int | None = None,
             group: int | None = None) -> tuple[np.ndarray, int]:
        """As :meth:`segment`, and the index of the clip it came from; ``group``: only from that group."""
        if index is None and group is not None:
            members = self._members[group] if self._members is not None else range(len(self.clips))
            index = members[int(rng.integers(len(members)))]
        elif index is None and self._members is not None:
            pick = rng.integers(len(self._members)) if self._p is None else rng.choice(len(self._members), p=self._p)
            group = self._members[int(pick)]
            index = group[int(rng.integers(len(group)))]
        elif index is None:
            index = int(rng.integers(len(self.clips)))
        clip = self.clips[index]
        if len(clip) < n:
            clip = np.tile(clip, int(np.ceil(n / len(clip))) + 1)
        start = rng.integers(0, len(clip) - n + 1)
        return clip[start : start + n].astype(np.float32) / 32768.0, index

    def peak_frame_energy(self, index: int, frame_ms: float = 20.0) -> float:
        """Mean-square of the loudest ``frame_ms`` frame of clip ``index`` (float scale)."""
        key = (index, frame_ms)
        if key not in self._peaks:
            self._peaks[key] = float(np.max(frame_energies(self.clips[index] / 32768.0, self.sample_rate, frame_ms)))
        return self._peaks[key]


def synthetic_noise(kind: str, n: int, rng: np.random.Generator, sample_rate: int = 16_000) -> np.ndarray:
    """White, pink, brown noise or mains hum, ``n`` samples, unit RMS."""
    if kind in ("white", "pink", "brown"):
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1 / sample_rate), 20.0)
        spec /= {"white": 1.0, "pink": np.sqrt(f), "brown": f}[kind]
        x = np.fft.irfft(spec, n)
    elif kind == "hum":
        t = np.arange(n) / sample_rate
        f0 = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) for k in range(1, 8))
        x = x + 0.05 * rng.standard_normal(n)
    else:
        raise ValueError(f"Unknown synthetic noise {kind!r}; use white, pink, brown or hum.")
    return (x / (np.sqrt(np.mean(x**2)) + 1e-12)).astype(np.float32)


def room_impulse_response(rng: np.random.Generator, rt60: float, sample_rate: int = 16_000) -> np.ndarray:
    """A simulated room impulse response: a direct path then exponentially decaying noise.

    The decay reaches -60 dB after ``rt60`` seconds; the first reflections start after 1-5 ms.
    """
    n = int(rt60 * sample_rate)
    t = np.arange(n) / sample_rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)  # 6.9 = ln(1000): -60 dB at rt60
    tail[: int(rng.uniform(0.001, 0.005) * sample_rate)] = 0.0
    rir = rng.uniform(0.2, 0.6) * tail / (np.sqrt(np.sum(tail**2)) + 1e-12)
    rir[0] = 1.0  # direct path
    return rir.astype(np.float32)


@dataclass(frozen=True)
class MixConfig:
    """How training mixtures are drawn. Every range is uniform."""

    segment_seconds: float = 2.0  # length of one example
    snr_db: tuple[float, float] = (-5.0, 20.0)  # speech-to-noise ratio
    level_db: tuple[float, float] = (-35.0, -15.0)  # RMS level of the noisy mixture (dBFS)
    reverb_prob: float = 0.2  # fraction of examples in a simulated room
    rt60: tuple[float, float] = (0.2, 0.8)  # reverberation time of those rooms (s)
    early_ms: float = 50.0  # target keeps direct path + reflections up to this delay
    synthetic_prob: float = 0.15  # fraction with synthetic noise (white/pink/brown/hum)
    babble_prob: float = 0.1  # fraction with babble made of 3-6 other utterances
    min_active: float = 0.0  # redraw a speech segment with a smaller share of active frames (0 = keep any)
    clean_prob: float = 0.0  # fraction of clean examples: no room, noise CLEAN_SNR_DB down (the model must leave them alone)
    sample_rate: int = 16_000


MAX_REDRAWS = 20  # min_active: after this many redraws the last segment is kept


def frame_energies(x: np.ndarray, sample_rate: int = 16_000, frame_ms: float = 20.0) -> np.ndarray:
    """Mean-square of each whole ``frame_ms`` frame of ``x`` (an empty array if there is none)."""
    n = int(sample_rate * frame_ms / 1000)
    frames = np.asarray(x, dtype=np.float64)[: len(x) // n * n].reshape(-1, n)
    return np.mean(frames**2, axis=1) if frames.size else np.zeros(0)


def active_fraction(x: np.ndarray, sample_rate: int = 16_000, frame_ms: float = 20.0, range_db: float = 30.0,
                    reference: float | None = None) -> float:
    """Share of ``frame_ms`` frames of ``x`` whose energy is within ``range_db`` of ``reference``
    (default: the loudest frame of ``x``; pass the loudest frame of the whole recording so that an
    excerpt of its pauses counts as quiet): near 1 for continuous speech, 0 for silence."""
    energy = frame_energies(x, sample_rate, frame_ms)
    if energy.size == 0:
        return 0.0
    top = energy.max() if reference is None else reference
    if top <= 0:
        return 0.0
    return float(np.mean(energy >= top * 10 ** (-range_db / 10)))


class MixtureDataset(torch.utils.data.Dataset):
    """``dataset[i] -> (noisy, clean)``, each a float32 tensor of ``segment_seconds`` samples.

    Deterministic in ``(seed, epoch, i)``; call :meth:`set_epoch` to draw a fresh set of
    mixtures. ``length`` is how many examples one epoch has. ``balanced``: item ``i`` takes its
    speech from group ``i % speech.n_groups`` of the speech bank (redraws too), so every group
    (e.g. every ``--speech`` folder) gives the same number of items, within one.
    """

    def __init__(self, speech: AudioBank, noise: AudioBank, length: int, cfg: MixConfig = MixConfig(),
                 seed: int = 0, epoch: int = 0, balanced: bool = False):
        self.speech, self.noise, self.length, self.cfg, self.seed, self.epoch = speech, noise, length, cfg, seed, epoch
        self.balanced = balanced

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def speech_segment(self, rng: np.random.Generator, n: int, group: int | None = None) -> np.ndarray:
        """An ``n``-sample speech excerpt as recorded, before room and level: redrawn while near
        silent and, with ``min_active``, while too few of its frames are within 30 dB of its
        recording's loudest frame (at most ``MAX_REDRAWS`` times); ``group``: from that speech group only."""
        return self._speech_draw(rng, n, group)[0]

    def _speech_draw(self, rng: np.random.Generator, n: int, group: int | None = None) -> tuple[np.ndarray, int]:
        """:meth:`speech_segment` and the index (in ``speech.files``) of the clip it came from."""

        def draw() -> tuple[np.ndarray, int]:
            clean, index = self.speech.draw(rng, n, group=group)
            while np.sqrt(np.mean(clean**2)) < 1e-3:  # mostly silence: draw again
                clean, index = self.speech.draw(rng, n, group=group)
            return clean, index

        clean, index = draw()
        for _ in range(MAX_REDRAWS if self.cfg.min_active > 0 else 0):  # mostly pauses: draw again
            share = active_fraction(clean, self.cfg.sample_rate, reference=self.speech.peak_frame_energy(index))
            if share >= self.cfg.min_active:
                break
            clean, index = draw()
        return clean, index

    def mix(self, rng: np.random.Generator, group: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
        """Draw one (noisy, clean, info) example from ``rng`` (speech from ``group`` only, if given)."""
        c = self.cfg
        n = int(round(c.segment_seconds * c.sample_rate))
        clean, speech_index = self._speech_draw(rng, n, group)
        # clean_prob = 0 draws nothing here: the mixtures of runs made before it stay the same
        is_clean = c.clean_prob > 0 and rng.random() < c.clean_prob
        info = {"speech_index": speech_index, "snr_db": float(rng.uniform(*c.snr_db)),
                "level_db": float(rng.uniform(*c.level_db))}
        if is_clean:
            info["snr_db"] = CLEAN_SNR_DB
        if rng.random() < c.reverb_prob and not is_clean:
            rir = room_impulse_response(rng, rng.uniform(*c.rt60), c.sample_rate)
            early = rir.copy()
            early[int(c.early_ms / 1000 * c.sample_rate):] = 0.0
            reverberant = fftconvolve(clean, rir)[:n].astype(np.float32)
            clean = fftconvolve(clean, early)[:n].astype(np.float32)
            info["rt60"] = len(rir) / c.sample_rate
        else:
            reverberant = clean
        u = rng.random()
        if u < c.synthetic_prob:
            kind = str(rng.choice(["white", "pink", "brown", "hum"]))
            noise = synthetic_noise(kind, n, rng, c.sample_rate)
        elif u < c.synthetic_prob + c.babble_prob:
            kind = "babble"
            noise = sum(self.speech.segment(rng, n) for _ in range(int(rng.integers(3, 7))))
        else:
            kind = "recorded"
            noise = self.noise.segment(rng, n)
        info["noise"] = kind
        noise_rms = np.sqrt(np.mean(noise**2))
        if noise_rms < 1e-6:  # a silent excerpt of a recording: fall back to pink noise
            noise, noise_rms = synthetic_noise("pink", n, rng, c.sample_rate), 1.0
        speech_rms = np.sqrt(np.mean(reverberant**2))
        noise = noise * (speech_rms / noise_rms) * 10 ** (-info["snr_db"] / 20)
        noisy = reverberant + noise
        gain = 10 ** (info["level_db"] / 20) / (np.sqrt(np.mean(noisy**2)) + 1e-12)
        peak = np.abs(noisy).max() * gain
        if peak > 0.99:  # never clip: lower the level instead
            gain *= 0.99 / peak
        return (noisy * gain).astype(np.float32), (clean * gain).astype(np.float32), info

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        noisy, clean, _ = self._mix_item(index)
        return torch.from_numpy(noisy), torch.from_numpy(clean)

    def item_info(self, index: int) -> dict:
        """What ``dataset[index]`` was made of: ``speech_index`` (into ``speech.files``), SNR, level,
        room and noise kind (see :meth:`mix`)."""
        return self._mix_item(index)[2]

    def _mix_item(self, index: int) -> tuple[np.ndarray, np.ndarray, dict]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        group = index % self.speech.n_groups if self.balanced else None
        return self.mix(np.random.default_rng([self.seed, self.epoch, index]), group)
