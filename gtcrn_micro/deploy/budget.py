"""Flash, RAM and compute budget of the ESP32-S3 firmware (chapter 6): an estimate, method stated.

Compute: every op of the int8 graph gets a count from the .tflite (multiply-accumulates for CONV_2D
and FULLY_CONNECTED, elements for the rest) and a range of CPU cycles per unit. Where Espressif
publishes a figure, the range comes from the ESP-NN README's kernel table for the ESP32-S3
(240 MHz; cycles per MAC or element derived from its ticks and the shapes it lists); the other
rates are assumptions, marked as such. The result is a low-high range, not a measurement: the
cycle counter in the generated project (CONFIG_GTCRN_CYCLE_COUNTER) measures the real number.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

__all__ = ["ESPNN_SOURCE", "RATES", "esp32s3_budget", "budget_markdown", "load_budget", "BUDGET_PATH"]

ESPNN_SOURCE = ("ESP-NN README (github.com/espressif/esp-nn, 'Kernelwise performance for s8 versions', ESP32-S3 at "
                "240 MHz, data in external RAM): ticks of conv 1x1 64->64 on 10x10 461,398 (ANSI C 4,642,259); conv 1x1 "
                "16->16 on 8x8 43,578 (300,032); conv 3x3x3->64 on 10x10 643,689 (2,106,801); fully connected len 265 "
                "x 3 4,439 (12,290); elementwise add of 1615 71,644 (312,327); mul 30,950 (122,046); relu6 1,856 (18,315)")

# Derived from the table: ticks / MACs (or / elements) of each listed kernel.
_CONV1X1_BIG = 461_398 / (10 * 10 * 64 * 64)  # 1.13 cycles per MAC
_CONV1X1_SMALL = 43_578 / (8 * 8 * 16 * 16)  # 2.66
_CONV3X3 = 643_689 / (8 * 8 * 64 * 27)  # 5.82 (valid 3x3 on 10x10 -> 8x8)
_FC_SMALL = 4_439 / (265 * 3)  # 5.58
_ADD, _ADD_C = 71_644 / 1615, 312_327 / 1615  # 44.4 optimized, 193 ANSI C, cycles per element
_MUL = 30_950 / 1615  # 19.2
_RELU, _RELU_C = 1_856 / 1615, 18_315 / 1615  # 1.15, 11.3

# op class -> (low, high cycles per unit, unit, where the numbers come from)
RATES: dict[str, tuple[float, float, str, str]] = {
    "CONV_2D 1x1": (_CONV1X1_BIG, _CONV1X1_SMALL, "MAC", "ESP-NN conv 1x1 rows (64 ch / 16 ch)"),
    "CONV_2D kxk": (_CONV1X1_SMALL, _CONV3X3, "MAC", "ESP-NN conv rows (16 ch 1x1 / 3x3x3)"),
    "DEPTHWISE_CONV_2D": (191_931 / (16 * 16 * 16 * 9), 2 * 191_931 / (16 * 16 * 16 * 9), "MAC",
                          "ESP-NN depthwise 3x3 row; high = 2x, assumed"),
    "FULLY_CONNECTED": (_CONV1X1_SMALL, _FC_SMALL, "MAC", "ESP-NN 16 ch 1x1 conv / fully connected rows"),
    "ADD": (_ADD / 2, _ADD, "element", "ESP-NN add (external RAM); low = half, assumed for internal RAM"),
    "MUL": (_MUL / 2, _MUL, "element", "ESP-NN mul (external RAM); low = half, assumed for internal RAM"),
    "SUB": (_ADD, _ADD_C, "element", "not in ESP-NN: between optimized and ANSI C add"),
    "RELU": (_RELU, _RELU_C, "element", "ESP-NN relu6 optimized / ANSI C"),
    "LOGISTIC": (20.0, 100.0, "element", "assumed (TFLM reference int8 kernel)"),
    "TANH": (20.0, 100.0, "element", "assumed (TFLM reference int8 kernel)"),
    "TRANSPOSE": (2.0, 10.0, "element", "assumed (data movement)"),
    "STRIDED_SLICE": (2.0, 10.0, "element", "assumed (data movement)"),
    "CONCATENATION": (2.0, 10.0, "element", "assumed (data movement)"),
    "PAD": (2.0, 10.0, "element", "assumed (data movement)"),
    "RESHAPE": (0.0, 1.0, "element", "assumed (a copy at most)"),
    "MEAN": (5.0, 20.0, "element", "assumed, per input element"),
    "QUANTIZE": (5.0, 20.0, "element", "assumed (int8 requantize)"),
    "other": (5.0, 50.0, "element", "assumed"),
}
OP_OVERHEAD = (500.0, 3000.0)  # cycles per op per Invoke (interpreter loop, kernel prologue): assumed
CODE_BYTES = (350_000, 550_000)  # ESP-IDF app + I2S driver + TFLM runtime + 15 kernels + ESP-NN: assumed range
BUDGET_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "deploy" / "esp32s3_budget.json"


def _op_class(c: dict) -> str:
    if c["op"] == "CONV_2D":
        return "CONV_2D 1x1" if c["kernel"] == [1, 1] else "CONV_2D kxk"
    return c["op"] if c["op"] in RATES else "other"


def _units(c: dict) -> int:
    if c["macs"]:
        return c["macs"]
    return c["in_elements"] if c["op"] == "MEAN" else c["out_elements"]


def _dsp_cycles(cfg) -> dict:
    """Front and back end per hop (float32 on the LX7 FPU): operation counts times assumed cycle ranges."""
    n, m, bins, bands = cfg.audio.n_fft, cfg.audio.n_fft // 2, cfg.audio.n_freqs, cfg.erb.n_bands
    from .cgen import erb_sparse

    nnz = len(erb_sparse(cfg)["weights"])
    butterflies = 2 * (m // 2) * int(math.log2(m))  # forward and inverse complex FFTs of n/2 points
    flops = (butterflies * 10 + 2 * bins * 12 + 2 * n * 2 + (3 + 2) * nnz * 2 + bins * 8 + n * 2)
    powf, sqrtf, div = bins, 2 * bins, 3 * bands
    low = flops * 1.0 + powf * 100 + sqrtf * 15 + div * 15
    high = flops * 3.0 + powf * 300 + sqrtf * 40 + div * 40
    return {"flops": int(flops), "powf": powf, "sqrtf": sqrtf, "divisions": div, "cycles": [int(low), int(high)],
            "method": "operation counts of dsp.c; 1-3 cycles per float add/mul, 100-300 per powf, 15-40 per sqrtf or "
                      "division: assumed"}


def esp32s3_budget(tflite: str | Path | None = None, model: str = "micro", cpu_mhz: int = 240) -> dict:
    """The budget as a dict (what scripts/budget_esp32s3.py writes)."""
    from ..config import get_config
    from .esp32s3 import TASK_STACK, arena_with_margin, inspect_tflite

    path = Path(tflite) if tflite else Path(__file__).resolve().parents[1] / "checkpoints" / f"{model}_int8.tflite"
    cfg = get_config(model)
    info, _ = inspect_tflite(path, model)
    from ..export.tflite import strip_tensor_names

    model_bytes = len(strip_tensor_names(path.read_bytes()))  # as the firmware embeds it
    costs = info["op_costs"]
    classes: dict[str, dict] = {}
    for c in costs:
        k = _op_class(c)
        row = classes.setdefault(k, {"ops": 0, "units": 0, "unit": RATES[k][2], "source": RATES[k][3],
                                     "cycles_per_unit": [round(RATES[k][0], 2), round(RATES[k][1], 2)]})
        row["ops"] += 1
        row["units"] += _units(c)
    for row in classes.values():
        lo, hi = row["cycles_per_unit"]
        row["cycles"] = [int(row["units"] * lo), int(row["units"] * hi)]
    n_ops = len(costs)
    overhead = [int(n_ops * OP_OVERHEAD[0]), int(n_ops * OP_OVERHEAD[1])]
    graph = [sum(r["cycles"][i] for r in classes.values()) + overhead[i] for i in (0, 1)]
    dsp = _dsp_cycles(cfg)
    total = [graph[i] + dsp["cycles"][i] for i in (0, 1)]
    hop_ms = cfg.audio.hop_ms
    budget_cycles = int(hop_ms * 1e-3 * cpu_mhz * 1e6)
    ms = [t / (cpu_mhz * 1e3) for t in total]
    central = math.sqrt(total[0] * total[1])
    from .cgen import erb_sparse

    tables = 4 * cfg.audio.n_fft + 4 * len(erb_sparse(cfg)["weights"]) + 3 * 2 * cfg.erb.high_bands
    arena = arena_with_margin(info["arena_bytes"])
    state = sum(int(math.prod(t["shape"])) for k, t in info["inputs"].items() if k != "feat")
    dsp_struct = 4 * (4 * cfg.audio.n_fft + 2 * cfg.audio.n_freqs + 3 * cfg.audio.n_freqs)
    twiddles = 4 * 2 * (cfg.audio.n_fft // 4 + cfg.audio.n_fft // 2 + 1)
    hop = cfg.audio.hop_length
    io = 4 * hop + 2 * hop + 4 * (2 * hop + 3 * cfg.erb.n_bands + 2 * cfg.erb.n_bands) + 5 * cfg.erb.n_bands
    dma = 6 * 240 * (4 + 2)  # IDF default I2S DMA: 6 descriptors x 240 frames, 4-byte rx and 2-byte tx samples
    ram = {"tensor arena (measured + margin)": arena, "model state (int8)": state, "DSP buffers": dsp_struct,
           "FFT twiddles": twiddles, "I/O hop buffers": io, "I2S DMA buffers": dma, "main task stack": TASK_STACK}
    return {
        "model": model, "tflite": path.name, "cpu_mhz": cpu_mhz, "hop_ms": hop_ms,
        "flash": {"model_bytes": model_bytes, "dsp_tables_bytes": tables,
                  "code_bytes_estimate": list(CODE_BYTES),
                  "total_estimate": [model_bytes + CODE_BYTES[0], model_bytes + CODE_BYTES[1]],
                  "note": "code size assumed from typical ESP-IDF + TFLM builds; `idf.py size` on a build replaces it"},
        "ram": {"items": ram, "total": sum(ram.values()), "arena_measured": info["arena_bytes"],
                "note": "static buffers of the generated firmware; ESP-IDF's own heap use (about 30-60 KB) not counted; "
                        "the ESP32-S3 has 512 KB of internal SRAM, PSRAM not needed"},
        "compute": {
            "macs_per_hop": int(sum(c["macs"] for c in costs)), "n_ops": n_ops, "by_op": classes,
            "op_overhead_cycles": overhead, "op_overhead_per_op": list(OP_OVERHEAD),
            "graph_cycles": graph, "dsp": dsp, "total_cycles": total, "total_ms": [round(x, 2) for x in ms],
            "central_ms": round(central / (cpu_mhz * 1e3), 2), "budget_cycles": budget_cycles,
            "share_of_hop": [round(t / budget_cycles, 2) for t in total],
            "source": ESPNN_SOURCE,
            "method": ("cycles = sum over ops of (MACs or elements) x cycles per unit + a per-op interpreter overhead; "
                       "low and high use the best and worst ESP-NN figure for each op class (assumed ranges where "
                       "ESP-NN publishes none); central = geometric mean. An estimate to within a factor of ~2, "
                       "not a measurement."),
        },
    }


def budget_markdown(b: dict) -> str:
    """The budget as Markdown tables (benchmarks/deploy/esp32s3_budget.md)."""
    c, f, r = b["compute"], b["flash"], b["ram"]
    kb = lambda x: f"{x / 1024:.1f} KB"  # noqa: E731
    lines = [f"# ESP32-S3 budget: `{b['model']}` ({b['tflite']}), one {b['hop_ms']:g} ms hop at {b['cpu_mhz']} MHz",
             "", "Generated by `scripts/budget_esp32s3.py`. **Estimates**, not measurements; method below.", "",
             "## Flash", "", "| item | bytes |", "|---|---|",
             f"| model (.tflite as C array, tensor names stripped) | {f['model_bytes']:,} |",
             f"| window and ERB tables | {f['dsp_tables_bytes']:,} |",
             f"| code (ESP-IDF, I2S, TFLM, 15 kernels, ESP-NN) - assumed | {f['code_bytes_estimate'][0]:,} - {f['code_bytes_estimate'][1]:,} |",
             f"| total (estimate) | {f['total_estimate'][0]:,} - {f['total_estimate'][1]:,} |", "",
             "## RAM (static, internal SRAM)", "", "| item | bytes |", "|---|---|"]
    lines += [f"| {k} | {v:,} |" for k, v in r["items"].items()]
    lines += [f"| **total** | **{r['total']:,}** ({kb(r['total'])}) |", "", r["note"] + ".", "",
              "## Compute per hop", "", "| op class | ops | MACs or elements | cycles/unit (low-high) | cycles (low-high) | source |",
              "|---|---|---|---|---|---|"]
    for k, row in sorted(c["by_op"].items(), key=lambda kv: -kv[1]["cycles"][1]):
        lo, hi = row["cycles_per_unit"]
        lines.append(f"| {k} | {row['ops']} | {row['units']:,} {row['unit']}s | {lo:g}-{hi:g} | "
                     f"{row['cycles'][0]:,}-{row['cycles'][1]:,} | {row['source']} |")
    lines += [f"| interpreter overhead | {c['n_ops']} | - | {c['op_overhead_per_op'][0]:g}-{c['op_overhead_per_op'][1]:g} per op | "
              f"{c['op_overhead_cycles'][0]:,}-{c['op_overhead_cycles'][1]:,} | assumed |",
              f"| DSP front + back end | - | {c['dsp']['flops']:,} flops, {c['dsp']['powf']} powf | - | "
              f"{c['dsp']['cycles'][0]:,}-{c['dsp']['cycles'][1]:,} | {c['dsp']['method']} |",
              f"| **total** | | {c['macs_per_hop']:,} MACs | | **{c['total_cycles'][0]:,}-{c['total_cycles'][1]:,}** | |",
              "", f"Per hop: **{c['total_ms'][0]:g}-{c['total_ms'][1]:g} ms** (central {c['central_ms']:g} ms) of the "
              f"{b['hop_ms']:g} ms real-time budget ({c['budget_cycles']:,} cycles) = "
              f"{c['share_of_hop'][0]:.0%}-{c['share_of_hop'][1]:.0%} of one core.", "",
              f"Method: {c['method']}", "", f"Source: {c['source']}.", ""]
    return "\n".join(lines)


def load_budget(path: str | Path | None = None) -> dict:
    """The committed budget (benchmarks/deploy/esp32s3_budget.json)."""
    path = Path(path) if path else BUDGET_PATH
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run `python scripts/budget_esp32s3.py` to write it.")
    return json.loads(path.read_text())
