"""Every command that reads a .tflite refuses a bad one in one sentence on stderr, with exit code 2.

Bad files: missing, a folder, empty, a few bytes, text, a torch checkpoint renamed, cut in half,
damaged inside, a TFLite model of another graph (its inputs named otherwise), and the shipped
step of another kind (16x8 where int8 is asked for). Each is refused before TensorFlow loads.
"""

import pytest

from gtcrn_micro.cli import main
from gtcrn_micro.export.tflite import read_model, read_tflite_checked, write_model
from gtcrn_micro.inference.enhancer import shipped_checkpoint
from tests.inference._fixtures import make_pairs, single_thread  # noqa: F401  (autouse fixture)

SHIPPED = shipped_checkpoint("micro").with_name("micro_int8.tflite")


def _damaged(data: bytes) -> bytes:
    """The shipped step with its root table offset pointing past the end: what a bad copy can leave."""
    return (len(data) + 1000).to_bytes(4, "little") + data[4:]


def _constant_without_data(data: bytes) -> bytes:
    """The shipped step with one weight tensor pointing at the empty buffer (the interpreter fails only when run)."""
    model = read_model(data)
    sg = model.subgraphs[0]
    i = next(i for i, t in enumerate(sg.tensors) if t.buffer and model.buffers[t.buffer].data is not None)
    sg.tensors[i].buffer = 0
    return write_model(model)


def _state_scale_changed(data: bytes) -> bytes:
    """The shipped step with one state output's scale changed: it parses and loads, and fails when streamed."""
    model = read_model(data)
    sg = model.subgraphs[0]
    out = next(t.tensorIndex for t in model.signatureDefs[0].outputs if t.name == b"output_1")  # a state (0: mask)
    sg.tensors[out].quantization.scale = [2.0 * float(sg.tensors[out].quantization.scale[0])]
    return write_model(model)


def _other_graph(data: bytes) -> bytes:
    """A valid TFLite model whose inputs are not the micro step's (renamed in the signature)."""
    model = read_model(data)
    for t in model.signatureDefs[0].inputs:
        t.name = b"x_" + t.name
    return write_model(model)


BAD = {  # name -> (bytes, or None for a missing file / "dir" for a folder; words the error must contain)
    "missing": (None, "does not exist"),
    "folder": ("dir", "is a folder"),
    "empty": (b"", "is empty"),
    "few_bytes": (b"TFL", "not a TFLite model"),
    "text": (b"this is not a model\n" * 20, "not a TFLite model"),
    "torch_checkpoint": (b"PK\x03\x04" + b"\x00" * 400, "not a TFLite model"),
    "truncated": (lambda d: d[: len(d) // 2], "truncated or corrupt"),
    "damaged": (_damaged, "truncated or corrupt"),
    "constant_without_data": (_constant_without_data, "has no data"),
}


def _write(tmp_path, name):
    content, words = BAD[name]
    path = tmp_path / f"{name}.tflite"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content(SHIPPED.read_bytes()) if callable(content) else content)
    return path, words


def one_error_line(capsys, command):
    out, err = capsys.readouterr()
    err = err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    assert err.startswith(f"gtcrn-micro {command}: error: "), err
    return err


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("pairs"), n=1, seconds=0.5)


@pytest.mark.parametrize("name", list(BAD))
def test_checked_reader_names_the_problem(tmp_path, name):
    path, words = _write(tmp_path, name)
    with pytest.raises((ValueError, FileNotFoundError), match=words):
        read_tflite_checked(path)


def test_checked_reader_reads_the_shipped_steps():
    for kind in ("float", "int8", "int16x8"):
        model, data = read_tflite_checked(SHIPPED.with_name(f"micro_{kind}.tflite"))
        assert data[4:8] == b"TFL3" and model.subgraphs[0].operators


@pytest.mark.parametrize("runtime", ["litert", "tflm"])
@pytest.mark.parametrize("name", list(BAD))
def test_enhance(tmp_path, pairs, capsys, name, runtime):
    path, words = _write(tmp_path, name)
    args = ["enhance", str(pairs[0] / "p000.wav"), "-o", str(tmp_path / "out.wav"), "--backend", "tflite-int8",
            "--runtime", runtime, "--checkpoint", str(path)]
    assert main(args) == 2
    assert words in one_error_line(capsys, "enhance")
    assert not (tmp_path / "out.wav").exists()


@pytest.mark.parametrize("name", list(BAD))
def test_evaluate(tmp_path, pairs, capsys, name):
    path, words = _write(tmp_path, name)
    args = ["evaluate", "--noisy", str(pairs[0]), "--clean", str(pairs[1]), "--no-progress",
            "--backend", "tflite-int8", "--checkpoint", str(path)]
    assert main(args) == 2
    assert words in one_error_line(capsys, "evaluate")


@pytest.mark.parametrize("name", list(BAD))
def test_deploy(tmp_path, capsys, name):
    path, words = _write(tmp_path, name)
    assert main(["deploy", "esp32s3", "--tflite", str(path), "-o", str(tmp_path / "proj")]) == 2
    assert words in one_error_line(capsys, "deploy")
    assert not (tmp_path / "proj").exists()


@pytest.mark.parametrize("name", list(BAD))
def test_profile_target(tmp_path, capsys, name):
    path, words = _write(tmp_path, name)
    assert main(["profile", "--target", "esp32s3", "--tflite", str(path)]) == 2
    assert words in one_error_line(capsys, "profile")


@pytest.mark.parametrize("command", ["enhance", "evaluate"])
def test_a_model_of_another_graph(tmp_path, pairs, capsys, command):
    path = tmp_path / "other.tflite"
    path.write_bytes(_other_graph(SHIPPED.read_bytes()))
    io = (["enhance", str(pairs[0] / "p000.wav"), "-o", str(tmp_path / "out.wav")] if command == "enhance"
          else ["evaluate", "--noisy", str(pairs[0]), "--clean", str(pairs[1]), "--no-progress"])
    assert main([*io, "--backend", "tflite-int8", "--checkpoint", str(path)]) == 2
    assert "not a step of the micro model" in one_error_line(capsys, command)


def test_a_step_of_another_kind(tmp_path, pairs, capsys):
    other = SHIPPED.with_name("micro_int16x8.tflite")
    args = ["enhance", str(pairs[0] / "p000.wav"), "-o", str(tmp_path / "out.wav"), "--backend", "tflite-int8",
            "--checkpoint", str(other)]
    assert main(args) == 2
    assert "is the int16x8 step, not the int8 one; pass --backend tflite-int16x8" in one_error_line(capsys, "enhance")



def test_a_step_that_fails_when_it_runs(tmp_path, pairs, capsys):
    path = tmp_path / "rescaled.tflite"
    path.write_bytes(_state_scale_changed(SHIPPED.read_bytes()))
    args = ["enhance", str(pairs[0] / "p000.wav"), "-o", str(tmp_path / "out.wav"), "--backend", "tflite-int8",
            "--checkpoint", str(path)]
    assert main(args) == 2
    assert "rescaled.tflite could not be run" in one_error_line(capsys, "enhance")
    assert not (tmp_path / "out.wav").exists()
