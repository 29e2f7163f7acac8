"""The generated firmware README (issue 23, deliverable 8): honest status, board and ESP-IDF version,
the cost estimate, what the serial monitor prints (checked against the C sources' format strings),
the cycle counter, overruns and the amplifier's SD/GAIN wiring."""

import re
from pathlib import Path

import pytest

from gtcrn_micro.deploy import esp32s3, generate_esp32s3_project
from gtcrn_micro.deploy.s3cost import s3_profile

TFLITE = Path(__file__).resolve().parents[2] / "gtcrn_micro" / "checkpoints" / "micro_int8.tflite"
TEMPLATE = esp32s3.TEMPLATE


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return generate_esp32s3_project("micro", TFLITE, tmp_path_factory.mktemp("readme") / "fw", ref_seconds=0)


@pytest.fixture(scope="module")
def readme(project):
    return (project.out_dir / "README.md").read_text()


def c_format_regex(fmt: str) -> str:
    """A C printf format as a regex over the README's example line: each conversion is a number, a
    capital-letter stand-in (F, I, X, ...) or a bracketed '[used]'."""
    parts = re.split(r"(%%|%[-+ #0]*\d*(?:\.\d+)?(?:l|ll|z)?[sdufx])", fmt)
    out = []
    for part in parts:
        if part == "%%":
            out.append("%")
        elif part.startswith("%"):
            out.append(r"(?:[\d.,]+|[A-Z]+|\[\w+\]|\w+)")
        else:
            out.append(re.escape(part))
    return "".join(out)


def c_string(source: str, call: str) -> str:
    """The format string of the first ``call(...`` in a C source (adjacent literals joined)."""
    start = source.index(call) + call.index('"')
    literals = re.match(r'(?:\s*"(?:[^"\\]|\\.)*")+', source[start:]).group(0)  # "..." "..." joined by C
    fmt = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', literals)).replace("\\n", "")
    assert fmt, f"no format string after {call!r}"
    return fmt


def test_says_it_was_not_built_or_run_on_a_board(readme):
    assert "not yet built or run on a board" in readme
    assert "have **not** built this project with ESP-IDF, flashed it, or run it on an\nESP32-S3" in readme


def test_names_the_board_and_the_esp_idf_and_tflm_versions_it_pins(readme):
    assert "ESP32-S3-DevKitC-1" in readme and "PSRAM" in readme and "4 MB of flash" in readme
    yml = (TEMPLATE / "main" / "idf_component.yml").read_text()
    idf = re.search(r'idf:\s*"([^"]+)"', yml).group(1)
    tflm = re.search(r'espressif/esp-tflite-micro:\s*"([^"]+)"', yml).group(1)
    assert f"idf `{idf}`" in readme and f"`espressif/esp-tflite-micro` `{tflm}`" in readme
    assert "v" + idf.lstrip(">=") in readme  # "written against the ESP-IDF v5.1 APIs"
    sdk = (TEMPLATE / "sdkconfig.defaults.in").read_text()
    assert "CONFIG_SPIRAM=n" in sdk and "CONFIG_ESPTOOLPY_FLASHSIZE_4MB=y" in sdk  # what the README claims


def test_carries_the_cost_models_estimate_and_says_one_core_may_not_keep_up(readme):
    p = s3_profile(TFLITE, model="micro", arena=False)
    assert (f"**{p['ms_per_hop_low']:.1f} / {p['ms_per_hop_central']:.1f} / {p['ms_per_hop_high']:.1f} ms**"
            in readme)
    shares = " / ".join(f"{100 * p[f'core_share_{k}']:.0f} %" for k in ("low", "central", "high"))
    assert f"**{shares} of one core**" in readme
    assert "an estimate, not a measurement" in readme
    assert p["core_share_low"] > 1 and "Even the low estimate is above one core" in readme  # the shipped step


def test_without_the_calibration_it_says_so_and_still_warns(tmp_path, monkeypatch):
    import gtcrn_micro.deploy.s3cost as s3cost

    def missing(*args, **kwargs):
        raise FileNotFoundError("calibration missing")

    monkeypatch.setattr(s3cost, "s3_profile", missing)
    text = esp32s3.cost_paragraph(TFLITE, "micro")
    assert "No estimate in this install" in text and "one core may not keep up" in text


def test_serial_monitor_lines_match_the_firmwares_log_formats(readme, project):
    main_cc = (TEMPLATE / "main" / "main.cc").read_text()
    runner_cc = (TEMPLATE / "main" / "model_runner.cc").read_text()
    tag_main = re.search(r'TAG = "(\w+)"', main_cc).group(1)
    tag_runner = re.search(r'TAG = "(\w+)"', runner_cc).group(1)
    start = c_string(main_cc, 'ESP_LOGI(TAG, "%d Hz')
    ready = c_string(runner_cc, 'ESP_LOGI(TAG, "%s step')
    lines = readme.splitlines()
    assert any(re.fullmatch(r"I \(\.\.\.\) " + tag_runner + ": " + c_format_regex(ready), ln) for ln in lines), ready
    assert any(re.fullmatch(r"I \(\.\.\.\) " + tag_main + ": " + c_format_regex(start), ln) for ln in lines), start
    assert f"{tag_main}: 16000 Hz, hop 256, n_fft 512: enhancing" in readme
    settings = (project.out_dir / "main" / "model_settings.h").read_text()
    n_states = re.search(r"#define GTCRN_NUM_STATES (\d+)", settings).group(1)
    state_bytes = re.search(r"#define GTCRN_STATE_BYTES (\d+)", settings).group(1)
    assert f"{n_states} states ({state_bytes} bytes)" in readme
    for failure in ("model init failed; stopping", "Invoke failed"):
        assert failure in main_cc and failure in readme


def test_explains_the_cycle_counter_line(readme):
    main_cc = (TEMPLATE / "main" / "main.cc").read_text()
    fmt = c_string(main_cc, 'printf("gtcrn cycles/hop')
    assert any(re.fullmatch(c_format_regex(fmt), ln) for ln in readme.splitlines()), fmt
    assert "CONFIG_GTCRN_CYCLE_COUNTER=y" in readme and "3,840,000 cycles" in readme  # 16 ms at 240 MHz
    kconfig = (TEMPLATE / "main" / "Kconfig.projbuild.in").read_text()
    assert "config GTCRN_CYCLE_COUNTER" in kconfig and "config GTCRN_REPORT_HOPS" in kconfig
    assert f"default {esp32s3.REPORT_HOPS}, i.e. every 4 s" in readme


def test_says_what_an_overrun_sounds_like_and_how_it_is_reported(readme):
    section = readme[readme.index("## When a hop overruns") :]
    section = section[: section.index("\n## ", 5)]
    assert "Nothing in the firmware detects an overrun" in section
    assert "above 100 %" in section and "stuttering" in section and "dropped" in section


def test_wiring_names_the_amplifiers_sd_and_gain_pins(readme):
    assert "SD unconnected" in readme and "SD to GND mutes" in readme
    assert "GAIN unconnected: 9 dB" in readme and "L/R to GND" in readme
    assert "@@" not in readme
