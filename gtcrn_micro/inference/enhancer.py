"""Enhancing audio with a trained model: ``load_enhancer(...).enhance(wav)`` (chapter 3).

An :class:`Enhancer` turns a (L,) 16 kHz mono float32 waveform into an enhanced waveform of the
same length. How it computes that is its *backend*, looked up by name in :data:`BACKENDS`:

- ``torch``: the offline model (stft -> model -> istft), run on blocks of frames with its state
  carried, which gives the one-pass output in memory that does not grow with the clip.
- ``stream``: the same model one hop at a time with an explicit state
  (:class:`~gtcrn_micro.streaming.StreamingEnhancer`), its fixed latency removed so the output
  lines up with ``torch``'s sample for sample.

Every built-in backend's ``run`` is a :class:`~gtcrn_micro.audio.blocks.ChunkedRun`: files are
read, enhanced and written in 10 s blocks (``benchmarks/memory/long_input.md``: an hour of audio in
under 1 GB on every backend).
- ``tflite-float``, ``tflite-int8``, ``tflite-int16x8`` come with the streaming and
  export stages: add a factory to :data:`BACKENDS` below (import heavy dependencies inside the
  factory, so the CLI lists the backend without loading them), or call :func:`register_backend`
  at run time. Until then asking for one is a clear error that says where it will come from.

Weights come from an explicit checkpoint (a ``.pt`` file written by ``gtcrn-micro train``) or, when
none is given, from the checkpoint shipped inside the package, ``gtcrn_micro/checkpoints/{model}.pt``.
Input files are only read; :func:`enhance_path` refuses to write over them.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio.io import SILENCE_PEAK, AudioError, AudioNotice, check_audio, load_audio, save_audio
from ..config import MODEL_NAMES, config_as_trained, get_config
from ..data.mixing import AUDIO_EXTENSIONS, find_audio
from ..audio.blocks import BLOCK, AudioScan, ChunkedRun, read_blocks, scan_audio
from ._names import NO_MODEL, PLANNED_BACKENDS, RUNTIMES, TFLITE_KINDS

__all__ = [
    "BACKENDS",
    "PLANNED_BACKENDS",
    "NO_MODEL",
    "Enhancer",
    "EnhanceError",
    "FileResult",
    "MissingCheckpointError",
    "enhance_path",
    "plan_outputs",
    "load_enhancer",
    "register_backend",
    "resolve_checkpoint",
    "shipped_checkpoint",
]

SAMPLE_RATE = get_config().audio.sample_rate  # 16 kHz

# A backend factory takes (model name, checkpoint path or None) and returns
# (run, source): ``run`` maps a checked (L,) float32 16 kHz waveform to (L,) float32, and
# ``source`` says which file the weights came from.
Run = Callable[[np.ndarray], np.ndarray]
BackendFactory = Callable[[str, "str | Path | None"], "tuple[Run, Path | None]"]


class EnhanceError(ValueError):
    """A model, checkpoint or backend that cannot enhance audio; the message says what to do."""


class MissingCheckpointError(FileNotFoundError):
    """No checkpoint given and none shipped with the package for this model."""


# ---------------------------------------------------------------- checkpoints
def _shipped_dir():
    """Folder of the checkpoints shipped inside the package (a Traversable)."""
    return resources.files("gtcrn_micro") / "checkpoints"


def shipped_checkpoint(model: str) -> Path | None:
    """Path of the checkpoint shipped for ``model`` (``gtcrn_micro/checkpoints/{model}.pt``), or None."""
    entry = _shipped_dir() / f"{model}.pt"
    if not entry.is_file():
        return None
    with resources.as_file(entry) as path:  # a real file for a source checkout or an installed wheel
        return Path(path)


def resolve_checkpoint(model: str, checkpoint: str | Path | None = None) -> Path:
    """The checkpoint to use: ``checkpoint`` if given, else the shipped one; a clear error if neither."""
    if checkpoint is not None:
        path = Path(checkpoint)
        if not path.exists():
            raise FileNotFoundError(f"Checkpoint {path} does not exist; check the --checkpoint path.")
        return path
    path = shipped_checkpoint(model)
    if path is None:
        raise MissingCheckpointError(
            f"No checkpoint for model {model!r} ships with the package yet (gtcrn_micro/checkpoints/{model}.pt): "
            f"train one with `gtcrn-micro train --model {model} --speech DIR --noise DIR --out runs/{model}` "
            f"and pass it with --checkpoint runs/{model}/best.pt."
        )
    return path


# ---------------------------------------------------------------- backends
def _identity_backend(model: str, checkpoint) -> tuple[Run, None]:
    return (lambda wav: wav.copy()), None


def _load_model(model: str, checkpoint):
    """The torch model ``model`` with the weights of ``checkpoint`` (or the shipped one), in eval mode."""
    from ..model import build_model
    from ..training.trainer import load_checkpoint

    path = resolve_checkpoint(model, checkpoint)
    ckpt = load_checkpoint(path)  # clear errors for missing, corrupted or foreign files
    trained_for = ckpt.get("model_name")
    if trained_for is not None and trained_for != model:
        raise EnhanceError(
            f"Checkpoint {path} was trained for model {trained_for!r}, not {model!r}; pass --model {trained_for}."
        )
    try:
        net = build_model(config_as_trained(model, ckpt))  # the preset with the options the run changed
    except (TypeError, ValueError) as err:
        raise EnhanceError(f"Checkpoint {path} holds model options this version cannot build ({err}).") from None
    try:
        net.load_state_dict(ckpt["model"])
    except (RuntimeError, TypeError, AttributeError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise EnhanceError(f"Checkpoint {path} does not fit model {model!r} ({first}); check --model.") from None
    return net.eval(), path


def _torch_backend(model: str, checkpoint) -> tuple[Run, Path]:
    """Offline torch model, stft -> model -> istft, on blocks of frames with the state carried:
    the same output as the whole clip in one pass (``istft(net(stft(wav)))``), in bounded memory."""
    from ..audio.blocks import ChunkedRun, SpecBlocks

    net, path = _load_model(model, checkpoint)

    def new_stream() -> SpecBlocks:
        state = net.initial_state(1)

        def masked(spec):  # (1,257,T,2) -> (1,257,T,2): net(spec), its state carried to the next block
            nonlocal state
            mask, state = net.core(net.features(spec), state)  # (1,2,T,129)
            return net.apply_mask(mask, spec)

        return SpecBlocks(masked, net.cfg.audio)

    return ChunkedRun(new_stream), path


class _AlignedStream:
    """A :class:`~gtcrn_micro.streaming.StreamingEnhancer` with its latency removed: the first
    ``latency`` output samples dropped, the stream flushed and cut to the input's length."""

    def __init__(self, streamer):
        self.streamer = streamer
        streamer.reset()
        self._skip = streamer.latency
        self.samples_in = self.samples_out = 0

    def _aligned(self, out: np.ndarray) -> np.ndarray:
        k = min(self._skip, len(out))
        out, self._skip = out[k:], self._skip - k
        out = out[: self.samples_in - self.samples_out]
        self.samples_out += len(out)
        return out

    def process(self, chunk: np.ndarray) -> np.ndarray:
        self.samples_in += len(chunk)
        return self._aligned(self.streamer.process(chunk))

    def flush(self) -> np.ndarray:
        return self._aligned(self.streamer.flush())  # (the rest up to samples_in)


def _stream_backend(model: str, checkpoint) -> tuple[Run, Path]:
    """The torch model one hop at a time (chapter 3); output shifted back by the stream's latency.

    The hop runs as a frozen TorchScript trace of the eager step (bit for bit the same numbers,
    about twice as fast: see :meth:`~gtcrn_micro.streaming.enhancer.HopStep.frozen`). The traced
    step is built once, so each ``new_stream()`` resets and reuses it: one stream at a time."""
    from ..audio.blocks import BLOCK, AudioScan, ChunkedRun, read_blocks, scan_audio
    from ..streaming import StreamingEnhancer

    net, path = _load_model(model, checkpoint)
    streamer = StreamingEnhancer(net, jit=True)
    return ChunkedRun(lambda: _AlignedStream(streamer)), path


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _check_tflite(path: Path, kind: str) -> None:
    """One sentence for a .tflite that is empty, truncated, corrupt, not TFLite, or another kind of step."""
    from ..export.tflite import read_tflite_checked, step_kind

    tfl, _ = read_tflite_checked(path)  # ValueError / FileNotFoundError, one sentence each
    found = step_kind(tfl)
    if found != kind:
        raise EnhanceError(f"{path.name} is the {found} step, not the {kind} one; pass --backend tflite-{found}, "
                           f"or the step_{kind}.tflite that `gtcrn-micro export` wrote.")


def _tflite(kind: str, runtime: str) -> BackendFactory:
    """The exported ``kind`` step (chapter 5) in LiteRT or TFLM; its checkpoint is a ``.tflite`` file."""

    def factory(model: str, checkpoint):
        from ..export.enhance import tflite_backend
        from ..export.tflite import ExportError

        given = checkpoint is not None and Path(checkpoint).suffix == ".tflite"  # other files: tflite_backend says
        path_name = Path(checkpoint).name if given else None
        if given:
            _check_tflite(Path(checkpoint), kind)
        try:
            run, path = tflite_backend(model, checkpoint, kind, runtime)
        except (ExportError, KeyError, IndexError, TypeError, AttributeError, RuntimeError) as err:
            if not given:  # the shipped model failing is a bug, not a bad input
                raise
            raise EnhanceError(f"{path_name} is a TFLite model but not a step of the {model} model that the host "
                               f"loop can run ({_first_line(err)}); pass a .tflite from `gtcrn-micro export`.") from None
        if not given:
            return run, path
        return ChunkedRun(lambda: _CheckedStream(run.new_stream(), path_name), run.block), path

    return factory


class _CheckedStream:
    """A stream over a given .tflite: the interpreter refuses a damaged model only when it runs it."""

    def __init__(self, stream, name: str):
        self.stream, self.name = stream, name

    def _checked(self, call, *args):
        try:
            return call(*args)
        except RuntimeError as err:
            raise EnhanceError(f"{self.name} could not be run ({_first_line(err)}); it is probably damaged: "
                               "export it again with `gtcrn-micro export`.") from None

    def process(self, chunk: np.ndarray) -> np.ndarray:
        return self._checked(self.stream.process, chunk)

    def flush(self) -> np.ndarray:
        return self._checked(self.stream.flush)


BACKENDS: dict[str, BackendFactory] = {"torch": _torch_backend, "stream": _stream_backend}
for _kind in TFLITE_KINDS:
    BACKENDS[f"tflite-{_kind}"] = _tflite(_kind, "litert")


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make ``load_enhancer(..., backend=name)`` use ``factory(model, checkpoint) -> (run, source)``."""
    BACKENDS[name] = factory


def notices_of(caught: list[warnings.WarningMessage]) -> list[str]:
    """The :class:`~gtcrn_micro.audio.AudioNotice` texts among ``caught``, each once, in order.

    A file's audio is checked when it is read and again when it is enhanced: the same notice
    (a silent file, say) comes twice and is said once.
    """
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, AudioNotice)))


# ---------------------------------------------------------------- the enhancer
@dataclass
class Enhancer:
    """``enhance(wav (L,)) -> enh (L,)``: 16 kHz mono float32 in, same length out.

    Made by :func:`load_enhancer`; ``model``, ``backend`` and ``checkpoint`` say what it runs.
    """

    model: str
    backend: str
    checkpoint: Path | None
    run: Run = field(repr=False)
    sample_rate: int = SAMPLE_RATE

    @property
    def label(self) -> str:
        """Short name for tables: ``micro/torch``, or ``noisy input`` for the pass-through."""
        return "noisy input" if self.model == NO_MODEL else f"{self.model}/{self.backend}"

    def enhance(self, wav, *, name: str = "audio") -> np.ndarray:
        """Enhance a (L,) waveform at 16 kHz (numpy array or torch tensor). Returns (L,) float32.

        Raises :class:`~gtcrn_micro.audio.AudioError` for a wrong shape, no samples or NaN/Inf
        samples (use :func:`~gtcrn_micro.audio.load_audio` to read files at any rate and channel
        count). Silent input comes back as the same silence.
        """
        wav = check_audio(wav, self.sample_rate, name=name, expected_rate=self.sample_rate)  # (L,)
        if float(np.max(np.abs(wav))) < SILENCE_PEAK:
            return wav.copy()  # nothing to enhance; skip the model so silence stays silence
        enh = np.asarray(self.run(np.ascontiguousarray(wav)), dtype=np.float32)  # (L,)
        if enh.shape != wav.shape:
            raise EnhanceError(
                f"{name}: the {self.backend} backend returned {enh.shape} samples for an input of {wav.shape}; "
                "this is a bug in the backend, please report it."
            )
        if not np.isfinite(enh).all():
            raise EnhanceError(
                f"{name}: the {self.label} model returned NaN or Inf samples; the checkpoint is probably broken "
                "(re-train it or use another --checkpoint)."
            )
        return enh

    def enhance_file(self, src: str | Path, dst: str | Path, *, block: int = BLOCK) -> "FileResult":
        """Read ``src`` (any rate, any channels), enhance it, write ``dst`` at 16 kHz.

        The file is read, enhanced and written ``block`` samples at a time, the model's state
        carried from block to block, so memory does not grow with its length (an hour is fine);
        the output is the same as enhancing the whole file at once. It is read twice: once to
        check it (no samples, NaN, silent, clipped: the same sentences as
        :func:`~gtcrn_micro.audio.load_audio`), once to enhance it. A backend whose ``run`` is a
        plain function (see :func:`register_backend`) gets the whole file at once instead.

        Notices about the input (resampled, mixed down, silent, clipped) are returned in the
        result instead of being printed. Refuses to write over ``src``; on an error no partial
        ``dst`` is left behind.
        """
        src, dst = Path(src), Path(dst)
        if dst.resolve() == src.resolve():
            raise EnhanceError(f"{dst} is the input file itself; write the enhanced audio somewhere else.")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", AudioNotice)
            if not isinstance(self.run, ChunkedRun):
                wav = load_audio(src, self.sample_rate)  # (L,)
                t0 = time.perf_counter()
                enh = self.enhance(wav, name=src.name)  # (L,)
                took = time.perf_counter() - t0
                save_audio(dst, enh, self.sample_rate)
                return FileResult(src, dst, len(wav) / self.sample_rate, took, notices_of(caught))
            scan = scan_audio(src, self.sample_rate, block)  # AudioError / notices, one block in memory
            took = self._enhance_blocks(scan, dst, block)
        return FileResult(src, dst, scan.length / self.sample_rate, took, notices_of(caught))

    def _enhance_blocks(self, scan: AudioScan, dst: Path, block: int) -> float:
        """Enhance the scanned file into ``dst`` block by block; returns the seconds spent in the model."""
        import soundfile as sf

        name = scan.path.name
        stream = None if scan.silent else self.run.new_stream()  # silence passes through, as in enhance()
        took, written, peak = 0.0, 0, 0.0

        def write(out, enh: np.ndarray) -> None:
            nonlocal written, peak
            if not np.isfinite(enh).all():
                raise EnhanceError(
                    f"{name}: the {self.label} model returned NaN or Inf samples; the checkpoint is probably broken "
                    "(re-train it or use another --checkpoint)."
                )
            if len(enh):
                peak = max(peak, float(np.max(np.abs(enh))))
            out.write(np.clip(enh, -1.0, 1.0))  # integer formats would wrap around
            written += len(enh)

        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            with sf.SoundFile(str(dst), "w", self.sample_rate, 1, subtype="PCM_16") as out:
                for wav in read_blocks(scan, block):  # (n,)
                    if stream is None:
                        write(out, wav)
                        continue
                    t0 = time.perf_counter()
                    enh = np.asarray(stream.process(wav), dtype=np.float32)
                    took += time.perf_counter() - t0
                    write(out, enh)
                if stream is not None:
                    t0 = time.perf_counter()
                    enh = np.asarray(stream.flush(), dtype=np.float32)
                    took += time.perf_counter() - t0
                    write(out, enh)
            if written != scan.length:
                raise EnhanceError(
                    f"{name}: the {self.backend} backend returned {written} samples for an input of {scan.length}; "
                    "this is a bug in the backend, please report it."
                )
        except BaseException:
            dst.unlink(missing_ok=True)  # no half-written output
            raise
        if peak > 1.0:
            warnings.warn(f"{dst.name}: peak {peak:.2f} is above full scale; samples clipped to [-1, 1] for writing.",
                          AudioNotice, stacklevel=2)
        return took


@dataclass
class FileResult:
    """What :meth:`Enhancer.enhance_file` did with one file; ``error`` is set if it failed."""

    src: Path
    dst: Path | None
    seconds: float = 0.0  # audio duration
    compute_seconds: float = 0.0  # time the model took
    notices: list[str] = field(default_factory=list)
    error: str | None = None

    def line(self) -> str:
        """One line for the terminal."""
        if self.error:  # the message usually names the file already
            return f"error: {self.error}" if self.src.name in self.error else f"{self.src}: error: {self.error}"
        speed = self.seconds / self.compute_seconds if self.compute_seconds > 0 else float("inf")
        return f"{self.src} -> {self.dst} ({self.seconds:.2f} s of audio, {speed:.{0 if speed >= 10 else 1}f}x real time)"


def load_enhancer(model: str = "micro", checkpoint: str | Path | None = None, backend: str = "torch",
                  runtime: str = "litert") -> Enhancer:
    """An :class:`Enhancer` for a model preset (``micro``, ``gtcrn``) run by ``backend``.

    ``checkpoint``: a checkpoint file, or None for the one shipped in
    ``gtcrn_micro/checkpoints/{model}.pt``. ``model="none"`` gives a pass-through that returns
    its input, to score the noisy input the same way as a model.
    """
    if model == NO_MODEL:
        run, source = _identity_backend(model, None)
        return Enhancer(NO_MODEL, "none", source, run)
    if model not in MODEL_NAMES:
        raise EnhanceError(f"Unknown model {model!r}: choose one of {', '.join(MODEL_NAMES)} (or {NO_MODEL!r}).")
    if backend not in BACKENDS:
        available = ", ".join(sorted(BACKENDS))
        if backend in PLANNED_BACKENDS:
            raise EnhanceError(
                f"Backend {backend!r} is not available yet: it comes with {PLANNED_BACKENDS[backend]}; "
                f"available now: {available}."
            )
        raise EnhanceError(f"Unknown backend {backend!r}: choose one of {available}.")
    if runtime not in RUNTIMES:
        raise EnhanceError(f"Unknown runtime {runtime!r}: choose one of {', '.join(RUNTIMES)}.")
    if runtime != "litert":
        if not backend.startswith("tflite-"):
            raise EnhanceError(f"--runtime {runtime} runs exported models only: use it with a tflite-* backend.")
        run, source = _tflite(backend.removeprefix("tflite-"), runtime)(model, checkpoint)
        return Enhancer(model, f"{backend}:{runtime}", source, run)
    run, source = BACKENDS[backend](model, checkpoint)
    return Enhancer(model, backend, source, run)


# ---------------------------------------------------------------- files and folders
def _output_for_file(src: Path, output: Path) -> Path:
    if output.is_dir() or not output.suffix:
        return output / f"{src.stem}.wav"
    if output.suffix.lower() not in AUDIO_EXTENSIONS:
        raise EnhanceError(
            f"{output}: cannot write audio with suffix {output.suffix!r}; use one of {', '.join(AUDIO_EXTENSIONS)}."
        )
    return output


def plan_outputs(input: str | Path, output: str | Path) -> list[tuple[Path, Path]]:
    """(source, destination) pairs for :func:`enhance_path`, checked before anything is written.

    A file goes to ``output`` (a file name, or a folder: then ``output/<name>.wav``). A folder's
    audio files (recursively) go to ``output/<same relative path>.wav``. Refuses an output that
    is the input, and two inputs that would be written to the same file.
    """
    src, out = Path(input), Path(output)
    if not src.exists():
        raise FileNotFoundError(f"{src} does not exist; pass an audio file or a folder of audio files.")
    if src.is_file():
        return [(src, _output_for_file(src, out))]
    if out.exists() and not out.is_dir():
        raise EnhanceError(f"{out} is a file, but the input {src} is a folder; pass a folder as OUTPUT.")
    if out.resolve() == src.resolve():
        raise EnhanceError(f"OUTPUT {out} is the input folder itself; pass another folder so no input is overwritten.")
    out_resolved = out.resolve()
    files = [f for f in find_audio(src) if out_resolved not in f.resolve().parents]  # skip earlier outputs
    if not files:
        raise FileNotFoundError(f"No .wav/.flac/.ogg files under {src} (outside {out}).")
    plan = [(f, out / f.relative_to(src).with_suffix(".wav")) for f in files]
    seen: dict[Path, Path] = {}
    for f, d in plan:
        if d in seen:
            raise EnhanceError(
                f"{seen[d].name} and {f.name} would both be written to {d}; rename one of them first."
            )
        seen[d] = f
    return plan


def enhance_path(
    input: str | Path,
    output: str | Path,
    enhancer: Enhancer,
    on_file: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Enhance an audio file or every audio file in a folder; see :func:`plan_outputs` for names.

    A single file that cannot be read raises its :class:`~gtcrn_micro.audio.AudioError`. In a
    folder, a bad file is reported in its :class:`FileResult` (``error``) and the others are
    still enhanced. ``on_file`` is called after each file (the CLI prints a line).
    """
    plan = plan_outputs(input, output)
    single = Path(input).is_file()
    results = []
    for src, dst in plan:
        try:
            result = enhancer.enhance_file(src, dst)
        except (AudioError, EnhanceError, OSError) as err:
            if single:
                raise
            result = FileResult(src, None, error=str(err))
        results.append(result)
        if on_file is not None:
            on_file(result)
    return results
