"""The generated ESP-IDF project (issue 7): files, C array round trip, settings, op resolver, host test, CLI."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gtcrn_micro.audio.erb import erb_filterbank
from gtcrn_micro.audio.stft import window
from gtcrn_micro.cli import main
from gtcrn_micro.config import get_config
from gtcrn_micro.deploy import (BANNER, arena_with_margin, generate_esp32s3_project, op_method, parse_model_array,
                                read_reference_vectors, run_host_test)
from gtcrn_micro.export.tflite import strip_tensor_names

TFLITE = Path(__file__).resolve().parents[2] / "gtcrn_micro" / "checkpoints" / "micro_int8.tflite"
HAVE_CC = shutil.which("make") is not None and (shutil.which("cc") or shutil.which("gcc")) is not None
needs_cc = pytest.mark.skipif(not HAVE_CC, reason="no C compiler (cc) or make on PATH: the host test needs them")

EXPECTED = ["CMakeLists.txt", "README.md", "sdkconfig.defaults", "main/CMakeLists.txt", "main/idf_component.yml",
            "main/Kconfig.projbuild", "main/main.cc", "main/model_runner.cc", "main/model_runner.h", "main/audio_io.c",
            "main/audio_io.h", "main/dsp.c", "main/dsp.h", "main/model_data.cc", "main/model_data.h",
            "main/model_settings.h", "main/erb_tables.h", "main/op_resolver.h", "host_test/Makefile",
            "host_test/test_dsp.c", "host_test/ref_vectors.bin"]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return generate_esp32s3_project("micro", TFLITE, tmp_path_factory.mktemp("deploy") / "esp32s3")


@pytest.fixture(scope="module")
def embedded(project, tmp_path_factory):
    """The model decoded from model_data.cc, read and run under TFLM in a child process."""
    tmp = tmp_path_factory.mktemp("embedded")
    model = tmp / "embedded.tflite"
    model.write_bytes(parse_model_array((project.out_dir / "main/model_data.cc").read_text()))
    out = tmp / "out.json"
    proc = subprocess.run([sys.executable, str(Path(__file__).with_name("_embedded_check.py")), str(model),
                           str(project.out_dir / "host_test/ref_vectors.bin"), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(out.read_text())


def defines(text: str) -> dict[str, str]:
    return dict(re.findall(r"^#define (\w+) (.+)$", text, re.M))


def c_value(v: str):
    v = v.strip()
    if v.startswith('"'):
        return v.strip('"')
    return float.fromhex(v[:-1]) if "0x" in v and "p" in v else int(v)


def c_floats(text: str, name: str) -> np.ndarray:
    body = text[text.index(name) :]
    body = body[body.index("{") + 1 : body.index("};")]
    return np.array([float.fromhex(t.strip()[:-1]) for t in body.split(",") if t.strip()], np.float32)


def c_ints(text: str, name: str) -> np.ndarray:
    body = text[text.index(name) :]
    body = body[body.index("{") + 1 : body.index("};")]
    return np.array([int(t) for t in body.split(",") if t.strip()])


def test_project_has_every_file(project):
    for rel in EXPECTED:
        assert (project.out_dir / rel).is_file(), rel
    assert sorted(project.files) == sorted(EXPECTED)
    yml = (project.out_dir / "main/idf_component.yml").read_text()
    assert "espressif/esp-tflite-micro" in yml
    sdk = (project.out_dir / "sdkconfig.defaults").read_text()
    assert "CONFIG_ESP_DEFAULT_CPU_FREQ_MHZ=240" in sdk and 'CONFIG_IDF_TARGET="esp32s3"' in sdk
    assert "CONFIG_SPIRAM=n" in sdk and "CONFIG_GTCRN_CYCLE_COUNTER=n" in sdk
    assert "@@" not in "".join((project.out_dir / f).read_text() for f in EXPECTED if not f.endswith(".bin"))
    main_cc = (project.out_dir / "main/main.cc").read_text()
    assert "esp_cpu_get_cycle_count" in main_cc and "CONFIG_GTCRN_CYCLE_COUNTER" in main_cc


def test_generated_files_carry_the_banner(project):
    for rel in ("main/model_data.cc", "main/model_data.h", "main/model_settings.h", "main/erb_tables.h",
                "main/op_resolver.h"):
        assert (project.out_dir / rel).read_text().startswith(BANNER), rel


def test_c_array_decodes_to_the_tflite_without_tensor_names(project):
    from gtcrn_micro.export.tflite import read_model

    text = (project.out_dir / "main/model_data.cc").read_text()
    data = parse_model_array(text)
    assert data == strip_tensor_names(TFLITE.read_bytes())
    assert "alignas(16)" in text
    assert f"g_gtcrn_model_data_len = {len(data)};" in text
    # the same graph: ops, tensor shapes, types, quantization and buffers; only the names differ
    a, b = read_model(TFLITE), read_model(data)
    sa, sb = a.subgraphs[0], b.subgraphs[0]
    assert [(o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in sa.operators] == \
        [(o.opcodeIndex, list(o.inputs), list(o.outputs)) for o in sb.operators]
    for ta, tb in zip(sa.tensors, sb.tensors, strict=True):
        assert (list(ta.shape), ta.type, ta.buffer) == (list(tb.shape), tb.type, tb.buffer) and tb.name is None
        qa, qb = ta.quantization, tb.quantization
        assert (qa is None) == (qb is None)
        if qa is not None:
            for field in ("scale", "zeroPoint"):
                assert np.array_equal(np.asarray(getattr(qa, field)), np.asarray(getattr(qb, field))), field
    assert [bytes(x.data) if x.data is not None else b"" for x in a.buffers] == \
        [bytes(x.data) if x.data is not None else b"" for x in b.buffers]


def test_embedded_model_is_full_integer_and_its_ops_are_exactly_the_resolvers(project, embedded):
    assert embedded["summary"]["float_tensors"] == []
    resolver = (project.out_dir / "main/op_resolver.h").read_text()
    registered = re.findall(r"r\.(Add\w+)\(\)", resolver)
    ops = embedded["summary"]["ops"]
    assert sorted(registered) == sorted(op_method(op) for op in ops)
    assert len(registered) == len(set(registered))
    assert f"MicroMutableOpResolver<GTCRN_NUM_OPS>" in resolver
    assert int(defines(resolver)["GTCRN_NUM_OPS"]) == len(ops)


def test_op_methods_are_tflm_names():
    known = {"CONV_2D": "AddConv2D", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "FULLY_CONNECTED": "AddFullyConnected",
             "STRIDED_SLICE": "AddStridedSlice", "LOGISTIC": "AddLogistic", "QUANTIZE": "AddQuantize",
             "CONCATENATION": "AddConcatenation", "MEAN": "AddMean", "PADV2": "AddPadV2", "RELU6": "AddRelu6",
             "AVERAGE_POOL_2D": "AddAveragePool2D", "BATCH_MATMUL": "AddBatchMatMul"}
    assert {op: op_method(op) for op in known} == known


def test_model_settings_come_from_the_config_and_the_tflite(project, embedded):
    cfg = get_config("micro")
    d = {k: c_value(v) for k, v in defines((project.out_dir / "main/model_settings.h").read_text()).items()}
    assert (d["GTCRN_SAMPLE_RATE"], d["GTCRN_N_FFT"], d["GTCRN_HOP"], d["GTCRN_N_FREQS"]) == (
        cfg.audio.sample_rate, cfg.audio.n_fft, cfg.audio.hop_length, cfg.audio.n_freqs)
    assert (d["GTCRN_ERB_LOW_BINS"], d["GTCRN_ERB_HIGH_BANDS"], d["GTCRN_N_BANDS"]) == (
        cfg.erb.low_bins, cfg.erb.high_bands, cfg.erb.n_bands)
    assert d["GTCRN_COMPRESS_EXPONENT"] == np.float32(cfg.model.compress_exponent)
    io = embedded["io"]
    feat, mask = io["inputs"]["feat"], io["outputs"]["mask"]
    assert d["GTCRN_FEAT_SIZE"] == np.prod(feat["shape"]) == 3 * cfg.erb.n_bands
    assert d["GTCRN_MASK_SIZE"] == np.prod(mask["shape"]) == 2 * cfg.erb.n_bands
    assert (d["GTCRN_FEAT_INPUT_INDEX"], d["GTCRN_FEAT_ZERO_POINT"]) == (feat["position"], feat["zero_point"])
    assert d["GTCRN_FEAT_SCALE"] == np.float32(feat["scale"])
    assert (d["GTCRN_MASK_OUTPUT_INDEX"], d["GTCRN_MASK_ZERO_POINT"]) == (mask["position"], mask["zero_point"])
    assert d["GTCRN_MASK_SCALE"] == np.float32(mask["scale"])
    assert d["GTCRN_MASK_NHWC"] == int(mask["shape"] == [1, 1, cfg.erb.n_bands, 2])
    assert d["GTCRN_ARENA_MEASURED_BYTES"] == io["arena_bytes"]
    assert d["GTCRN_ARENA_BYTES"] == arena_with_margin(io["arena_bytes"]) > io["arena_bytes"]
    assert d["GTCRN_MODEL_BYTES"] == len(strip_tensor_names(TFLITE.read_bytes())) < 0.9 * TFLITE.stat().st_size
    # every state: name, positions, size, scale and zero point, equal on input and output
    text = (project.out_dir / "main/model_settings.h").read_text()
    rows = re.findall(r'\{"(\w+)", (\d+), (\d+), (\d+), (\d+), \d, \{[\d, ]+\}, ([^,]+), (-?\d+)\}', text)
    states = [k for k in io["inputs"] if k != "feat"]
    assert [r[0] for r in rows] == states and d["GTCRN_NUM_STATES"] == len(states)
    offset = 0
    for name, i, o, off, size, scale, zp in rows:
        t_in, t_out = io["inputs"][name], io["outputs"][f"{name}_out"]
        assert (int(i), int(o), int(off), int(size)) == (t_in["position"], t_out["position"], offset,
                                                         np.prod(t_in["shape"]))
        assert float.fromhex(scale[:-1]) == np.float32(t_in["scale"]) == np.float32(t_out["scale"])
        assert int(zp) == t_in["zero_point"] == t_out["zero_point"]
        offset += int(size)
    assert d["GTCRN_STATE_BYTES"] == offset


def test_erb_tables_reproduce_the_filterbank_and_window(project):
    cfg = get_config("micro")
    text = (project.out_dir / "main/erb_tables.h").read_text()
    assert np.array_equal(c_floats(text, "kGtcrnWindow["), window(cfg.audio).numpy())
    fb = erb_filterbank(cfg.audio, cfg.erb)
    start, count, offset = (c_ints(text, f"kGtcrnErb{k}[") for k in ("Start", "Count", "Offset"))
    weights = c_floats(text, "kGtcrnErbWeights[")
    dense = np.zeros_like(fb)
    for b in range(len(start)):
        dense[b, start[b] : start[b] + count[b]] = weights[offset[b] : offset[b] + count[b]]
    assert np.array_equal(dense, fb)


def test_reference_vectors_are_the_tflite_enhancer_output(embedded):
    # the embedded copy has no tensor names (a fifth of the file) and still computes the reference output
    assert embedded["named_tensors"] == 0 and embedded["tensors"] > 400
    assert embedded["enhancer_max_diff"] < 1e-6


@needs_cc
def test_host_test_passes(project):
    rc, out = run_host_test(project.out_dir)
    last = out.strip().splitlines()[-1]
    assert rc == 0, out
    assert re.fullmatch(r"\d+ passed, 0 failed", last)


@needs_cc
def test_host_test_fails_on_a_corrupted_reference(project, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(project.out_dir, bad)
    ref_path = bad / "host_test/ref_vectors.bin"
    ref = read_reference_vectors(ref_path)
    raw = bytearray(ref_path.read_bytes())
    n = len(ref["wav"])
    out_start = len(raw) - 4 * n  # the expected audio is the last block
    tail = np.frombuffer(raw[out_start:], "<f4").copy()
    tail[n // 2] += 0.01  # one sample off by 1 % of full scale
    raw[out_start:] = tail.tobytes()
    ref_path.write_bytes(bytes(raw))
    rc, out = run_host_test(bad)
    assert rc != 0
    assert re.search(r"^\d+ passed, [1-9]\d* failed$", out, re.M), out  # make adds its own error line after it


def test_cli_deploys_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "proj"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["deploy", "esp32s3", "--model", "micro", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["deploy", "esp32s3", "--model", "micro", "-o", str(out), "--force"]) == 0
    assert "ESP-IDF project" in capsys.readouterr().out
    assert (out / "main/model_data.cc").is_file() and (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("args, words", [
    (["--model", "gtcrn"], "Only the micro and s3 models"),
    (["--tflite", "missing.tflite"], "does not exist"),
    (["--tflite", "model.onnx"], "not a .tflite"),
])
def test_cli_refusals_are_one_sentence(tmp_path, capsys, args, words):
    (tmp_path / "model.onnx").write_bytes(b"onnx")
    args = [a if not a.endswith((".tflite", ".onnx")) else str(tmp_path / a) for a in args]
    assert main(["deploy", "esp32s3", *args, "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_cli_refuses_a_float_model(tmp_path, capsys):
    flt = TFLITE.with_name("micro_float.tflite")
    if not flt.exists():
        pytest.skip("no shipped float model to try")
    assert main(["deploy", "esp32s3", "--tflite", str(flt), "-o", str(tmp_path / "out")]) == 2
    assert "not a full-int8" in capsys.readouterr().err


def test_budget_is_a_range_built_from_the_tflite():
    from gtcrn_micro.deploy.budget import budget_markdown, esp32s3_budget

    b = esp32s3_budget(TFLITE)
    c = b["compute"]
    assert c["macs_per_hop"] > 100_000 and c["n_ops"] == sum(r["ops"] for r in c["by_op"].values())
    assert 0 < c["total_cycles"][0] < c["total_cycles"][1]
    assert b["flash"]["model_bytes"] == len(strip_tensor_names(TFLITE.read_bytes()))
    assert b["ram"]["items"]["tensor arena (measured + margin)"] == arena_with_margin(b["ram"]["arena_measured"])
    assert "ESP-NN" in c["source"] and "Estimates" in budget_markdown(b)
