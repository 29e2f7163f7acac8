"""Generate the ESP-IDF project for the ESP32-S3 (chapter 6).

:func:`generate_esp32s3_project` fills the template in ``gtcrn_micro/deploy/template/esp32s3`` from
the config and an exported full-int8 step: the model as a C array, ``model_settings.h``, the ERB
tables, the op resolver, and the host test's reference vectors. Everything that needs TFLM (op list,
tensor quantization, arena, the int8 mask sequence) is read in a child process
(:mod:`gtcrn_micro.deploy._inspect`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..config import MODEL_NAMES, get_config
from ..export.tflm_run import run_child
from . import cgen
from .s3cost import CPU_MHZ

__all__ = ["DeployError", "Pins", "DEFAULT_PINS", "Project", "inspect_tflite", "generate_esp32s3_project",
           "write_reference_vectors", "read_reference_vectors", "run_host_test", "ARENA_MARGIN", "arena_with_margin"]

TEMPLATE = Path(__file__).resolve().parent / "template" / "esp32s3"
ARENA_MARGIN = (0.10, 4096)  # arena = measured * (1 + 10 %) + 4 KB, rounded up to 1 KB: TFLM versions differ a little
TASK_STACK = 16384  # main task stack: TFLM's Invoke call frames plus logging; DSP buffers are static
REPORT_HOPS = 250  # default hops between two cycle-counter lines (menuconfig: GTCRN_REPORT_HOPS)
REF_MAGIC = 0x56525447  # "GTRV"


class DeployError(ValueError):
    """The model or the output folder cannot be used; the message says what to do (one sentence)."""


@dataclass(frozen=True)
class Pins:
    """ESP32-S3 GPIOs of the two I2S devices (defaults of menuconfig; any free GPIOs work)."""

    mic_bclk: int = 4  # INMP441 SCK
    mic_ws: int = 5  # INMP441 WS
    mic_din: int = 6  # INMP441 SD
    amp_bclk: int = 15  # MAX98357A BCLK
    amp_ws: int = 16  # MAX98357A LRC
    amp_dout: int = 17  # MAX98357A DIN

    def table(self) -> list[tuple[str, int, str, str]]:
        """(signal, GPIO, microphone pin, amplifier pin) rows for the wiring table."""
        return [("mic bit clock", self.mic_bclk, "SCK", "-"), ("mic word select", self.mic_ws, "WS", "-"),
                ("mic data", self.mic_din, "SD", "-"), ("amp bit clock", self.amp_bclk, "-", "BCLK"),
                ("amp word select", self.amp_ws, "-", "LRC"), ("amp data", self.amp_dout, "-", "DIN")]


DEFAULT_PINS = Pins()


@dataclass
class Project:
    """What :func:`generate_esp32s3_project` wrote."""

    out_dir: Path
    files: list[str]
    info: dict  # ops, tensors, arena (from the .tflite)
    arena_bytes: int
    model_bytes: int

    @property
    def ops(self) -> list[str]:
        return [name for name, _ in self.info["ops"]]


def inspect_tflite(path: str | Path, model: str = "micro", seconds: float = 0.0) -> tuple[dict, dict]:
    """(info, reference vectors) of an exported step, read in a child process (TFLM)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.json", Path(tmp) / "out.npz"
        src.write_text(json.dumps({"path": str(path), "model": model, "seconds": seconds}))
        failure = run_child("gtcrn_micro.deploy._inspect", src, dst)
        if failure is not None:
            raise DeployError(f"TFLite Micro could not read {Path(path).name}: {failure[-1] if failure else 'it crashed'}")
        data = np.load(dst)
        return json.loads(str(data["info"])), {k: data[k] for k in data.files if k != "info"}


def _check_int8(info: dict, path: Path) -> None:
    from ..export.tflite import TFLM_OPS

    bad = [k for k, t in {**info["inputs"], **info["outputs"]}.items() if t["type"] != "INT8"]
    if bad:
        raise DeployError(f"{path.name} is not a full-int8 step ({bad[0]} is {info['inputs'].get(bad[0], info['outputs'].get(bad[0]))['type']}); "
                          "pass the int8 model from `gtcrn-micro export --format tflite-int8`.")
    missing = [name for name, _ in info["ops"] if name not in TFLM_OPS]
    if missing or info["n_subgraphs"] != 1:
        raise DeployError(f"{path.name} uses ops TFLite Micro lacks ({', '.join(missing) or 'several subgraphs'}); "
                          "export the model again with `gtcrn-micro export`.")
    for k in info["inputs"]:
        if k != "feat":
            i, o = info["inputs"][k], info["outputs"][f"{k}_out"]
            if (i["scale"], i["zero_point"], i["shape"]) != (o["scale"], o["zero_point"], o["shape"]):
                raise DeployError(f"State {k} of {path.name} has different input and output quantization or shape; "
                                  "export it again with `gtcrn-micro export` (it ties state scales).")


def write_reference_vectors(path: str | Path, ref: dict) -> None:
    """host_test/ref_vectors.bin: header (magic, version, samples, frames, feat size, mask size), then
    wav f32, feat f32, feat_q i8, mask_q i8, out f32, all little-endian."""
    n, t = len(ref["wav"]), len(ref["feat"])
    head = np.array([REF_MAGIC, 1, n, t, ref["feat_q"].shape[1], ref["mask_q"].shape[1]], "<u4")
    with open(path, "wb") as f:
        for arr in (head, ref["wav"].astype("<f4"), ref["feat"].reshape(t, -1).astype("<f4"),
                    ref["feat_q"].astype(np.int8), ref["mask_q"].astype(np.int8), ref["out"].astype("<f4")):
            f.write(arr.tobytes())


def read_reference_vectors(path: str | Path) -> dict:
    """Inverse of :func:`write_reference_vectors`."""
    raw = Path(path).read_bytes()
    head = np.frombuffer(raw[:24], "<u4")
    n, t, fs, ms = (int(v) for v in head[2:6])
    out, pos = {}, 24
    for key, dtype, count in (("wav", "<f4", n), ("feat", "<f4", t * fs), ("feat_q", np.int8, t * fs),
                              ("mask_q", np.int8, t * ms), ("out", "<f4", n)):
        size = np.dtype(dtype).itemsize * count
        out[key] = np.frombuffer(raw[pos : pos + size], dtype).copy()
        pos += size
    out["feat"], out["feat_q"], out["mask_q"] = out["feat"].reshape(t, fs), out["feat_q"].reshape(t, fs), out["mask_q"].reshape(t, ms)
    return out


def _fill(text: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        text = text.replace(f"@@{k}@@", str(v))
    if "@@" in text:
        raise RuntimeError("template placeholder left unfilled: " + text[text.index("@@") :][:40])
    return text


def component_versions(template: Path = TEMPLATE) -> dict[str, str]:
    """The version constraints ``main/idf_component.yml`` pins: ``{"idf": ">=5.1", "espressif/esp-tflite-micro": ...}``."""
    text = (template / "main" / "idf_component.yml").read_text()
    return dict(re.findall(r'^\s+([\w./-]+):\s*"([^"]+)"', text, re.M))


def cost_paragraph(path: str | Path, model: str) -> str:
    """The README's estimate of one core's share per hop, from the cost model
    (:func:`gtcrn_micro.deploy.s3cost.s3_profile`, without the TFLM arena or callgrind: about a second)."""
    from .s3cost import s3_profile

    command = f"`gtcrn-micro profile --target esp32s3 --model {model} --tflite {Path(path).name}`"
    try:
        p = s3_profile(path, model=model, arena=False)
    except FileNotFoundError:  # the calibration ships with a source checkout (benchmarks/deploy), not with a wheel
        return ("No estimate in this install: the cost model's calibration (`benchmarks/deploy/s3_calibration.json`) "
                f"comes with a source checkout of GTCRN-Micro; run {command} there. Until a board measures it, "
                "assume that one core may not keep up.")
    low, mid, high = (p[f"core_share_{k}"] for k in ("low", "central", "high"))
    if low > 1:
        verdict = ("Even the low estimate is above one core: expect this step to fall behind on one core "
                   "(an overrun, below).")
    elif mid > 1:
        verdict = "The central estimate is above one core: one core probably does not keep up."
    elif high > 1:
        verdict = "The high estimate is above one core: one core may not keep up."
    else:
        verdict = f"Every estimate is below one core (the high one at {100 * high:.0f} %)."
    return (f"The project's cost model estimates **{p['ms_per_hop_low']:.1f} / {p['ms_per_hop_central']:.1f} / "
            f"{p['ms_per_hop_high']:.1f} ms** (low / central / high) for one {p['hop_ms']:g} ms hop at "
            f"{p['cpu_mhz']} MHz, that is **{100 * low:.0f} % / {100 * mid:.0f} % / {100 * high:.0f} % of one core**. "
            f"{verdict} The firmware runs the whole loop in the main task, on one core (the step is not split "
            "across the two cores).\n\n"
            f"This is an estimate, not a measurement: {p['ops']} ops per hop, {p['reference_kernel_ops']} of them on "
            "TFLM's portable reference kernels, costed from ESP-NN's published ESP32-S3 timings and from "
            "instruction counts on a PC (method: `gtcrn_micro/deploy/s3cost.py`; the range is about "
            f"{p['total_cycles'][2] / max(p['total_cycles'][0], 1):.1f}x wide). {command} prints it op by op; "
            "the cycle counter below measures the real number.")


def arena_with_margin(measured: int) -> int:
    """The fixed arena of the firmware: measured TFLM arena plus :data:`ARENA_MARGIN`, rounded up to 1 KB."""
    frac, extra = ARENA_MARGIN
    return int(-(-(measured * (1 + frac) + extra) // 1024) * 1024)


def generate_esp32s3_project(model: str = "micro", tflite: str | Path | None = None, out_dir: str | Path = "esp32s3",
                             *, force: bool = False, pins: Pins = DEFAULT_PINS, ref_seconds: float = 1.0) -> Project:
    """Write a complete ESP-IDF project for ``model``'s int8 step into ``out_dir``.

    ``tflite``: the exported full-int8 step (default: the one shipped in ``gtcrn_micro/checkpoints``).
    ``force``: allow a non-empty ``out_dir`` (files of the project are overwritten, others kept).
    ``ref_seconds``: length of the noisy clip recorded for the host test (0: no host-test vectors).
    Raises :class:`DeployError` (one sentence) for a model without an int8 step, a missing or
    non-int8 .tflite, or an existing non-empty folder without ``force``.
    """
    if model not in MODEL_NAMES:
        raise DeployError(f"Unknown model {model!r}: choose one of {', '.join(MODEL_NAMES)}.")
    if model not in ("micro", "s3"):  # the models whose core is an integer step graph
        raise DeployError(f"Only the micro and s3 models have a full-int8 step to deploy, not {model!r}; use --model micro.")
    path = Path(tflite) if tflite else Path(__file__).resolve().parents[1] / "checkpoints" / f"{model}_int8.tflite"
    if path.suffix != ".tflite" or not path.is_file():
        what = "does not exist" if not path.exists() else "is a folder" if path.is_dir() else "is not a .tflite file"
        raise DeployError(f"{path} {what}; export one with `gtcrn-micro export --model micro "
                          "--format tflite-int8 -o DIR` and pass DIR/step_int8.tflite.")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not force)):
        raise DeployError(f"{out} exists and is not an empty folder; choose another -o or pass --force to overwrite.")
    from ..export.tflite import read_tflite_checked, strip_tensor_names

    try:
        _, data = read_tflite_checked(path)
    except ValueError as err:  # empty, truncated, corrupt or not a TFLite model: one sentence
        raise DeployError(str(err)) from None
    info, ref = inspect_tflite(path, model, ref_seconds)
    _check_int8(info, path)
    data = strip_tensor_names(data)  # what the chip stores; the same graph (the host test runs this copy)
    cfg = get_config(model)
    arena = arena_with_margin(info["arena_bytes"])
    ops = [name for name, _ in info["ops"]]
    banner = cgen.BANNER.strip()
    a = cfg.audio
    states = [k for k in info["inputs"] if k != "feat"]
    versions = component_versions()
    values = {"BANNER": banner, "MODEL": model, "PROJECT": f"gtcrn_{model}_esp32s3", "ARENA": arena,
              "ARENA_MEASURED": info["arena_bytes"], "MODEL_BYTES": len(data), "TASK_STACK": TASK_STACK,
              "HOP_MS": f"{a.hop_ms:g}", "TFLITE": path.name,
              "HOP_MS_1F": f"{a.hop_ms:.1f}", "NUM_OPS": len(ops), "NUM_STATES": len(states),
              "STATE_BYTES": sum(int(np.prod(info["inputs"][k]["shape"])) for k in states),
              "SAMPLE_RATE": a.sample_rate, "HOP": a.hop_length, "N_FFT": a.n_fft,
              "LATENCY_MS": f"{1000 * a.n_fft / a.sample_rate:g}", "REPORT_HOPS": REPORT_HOPS,
              "REPORT_SECONDS": f"{REPORT_HOPS * a.hop_ms / 1000:g}",
              "BUDGET_CYCLES": f"{round(a.hop_ms * 1e-3 * CPU_MHZ * 1e6):,}",
              "IDF_VERSION": versions["idf"], "TFLM_COMPONENT": versions["espressif/esp-tflite-micro"],
              "COST": cost_paragraph(path, model),
              "PIN_ROWS": "\n".join(f"| {s} | {g} | {m} | {a} |" for s, g, m, a in pins.table()),
              **{k.upper(): v for k, v in asdict(pins).items()}}
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for src in sorted(TEMPLATE.rglob("*")):
        if src.is_dir() or src.name.startswith(".") or "__pycache__" in src.parts:
            continue
        rel = src.relative_to(TEMPLATE)
        dst = out / (str(rel)[: -len(".in")] if src.suffix == ".in" else rel)
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(_fill(src.read_text(), values) if src.suffix == ".in" else src.read_text())
        files.append(str(dst.relative_to(out)))
    header, body = cgen.model_array(data)
    generated = {
        "main/model_data.h": header, "main/model_data.cc": body,
        "main/model_settings.h": cgen.model_settings(cfg, info, arena, len(data), TASK_STACK),
        "main/erb_tables.h": cgen.erb_tables(cfg), "main/op_resolver.h": cgen.op_resolver(ops),
    }
    for rel, text in generated.items():
        (out / rel).write_text(text)
        files.append(rel)
    if ref:
        write_reference_vectors(out / "host_test" / "ref_vectors.bin", ref)
        files.append("host_test/ref_vectors.bin")
    return Project(out, sorted(files), info, arena, len(data))


def run_host_test(project_dir: str | Path, timeout: float = 120) -> tuple[int, str]:
    """``make -C DIR/host_test test``: (exit code, output). Raises DeployError if make or cc is missing."""
    if shutil.which("make") is None or (shutil.which("cc") is None and shutil.which("gcc") is None):
        raise DeployError("The host test needs make and a C compiler (cc); install them (e.g. build-essential).")
    proc = subprocess.run(["make", "-s", "-C", str(Path(project_dir) / "host_test"), "test"], capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout + proc.stderr
