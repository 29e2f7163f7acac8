"""Views of the generated project and the budget for chapter 6: Markdown tables, excerpts, a figure."""

from __future__ import annotations

from pathlib import Path

from .esp32s3 import DEFAULT_PINS, Pins, Project

__all__ = ["wiring_markdown", "files_markdown", "excerpt", "plot_cycle_budget", "host_test_summary"]

_ROLES = {
    "CMakeLists.txt": "ESP-IDF project file", "sdkconfig.defaults": "240 MHz, no PSRAM, main task stack, timing off",
    "README.md": "wiring, build and test commands", "main/CMakeLists.txt": "the component: sources and requirements",
    "main/idf_component.yml": "managed component: espressif/esp-tflite-micro",
    "main/Kconfig.projbuild": "menuconfig: pins, cycle counter", "main/main.cc": "the loop: I2S in -> step -> I2S out",
    "main/model_runner.cc": "TFLM interpreter, arena, state ping-pong", "main/model_runner.h": "its interface",
    "main/audio_io.c": "I2S microphone and amplifier", "main/audio_io.h": "its interface",
    "main/dsp.c": "framing, window, FFT, features, ERB, quantize, mask, iFFT, overlap-add",
    "main/dsp.h": "its interface", "main/model_data.cc": "generated: the .tflite bytes",
    "main/model_data.h": "generated: its declaration", "main/model_settings.h": "generated: sizes, tensors, scales, arena",
    "main/erb_tables.h": "generated: window and ERB filterbank", "main/op_resolver.h": "generated: the model's ops",
    "host_test/Makefile": "`make test` with the host compiler", "host_test/test_dsp.c": "the host test",
    "host_test/ref_vectors.bin": "generated: Python's reference vectors",
}


def wiring_markdown(pins: Pins = DEFAULT_PINS) -> str:
    """The wiring table (ESP32-S3 GPIO, microphone pin, amplifier pin) of the generated defaults."""
    rows = [f"| {s} | GPIO {g} | {m} | {a} |" for s, g, m, a in pins.table()]
    return "\n".join(["| signal | ESP32-S3 | INMP441 mic | MAX98357A amp |", "|---|---|---|---|", *rows,
                      "| power | 3V3 / GND | VDD / GND, L/R to GND | VIN (3V3 or 5V) / GND |"])


def files_markdown(project: Project) -> str:
    """One row per file of the project: path, bytes, role."""
    rows = [f"| `{f}` | {(project.out_dir / f).stat().st_size:,} | {_ROLES.get(f, '')} |" for f in project.files]
    return "\n".join(["| file | bytes | what |", "|---|---|---|", *rows])


def excerpt(path: str | Path, start: str, lines: int = 12) -> str:
    """``lines`` lines of a text file from the first line that contains ``start``."""
    text = Path(path).read_text().splitlines()
    i = next(k for k, line in enumerate(text) if start in line)
    return "\n".join(text[i : i + lines])


def host_test_summary(output: str) -> str:
    """The "N passed, M failed" line of the host test's output."""
    import re

    found = re.findall(r"^\d+ passed, \d+ failed$", output, re.M)
    return found[-1] if found else "no result line"


def plot_cycle_budget(budget: dict):
    """Horizontal bars: low-high cycles per hop of each op class, and the one-hop budget line."""
    import matplotlib.pyplot as plt

    c = budget["compute"]
    rows = {k: v["cycles"] for k, v in c["by_op"].items()}
    rows["interpreter overhead"] = c["op_overhead_cycles"]
    rows["DSP front + back end"] = c["dsp"]["cycles"]
    names = sorted(rows, key=lambda k: rows[k][1])
    fig, ax = plt.subplots(figsize=(7, 5))
    lo = [rows[k][0] / 1e6 for k in names]
    hi = [rows[k][1] / 1e6 for k in names]
    ax.barh(names, hi, color="#f4b183", label="high estimate")
    ax.barh(names, lo, color="#4472c4", label="low estimate")
    ax.set_xlabel("million CPU cycles per 16 ms hop (240 MHz)")
    total_lo, total_hi = (t / 1e6 for t in c["total_cycles"])
    ax.set_title(f"total {total_lo:.1f}-{total_hi:.1f} M cycles; one hop = {c['budget_cycles'] / 1e6:.2f} M")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
