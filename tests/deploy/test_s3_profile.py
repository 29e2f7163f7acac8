"""The ESP32-S3 cost model (gtcrn_micro.deploy.s3cost): kernel-path rules on one-op models, the
profile's JSON, the CLI's error on a bad file, and the committed calibration's consistency.
No timing, no valgrind (the calibration test only re-derives the committed numbers)."""

import json
import math
import statistics
from pathlib import Path

import pytest

from gtcrn_micro.cli import main
from gtcrn_micro.deploy._probe import CALIBRATION_PROBES, one_op_model
from gtcrn_micro.deploy.s3cost import CALIBRATION, CALIBRATION_PATH, REFERENCE_X86, kernel_path, op_table, s3_profile
from gtcrn_micro.export.tflite import read_model

TFLITE = Path(__file__).resolve().parents[2] / "gtcrn_micro" / "checkpoints" / "micro_int8.tflite"


def _path(**kw):
    row = op_table(read_model(one_op_model(**kw)))[0]
    return row, kernel_path(row)


def test_broadcasting_add_and_mul_take_the_slow_broadcast_path():
    row, (path, kernel, rule) = _path(op="ADD", input_shape=[1, 4, 1, 16], input2_shape=[1, 1, 1, 16])
    assert row["broadcast"] and path == "reference" and "Broadcast" in kernel and rule == "add/mul broadcast"
    _, (path, _, _) = _path(op="MUL", input_shape=[1, 4, 1, 16], input2_shape=[1, 4, 1, 1])
    assert path == "reference"
    row, (path, kernel, _) = _path(op="ADD", input_shape=[1, 4, 1, 16])
    assert not row["broadcast"] and path == "esp-nn" and "esp_nn_add" in kernel


def test_sub_has_no_esp_nn_kernel():
    _, (path, _, rule) = _path(op="SUB", input_shape=[1, 64])
    assert path == "reference" and rule == "sub"


def test_dilated_convs_run_the_reference_kernels():
    row, (path, kernel, _) = _path(op="CONV_2D", input_shape=[1, 9, 1, 16], filter_shape=[16, 3, 1, 16], dilation=(2, 1))
    assert row["dilation"] == [2, 1] and path == "reference" and "ConvPerChannel" in kernel
    _, (path, kernel, _) = _path(op="DEPTHWISE_CONV_2D", input_shape=[1, 9, 1, 16], filter_shape=[1, 3, 1, 16],
                                 dilation=(2, 1))
    assert path == "reference" and "DepthwiseConvPerChannel" in kernel


def test_pointwise_conv_with_16_channels_is_esp_nn_fast_and_grouped_conv_is_ansi_c():
    row, (path, kernel, _) = _path(op="CONV_2D", input_shape=[1, 8, 8, 16], filter_shape=[16, 1, 1, 16])
    assert path == "esp-nn" and "1x1" in kernel and row["macs"] == 8 * 8 * 16 * 16
    row, (path, kernel, rule) = _path(op="CONV_2D", input_shape=[1, 8, 1, 16], filter_shape=[16, 3, 1, 1])
    assert row["groups"] == 16 and path == "esp-nn-slow" and "ansi" in kernel and rule == "conv groups"


def test_depthwise_simd_wants_multiplier_one_and_channels_multiple_of_8():
    assert _path(op="DEPTHWISE_CONV_2D", input_shape=[1, 8, 8, 16], filter_shape=[1, 3, 3, 16])[1][0] == "esp-nn"
    assert _path(op="DEPTHWISE_CONV_2D", input_shape=[1, 8, 8, 12], filter_shape=[1, 3, 3, 12])[1][0] == "esp-nn-slow"
    assert _path(op="DEPTHWISE_CONV_2D", input_shape=[1, 8, 8, 2], filter_shape=[1, 3, 3, 6],
                 depth_multiplier=3)[1][0] == "esp-nn-slow"


def test_fully_connected_rows_that_lose_alignment_fall_back_to_ansi_c():
    assert _path(op="FULLY_CONNECTED", input_shape=[1, 32], filter_shape=[8, 32])[1][0] == "esp-nn"
    assert _path(op="FULLY_CONNECTED", input_shape=[4, 33], filter_shape=[8, 33])[1][0] == "esp-nn-slow"


def test_profile_of_the_shipped_model_has_the_promised_keys():
    p = s3_profile(TFLITE, arena=False)
    for key in ("ops", "reference_kernel_ops", "ms_per_hop_low", "ms_per_hop_central", "ms_per_hop_high",
                "core_share_central", "core_share_high", "arena_bytes", "model_bytes", "transpose_ops",
                "grouped_convs", "dilated_convs", "broadcast_binary_ops", "logistic_tanh_ops", "op_histogram"):
        assert key in p
    assert p["ops"] == len(p["per_op"]) == sum(p["op_histogram"].values())
    assert p["ms_per_hop_low"] <= p["ms_per_hop_central"] <= p["ms_per_hop_high"]
    assert p["transpose_ops"] == p["op_histogram"].get("TRANSPOSE", 0) > 0
    assert 0 < p["model_bytes"] < TFLITE.stat().st_size
    assert "estimate" in p["note"]
    json.dumps(p)


def test_cli_json_is_the_last_line(capsys):
    assert main(["profile", "--target", "esp32s3", "--tflite", str(TFLITE), "--json"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    p = json.loads(last)
    assert p["arena_bytes"] > 0 and p["core_share_high"] >= p["core_share_central"]


@pytest.mark.parametrize("content", [b"", b"not a flatbuffer at all", None])
def test_cli_rejects_a_bad_tflite_in_one_sentence(tmp_path, capsys, content):
    bad = tmp_path / "bad.tflite"
    if content is None:  # a real model cut in half
        content = TFLITE.read_bytes()[:5000]
    bad.write_bytes(content)
    assert main(["profile", "--target", "esp32s3", "--tflite", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gtcrn-micro profile: error:") and "bad.tflite" in err and len(err.splitlines()) == 1


def test_cli_without_target_keeps_the_parameter_profile(capsys):
    assert main(["profile", "--model", "micro", "--json"]) == 0
    assert "params" in json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_committed_calibration_is_consistent():
    data = json.loads(CALIBRATION_PATH.read_text())
    factors = [r["espnn_ansi_ticks"] / r["x86_instructions"] for r in data["rows"]]
    assert len(factors) == len(CALIBRATION_PROBES)
    cal = data["calibration"]
    assert math.isclose(cal["factor_low"], min(factors), rel_tol=1e-3)
    assert math.isclose(cal["factor_high"], max(factors), rel_tol=1e-3)
    assert math.isclose(cal["factor_central"], statistics.median(factors), rel_tol=1e-3)
    assert CALIBRATION == cal and REFERENCE_X86 == data["reference_x86_per_unit"]
    model = data["model"]
    for op, v in model["by_op"].items():
        assert math.isclose(REFERENCE_X86[op], v["instructions_per_step"] / model["units"][op], rel_tol=1e-3)
    assert 1e7 < model["instructions_per_step"] < 3e7  # the 17.5 M per step for micro_int8
