"""Audio a block at a time (chapter 3): long files read, enhanced and written in bounded memory.

An hour of 16 kHz audio is 230 MB as float32, and a model's intermediate tensors for it are tens
of times that. Every model here is causal with an explicit state, so nothing needs the whole
file at once:

- :func:`scan_audio` reads a file once, block by block, and makes the checks of
  :func:`~gtcrn_micro.audio.load_audio` (no samples, NaN/Inf, silent, clipped) with the same
  sentences and notices; :func:`read_blocks` then yields it as 16 kHz mono blocks (mixed down
  and resampled piece by piece: the blocks, put together, are ``load_audio(path)``).
- :class:`SpecBlocks` runs ``stft -> fn -> istft`` on audio that arrives in blocks, where ``fn``
  is a stateful, causal function of the spectrum (a model's ``core`` with its state carried);
  its outputs put together are the one-pass result, sample for sample, to float rounding.
- :class:`ChunkedRun` is what an enhancement backend returns: called on an array it processes it
  in blocks; ``new_stream()`` gives a fresh :class:`Stream` for a file read in blocks.

Memory then depends on the block size, not on the length of the file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np
import soundfile as sf
import torch
import torch.nn.functional as F

from ..config import AudioConfig
from .io import (CLIP_FRACTION, CLIP_LEVEL, SAMPLE_RATE, SILENCE_PEAK, AudioError, AudioNotice, clipped_message,
                 non_finite_error, open_audio, silent_message, unreadable_error)
from .stft import _check_cfg, _ola_gain, n_frames, window

__all__ = ["BLOCK", "AudioScan", "ChunkedRun", "SpecBlocks", "Stream", "StreamResampler", "read_blocks", "scan_audio"]

BLOCK = 10 * SAMPLE_RATE  # samples per block: 10 s, 640 KB of float32


class Stream(Protocol):
    """Audio in, audio out, in blocks of any size; the outputs of every ``process`` and the last
    ``flush`` put together have exactly as many samples as went in, aligned with the input."""

    def process(self, chunk: np.ndarray) -> np.ndarray: ...

    def flush(self) -> np.ndarray: ...


@dataclass
class ChunkedRun:
    """A backend's ``run``: ``run(wav (L,)) -> (L,)`` computed ``block`` samples at a time;
    ``new_stream()`` starts a fresh :class:`Stream` (zero state) for audio that arrives in blocks."""

    new_stream: Callable[[], Stream]
    block: int = BLOCK

    def __call__(self, wav: np.ndarray) -> np.ndarray:
        wav = np.asarray(wav, dtype=np.float32)  # (L,)
        out = np.empty_like(wav)  # (L,)
        stream, pos = self.new_stream(), 0
        for start in range(0, len(wav), self.block):
            pos = _put(out, pos, stream.process(wav[start : start + self.block]))
        pos = _put(out, pos, stream.flush())
        if pos != len(wav):
            raise RuntimeError(f"the stream returned {pos} samples for {len(wav)}; this is a bug in the backend.")
        return out


def _put(out: np.ndarray, pos: int, y: np.ndarray) -> int:
    if pos + len(y) > len(out):
        raise RuntimeError(f"the stream returned more than the {len(out)} samples it was given; this is a bug.")
    out[pos : pos + len(y)] = y
    return pos + len(y)


# ---------------------------------------------------------------- stft -> fn -> istft, block by block
class SpecBlocks:
    """``stft -> fn -> istft`` (the framing of :mod:`gtcrn_micro.audio.stft`) on audio given in blocks.

    ``fn(spec (1,F,T,2)) -> (1,F,T,2)`` sees the frames completed by each block in order, and must
    carry its own state between calls (a model's ``core`` with its state): then the outputs of
    :meth:`process` and :meth:`flush`, put together, equal ``istft(fn(stft(wav)), len(wav))`` for
    the whole input at once. Held between calls: the last ``n_fft - hop`` input samples and the
    overlap-add tail of the same size.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], cfg: AudioConfig | None = None):
        self.fn = fn
        self.cfg = _check_cfg(cfg)
        self.n_fft, self.hop = self.cfg.n_fft, self.cfg.hop_length
        self._window = window(self.cfg)  # (n_fft,)
        self._gain = _ola_gain(self.cfg)
        self.front = self.n_fft - self.hop  # the stft's front zeros; istft trims as many output samples
        self._buf = np.zeros(self.front, dtype=np.float32)  # input not yet in a finished frame
        self._tail = np.zeros(self.front, dtype=np.float32)  # overlap-add beyond the final samples
        self._skip = self.front
        self.samples_in = self.samples_out = 0

    def process(self, chunk) -> np.ndarray:
        """Feed (n,) samples; return the output samples now final (aligned with the input)."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise ValueError(f"chunk has shape {chunk.shape}; pass a 1-D block of mono samples.")
        self.samples_in += len(chunk)
        return self._frames(np.concatenate([self._buf, chunk]))

    def flush(self) -> np.ndarray:
        """End of input: the stft's end padding, then the rest of the output (exactly up to ``samples_in``)."""
        if self.samples_in == 0:
            return np.zeros(0, dtype=np.float32)
        total = (n_frames(self.samples_in, self.cfg) - 1) * self.hop + self.n_fft  # padded length, as stft
        pad = total - (self.front + self.samples_in)  # zeros after the input
        out = self._frames(np.concatenate([self._buf, np.zeros(pad, dtype=np.float32)]))
        return out[: self.samples_in - (self.samples_out - len(out))]

    def _frames(self, buf: np.ndarray) -> np.ndarray:
        n_fft, hop = self.n_fft, self.hop
        n = (len(buf) - n_fft) // hop + 1 if len(buf) >= n_fft else 0  # frames complete in buf
        if n == 0:
            self._buf = buf
            return np.zeros(0, dtype=np.float32)
        frames = torch.from_numpy(buf).unfold(0, n_fft, hop)[:n] * self._window  # (n,n_fft)
        spec = torch.view_as_real(torch.fft.rfft(frames, n=n_fft, dim=-1))  # (n,F,2)
        spec = spec.permute(1, 0, 2).unsqueeze(0).contiguous()  # (1,F,n,2)
        with torch.inference_mode():
            enh = self.fn(spec)  # (1,F,n,2)
        enh_c = torch.view_as_complex(enh[0].permute(1, 0, 2).contiguous())  # (n,F) complex
        y = torch.fft.irfft(enh_c, n=n_fft, dim=-1) * self._window  # (n,n_fft)
        total = (n - 1) * hop + n_fft
        ola = F.fold(y.T.unsqueeze(0), output_size=(1, total), kernel_size=(1, n_fft), stride=(1, hop))
        ola = (ola.reshape(total) / self._gain).numpy()  # (total,)
        ola[: self.front] += self._tail
        out, self._tail = ola[: n * hop], ola[n * hop :].copy()  # (n*hop,) final, (n_fft-hop,) pending
        self._buf = buf[n * hop :].copy()
        if self._skip:  # the front the offline istft trims
            k = min(self._skip, len(out))
            out, self._skip = out[k:], self._skip - k
        self.samples_out += len(out)
        return out


# ---------------------------------------------------------------- resampling in blocks
class StreamResampler:
    """``scipy.signal.resample_poly`` (as :func:`~gtcrn_micro.audio.resample` uses it) on input
    that arrives in blocks; ``n_in`` is the total input length (the output has
    ``ceil(n_in * target / orig)`` samples). Outputs put together equal the one-pass result."""

    def __init__(self, orig_rate: int, target_rate: int, n_in: int):
        from scipy.signal import firwin

        g = gcd(int(orig_rate), int(target_rate))
        self.up, self.down = int(target_rate) // g, int(orig_rate) // g
        max_rate = max(self.up, self.down)
        half_len = 10 * max_rate  # resample_poly's filter: firwin(2 * half_len + 1, 1 / max_rate, kaiser 5) * up
        h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * self.up
        pre_pad = self.down - half_len % self.down
        self.h = np.concatenate([np.zeros(pre_pad), h])  # (taps,)
        self.n_out = -(-int(n_in) * self.up // self.down)
        self._next = (half_len + pre_pad) // self.down  # index of the next output in the full filter output
        self._end = self._next + self.n_out
        self._base = 0  # input index of _buf[0], a multiple of down
        self._buf = np.zeros(0)
        self._avail = 0  # input samples seen

    def process(self, chunk) -> np.ndarray:
        self._buf = np.concatenate([self._buf, np.asarray(chunk, dtype=np.float64)])
        self._avail += len(chunk)
        # output m needs inputs up to floor(m * down / up): ready while m * down < avail * up
        return self._emit(min(self._end, -(-self._avail * self.up // self.down)))

    def flush(self) -> np.ndarray:
        return self._emit(self._end)  # the inputs after the end are zeros

    def _emit(self, stop: int) -> np.ndarray:
        from scipy.signal import upfirdn

        if stop <= self._next:
            return np.zeros(0, dtype=np.float32)
        first_in = max(0, -(-(self._next * self.down - len(self.h) + 1) // self.up))  # earliest input needed
        base = first_in // self.down * self.down  # keeps the filter phase of the one-pass output
        self._buf, self._base = self._buf[base - self._base :], base
        offset = base * self.up // self.down
        y = upfirdn(self.h, self._buf, self.up, self.down)  # y[k] = full output k + offset
        out = y[self._next - offset : stop - offset]
        self._next = stop
        return out.astype(np.float32)


# ---------------------------------------------------------------- reading files in blocks
@dataclass
class AudioScan:
    """What :func:`scan_audio` found: ``frames`` at ``file_rate`` with ``channels``; ``length``
    samples once at ``sample_rate``; ``silent`` if the peak is below -120 dBFS."""

    path: Path
    file_rate: int
    channels: int
    frames: int
    sample_rate: int
    length: int
    silent: bool


def scan_audio(path, sample_rate: int = SAMPLE_RATE, block: int = BLOCK) -> AudioScan:
    """Check an audio file block by block, as :func:`~gtcrn_micro.audio.load_audio` does on the whole.

    Raises :class:`~gtcrn_micro.audio.AudioError` (missing, unreadable, no samples, NaN/Inf) and
    warns :class:`~gtcrn_micro.audio.AudioNotice` (mixed down, silent, clipped, resampled) with the
    same sentences; memory stays at one block.
    """
    path = Path(path)
    name = path.name
    peak, clipped, bad, first_bad, seen = 0.0, 0, 0, -1, 0
    try:
        with open_audio(path) as f:
            rate, channels = int(f.samplerate), int(f.channels)
            for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):  # (n, C)
                wav = _mono(data)  # (n,)
                nonfinite = ~np.isfinite(wav)
                if nonfinite.any():
                    first_bad = seen + int(np.argmax(nonfinite)) if first_bad < 0 else first_bad
                    bad += int(nonfinite.sum())
                else:
                    mag = np.abs(wav)
                    peak = max(peak, float(mag.max()) if len(mag) else 0.0)
                    clipped += int(np.count_nonzero(mag >= CLIP_LEVEL))
                seen += len(wav)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise unreadable_error(path, err) from None
    if seen == 0:
        raise AudioError(f"{path}: contains no samples; choose a recording that is not empty.")
    if channels > 1:
        _notice(f"{name}: {channels} channels averaged to mono.")
    if bad:
        raise non_finite_error(name, bad, first_bad)
    silent = peak < SILENCE_PEAK
    if silent:
        _notice(silent_message(name))
    elif clipped / seen > CLIP_FRACTION:
        _notice(clipped_message(name, clipped / seen))
    length = seen
    if rate != sample_rate:
        _notice(f"{name}: resampled {rate} Hz -> {sample_rate} Hz.")
        length = StreamResampler(rate, sample_rate, seen).n_out
    return AudioScan(path, rate, channels, seen, sample_rate, length, silent)


def read_blocks(scan: AudioScan, block: int = BLOCK) -> Iterator[np.ndarray]:
    """The file of ``scan`` as (n,) float32 mono blocks at ``scan.sample_rate``; put together they
    are :func:`~gtcrn_micro.audio.load_audio` of the file."""
    resampler = (StreamResampler(scan.file_rate, scan.sample_rate, scan.frames)
                 if scan.file_rate != scan.sample_rate else None)
    try:
        with open_audio(scan.path) as f:
            for data in f.blocks(blocksize=block, dtype="float32", always_2d=True):  # (n, C)
                wav = _mono(data)
                yield wav if resampler is None else resampler.process(wav)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise unreadable_error(scan.path, err) from None
    if resampler is not None:
        yield resampler.flush()


def _mono(data: np.ndarray) -> np.ndarray:
    return data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]  # (n,), as load_audio mixes down


def _notice(message: str) -> None:
    warnings.warn(message, AudioNotice, stacklevel=3)
