"""The command line is fast to ask and quiet to use: `--help` loads neither torch nor TensorFlow,
and TensorFlow's start-up lines stay off stderr unless `--verbose` is given."""

import os
import subprocess
import sys

import pytest

import gtcrn_micro
from gtcrn_micro._quiet import filtered_stderr
from gtcrn_micro.cli import COMMANDS
from gtcrn_micro.inference import BACKENDS
from gtcrn_micro.inference._names import BACKEND_NAMES, TFLITE_KINDS
from gtcrn_micro.inference.enhancer import shipped_checkpoint

HEAVY = ("torch", "tensorflow", "onnx", "onnx2tf", "ai_edge_litert")

HELP_CODE = """
import sys
from gtcrn_micro.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    assert stop.code == 0, stop.code
print("heavy:" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


def _help_imports(*args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", HELP_CODE.format(heavy=HEAVY), *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "usage: gtcrn-micro" in out.stdout
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("heavy:"), out.stdout
    return [m for m in last.removeprefix("heavy:").split(",") if m]


def test_top_level_help_imports_nothing_heavy():
    assert _help_imports("--help") == []


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_help_imports_nothing_heavy(command):
    assert _help_imports(command, "--help") == []


def test_import_gtcrn_micro_is_light_and_keeps_every_name():
    code = f"import sys, gtcrn_micro as gm; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "[]", out.stderr
    for name in gtcrn_micro.__all__:  # the book's gm.<name>
        assert getattr(gtcrn_micro, name) is not None, name
    assert set(gtcrn_micro.__all__) <= set(dir(gtcrn_micro))


def test_sub_packages_resolve_as_attributes():
    """The book writes gm.inference.shipped_checkpoint, gm.export.TFLITE_SOURCE, ...: sub-packages are attributes."""
    import gtcrn_micro as gm

    for sub in ("audio", "data", "model", "training", "streaming", "export", "inference", "deploy"):
        assert getattr(gm, sub).__name__ == f"gtcrn_micro.{sub}"
    assert callable(gm.inference.shipped_checkpoint) and isinstance(gm.export.TFLITE_SOURCE, str)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        gm.not_a_name


def test_the_cli_lists_the_backends_that_exist():
    """The CLI reads backend names from a light module so that `--help` loads no model; they must not drift."""
    from gtcrn_micro.export.tflite import KINDS

    assert tuple(TFLITE_KINDS) == tuple(KINDS)
    assert set(BACKEND_NAMES) <= set(BACKENDS)


def test_filtered_stderr_drops_known_lines_only(capfd):
    with filtered_stderr():
        os.write(2, b"W0000 00:00:1.0   1 computation_placer.cc:177] computation placer already registered.\n"
                    b"a line of news\n"
                    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
    assert capfd.readouterr().err == "a line of news\n"


def _enhance(tmp_path, *extra):
    src = shipped_checkpoint("micro").parents[1] / "assets" / "samples" / "speech_en_1.flac"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "gtcrn_micro", "enhance", str(src), "-o", str(tmp_path / "enh.wav"),
                           "--backend", "tflite-int8", *extra], capture_output=True, text=True, timeout=600, env=env)


def test_enhance_with_tflite_int8_prints_nothing_on_stderr(tmp_path):
    out = _enhance(tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert "enh.wav" in out.stdout
