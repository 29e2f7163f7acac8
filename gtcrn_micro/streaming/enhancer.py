"""Frame-by-frame enhancement of an audio stream (chapter 3): :class:`StreamingEnhancer`.

The device sees audio in blocks of ``hop_length`` samples (256 = 16 ms at 16 kHz). Each block
completes one STFT frame (the framing of :mod:`gtcrn_micro.audio.stft`: the ``n_fft - hop_length``
samples before it plus the new block, sqrt-Hann window), and one streaming step runs::

    frame (n_fft,) -> window, rfft -> spec (1,257,1,2) -> model.features -> model.core(feat, state)
      -> mask (1,2,1,129), new state -> model.apply_mask -> irfft, window -> overlap-add

After the overlap-add the first ``hop_length`` samples of the accumulator are final (no later
frame reaches them) and are returned.

Latency. The stream is the offline output delayed by exactly :attr:`StreamingEnhancer.latency`
``= n_fft - hop_length`` samples (256 = 16 ms)::

    out = concat(se.process(c) for c in chunks) + se.flush()     # len(x) + latency samples
    out[latency:] == istft(model(stft(x)), len(x))               # to float rounding

(``out[:latency]`` is the enhanced front padding, which the offline ``istft`` trims.) On top of
that, a sample waits for its block of ``hop_length`` to fill, so the delay from an input sample
to the output sample it becomes is between ``n_fft - hop_length`` and ``n_fft - 1`` samples
(16 to 32 ms), plus the compute time of one step.

Memory does not grow with the stream: one ``n_fft`` input buffer, one ``n_fft`` overlap-add
buffer, and the model's fixed-size state (:meth:`StreamingEnhancer.buffer_sizes`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..audio.stft import _ola_gain, window
from ..config import AudioConfig

__all__ = ["StreamingEnhancer", "HopStep", "load_stream_model"]


def load_stream_model(model: str = "micro", checkpoint=None, seed: int = 0) -> tuple[nn.Module, "Path | None"]:
    """A model to stream, in eval mode, and the checkpoint its weights came from.

    Uses ``checkpoint`` if given, else the checkpoint shipped in ``gtcrn_micro/checkpoints/{model}.pt``;
    if neither exists, a freshly initialised (untrained) model seeded with ``seed``, and ``None``
    as its source: streaming parity does not depend on the weights.
    """
    from ..inference.enhancer import _load_model, shipped_checkpoint
    from ..model import build_model

    if checkpoint is None and shipped_checkpoint(model) is None:
        torch.manual_seed(seed)
        return build_model(model).eval(), None
    return _load_model(model, checkpoint)


class StreamingEnhancer:
    """Enhance audio chunk by chunk with a streaming-capable model (``micro`` or ``gtcrn``).

    ``process(chunk)`` takes any number of samples (1, one hop, an odd size) and returns the output
    samples that are final so far (a multiple of ``hop_length``, possibly none); ``flush()`` ends
    the stream and returns the rest; ``reset()`` starts a new stream from a zero state. The model
    needs ``features``, ``core(feat, state) -> (mask, state)``, ``apply_mask`` and ``initial_state``;
    it is put in eval mode.
    """

    def __init__(self, model: nn.Module, cfg: AudioConfig | None = None, *, jit: bool = False):
        self.model = model.eval()
        self.cfg = cfg or model.cfg.audio
        self.n_fft, self.hop = self.cfg.n_fft, self.cfg.hop_length
        self._window = window(self.cfg)  # (n_fft,) sqrt-Hann, analysis and synthesis
        self._gain = _ola_gain(self.cfg)
        self._hop_step = HopStep(self.model, self._window)
        self.reset()
        if jit:
            self._hop_step = self._hop_step.frozen(self.state)

    # ------------------------------------------------------------------ stream control
    @property
    def latency(self) -> int:
        """Samples the stream lags the offline output: ``n_fft - hop_length`` (256)."""
        return self.n_fft - self.hop

    @property
    def latency_ms(self) -> float:
        return 1000.0 * self.latency / self.cfg.sample_rate

    def reset(self) -> None:
        """Start a new stream: zero model state, empty buffers (pending output is dropped)."""
        # input buffer: the last n_fft samples; it starts with the STFT's n_fft - hop front zeros
        self._frame = np.zeros(self.n_fft, dtype=np.float32)  # (n_fft,)
        self._fill = self.n_fft - self.hop  # samples held in _frame
        self._ola = np.zeros(self.n_fft, dtype=np.float32)  # (n_fft,) overlap-add accumulator
        self.state = self.model.initial_state(1)
        self.samples_in = 0  # input samples of this stream
        self.samples_out = 0  # output samples returned so far

    def process(self, chunk) -> np.ndarray:
        """Feed a 1-D chunk of samples (any length); return the output samples now final, (k * hop,)."""
        chunk = np.asarray(chunk, dtype=np.float32)
        if chunk.ndim != 1:
            raise ValueError(f"chunk has shape {chunk.shape}; pass a 1-D block of mono samples.")
        out, pos = [], 0
        while pos < len(chunk):
            take = min(self.n_fft - self._fill, len(chunk) - pos)
            self._frame[self._fill : self._fill + take] = chunk[pos : pos + take]
            self._fill += take
            pos += take
            if self._fill == self.n_fft:
                out.append(self._step())  # (hop,)
        self.samples_in += len(chunk)
        return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)

    def flush(self) -> np.ndarray:
        """End the stream: pad with zeros (as the offline STFT does), return the remaining output so
        that everything returned has ``samples_in + latency`` samples, then :meth:`reset`."""
        total = self.samples_in + self.latency if self.samples_in else 0
        out = []
        while self.samples_out < total:
            self._frame[self._fill :] = 0.0
            self._fill = self.n_fft
            out.append(self._step())  # (hop,)
        rest = np.concatenate(out) if out else np.zeros(0, dtype=np.float32)
        rest = rest[: len(rest) - (self.samples_out - total)] if self.samples_out > total else rest
        self.reset()
        return rest

    def buffer_sizes(self) -> dict[str, int]:
        """Number of values held between calls, by buffer: constant over the whole stream."""
        return {"input": self._frame.size, "overlap_add": self._ola.size,
                "state": int(sum(v.numel() for v in self.state.values()))}

    # ------------------------------------------------------------------ one step = one hop
    @torch.inference_mode()
    def _step(self) -> np.ndarray:
        """Enhance the frame in the input buffer; return the hop samples it makes final."""
        hop = self.hop
        y, self.state = self._hop_step(torch.from_numpy(self._frame), self.state)  # (n_fft,)
        self._ola += y.numpy() / self._gain
        out = self._ola[:hop].copy()  # (hop,) final: no later frame overlaps it
        self._ola[:-hop] = self._ola[hop:]
        self._ola[-hop:] = 0.0
        self._frame[:-hop] = self._frame[hop:]  # keep the last n_fft - hop samples
        self._fill -= hop
        self.samples_out += hop
        return out


class HopStep(nn.Module):
    """One hop of the stream as a module: ``(frame (n_fft,), state) -> (y (n_fft,), new state)``,
    ``y`` the windowed inverse FFT of the enhanced frame, ready to overlap-add::

        frame -> window, rfft -> spec (1,F,1,2) -> features -> core(feat, state) -> apply_mask -> irfft, window
    """

    def __init__(self, model: nn.Module, win: torch.Tensor):
        super().__init__()
        self.model = model
        self.register_buffer("win", win)
        self.n_fft = int(win.numel())

    def forward(self, frame: torch.Tensor, state: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        spec = torch.view_as_real(torch.fft.rfft(frame * self.win, n=self.n_fft))  # (F,2)
        spec = spec.reshape(1, -1, 1, 2)  # (1,F,1,2)
        feat = self.model.features(spec)  # (1,3,1,129)
        mask, new = self.model.core(feat, state)  # (1,2,1,129)
        enh = self.model.apply_mask(mask, spec)[0, :, 0]  # (F,2)
        y = torch.fft.irfft(torch.view_as_complex(enh.contiguous()), n=self.n_fft) * self.win  # (n_fft,)
        return y, new

    def frozen(self, state: dict[str, torch.Tensor]) -> torch.jit.ScriptModule:
        """This step traced for one frame and frozen (TorchScript): the same numbers, bit for bit
        (no folding that changes rounding), about twice as fast, because the ~200 module calls of
        a step no longer go through Python. The weights are copied in: build it after loading them."""
        import warnings

        frame = torch.zeros(self.n_fft)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarning: the T == 1 branches are what a hop runs
            traced = torch.jit.trace(self.eval(), (frame, state), strict=False, check_trace=False)
            return torch.jit.freeze(traced, optimize_numerics=False)
