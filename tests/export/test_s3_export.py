"""The S3-native step exports with no op that leaves ESP-NN's fast kernels, and keeps parity at every stage."""

import numpy as np
import pytest
import torch

from gtcrn_micro.config import get_config
from gtcrn_micro.export import ExportError, export_model, model_summary, record_trace
from gtcrn_micro.export.opcheck import check_s3_graph, count_findings, graph_findings
from gtcrn_micro.export.tflite import drop_output_transposes, read_model
from gtcrn_micro.model import build_model

from .test_export import noisy_features

SMALL = get_config("s3").with_model(dilations=(1, 2), dual_path="gru", dp_blocks=1)  # the GRU-as-convs path; tcn: deploy test


def small_s3(**options):
    torch.manual_seed(0)
    model = build_model(SMALL.with_model(**options)).eval()
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1), mod.running_var.uniform_(0.5, 1.5)
    return model


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = small_s3()
    trace = record_trace(model, noisy_features(model, 1.0))
    out = tmp_path_factory.mktemp("s3")
    return model, trace, out, export_model(model, out, trace, kinds=("float", "int8"))


def test_step_graph_has_no_slow_path_op(exported):
    _, _, out, report = exported
    data = (out / "step_int8.tflite").read_bytes()
    assert graph_findings(data) == []
    assert report["slow_path_ops"]["int8"] == {"transpose": 0, "grouped": 0, "dilated": 0, "multiplier": 0, "broadcast": 0}
    ops = model_summary(data)["ops"]
    assert "TRANSPOSE" not in ops
    assert ops.get("TANH", 0) == SMALL.model.dp_blocks  # the GRU candidates only: the mask leaves the graph linear
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D"} <= set(ops)


def test_inputs_take_the_nhwc_layout(exported):
    model, _, out, _ = exported
    sg = read_model(out / "step_int8.tflite").subgraphs[0]
    shapes = {tuple(int(d) for d in sg.tensors[i].shape) for i in sg.inputs}
    assert (1, 1, 129, 3) in shapes  # feat (1,3,1,129) in NCHW


def test_parity_at_every_stage(exported):
    _, _, _, report = exported
    assert report["onnx_snr_db"] > 80 and report["float"]["snr_vs_torch_db"] > 80
    assert report["int8"]["snr_vs_torch_db"] > 20  # random weights; the trained model's figure is a benchmark
    assert report["int8"]["tflm_identical_to_litert"]


def test_check_names_the_offending_ops(exported):
    """The old micro layout (every input kept NCHW) is full of transposes: the check names them."""
    from gtcrn_micro.export.graph import StepGraph, export_onnx
    from gtcrn_micro.export.tflite import onnx_to_saved_model, quantize

    model, trace, out, _ = exported
    graph = StepGraph(model)
    saved = onnx_to_saved_model(export_onnx(model, out / "nchw.onnx"), out / "nchw_saved", graph.input_names)
    data = quantize(saved, "float")
    counts = count_findings(graph_findings(data))
    assert counts["transpose"] > 0
    with pytest.raises(ExportError, match=r"op \d+ TRANSPOSE: transpose"):
        check_s3_graph(data, "nchw.tflite")
    cleaned, changed = drop_output_transposes(data)
    assert len(read_model(cleaned).subgraphs[0].operators) <= len(read_model(data).subgraphs[0].operators)


def test_findings_flag_broadcast_grouped_and_dilated(tmp_path):
    """A small torch graph with one of each: the check finds each, by kind."""
    from torch import nn

    from gtcrn_micro.export.graph import export_onnx  # noqa: F401  (same converter path as the pipeline)
    from gtcrn_micro.export.tflite import onnx_to_saved_model, quantize

    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.grouped = nn.Conv2d(16, 16, (1, 3), padding=(0, 1), groups=2)
            self.dilated = nn.Conv2d(16, 16, (1, 3), padding=(0, 2), dilation=(1, 2))

        def forward(self, x):
            y = self.dilated(self.grouped(x))
            return y * y.mean(dim=(2, 3), keepdim=True)  # (1,16,1,33) * (1,16,1,1): broadcasting MUL

    torch.onnx.export(Bad().eval(), (torch.randn(1, 16, 1, 33),), str(tmp_path / "bad.onnx"), opset_version=17,
                      dynamo=False, input_names=["x"], output_names=["y"])
    data = quantize(onnx_to_saved_model(tmp_path / "bad.onnx", tmp_path / "bad", []), "float")
    counts = count_findings(graph_findings(data))
    assert counts["grouped"] >= 1 and counts["dilated"] >= 1 and counts["broadcast"] >= 1
