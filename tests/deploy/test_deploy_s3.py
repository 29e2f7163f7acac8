"""The generated ESP-IDF project for an S3-native step: NHWC features and a mask clamped on the host."""

import re

import pytest
import torch

from gtcrn_micro.deploy import generate_esp32s3_project, run_host_test
from gtcrn_micro.export import calibration_trace, export_model
from gtcrn_micro.export.calibration import sample_mixtures
from gtcrn_micro.model import build_model

from .test_deploy import defines, needs_cc


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """The s3 preset (random weights, non-trivial BatchNorm), exported to int8 and generated."""
    torch.manual_seed(0)
    model = build_model("s3").eval()
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1), mod.running_var.uniform_(0.5, 1.5)
    out = tmp_path_factory.mktemp("s3")
    export_model(model, out, calibration_trace(model, [w[:24000] for w in sample_mixtures()[:2]]), kinds=("int8",))
    return generate_esp32s3_project("s3", out / "step_int8.tflite", out / "esp32s3")


def test_settings_say_nhwc_features_and_a_host_clamp(project):
    d = defines((project.out_dir / "main/model_settings.h").read_text())
    assert d["GTCRN_FEAT_NHWC"] == "1" and d["GTCRN_MASK_NHWC"] == "1" and d["GTCRN_MASK_CLAMP"] == "1"
    assert "TRANSPOSE" not in (project.out_dir / "main/op_resolver.h").read_text()


@needs_cc
def test_host_test_passes_on_the_s3_layout(project):
    rc, out = run_host_test(project.out_dir)
    assert rc == 0, out
    assert re.fullmatch(r"\d+ passed, 0 failed", out.strip().splitlines()[-1])
