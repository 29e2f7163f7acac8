"""Our own activation ranges for int8: measured, clipped at the tails, written back for the converter's quantizer."""

import numpy as np
import pytest

from gtcrn_micro.export import StepGraph, load_step, quantize, snr_db, tie_state_quantization
from gtcrn_micro.export.ranges import (TensorRange, apply_ranges, calibrate_only, clipped_ranges, limit_to_saturation,
                                       measure_ranges,
                                       quantize_with_ranges)
from gtcrn_micro.export.tflite import read_model

from .test_export import exported  # noqa: F401  (the module-scoped export of a small micro model)


def _range(values, recorded, bins=1000):
    a, b = recorded
    k = np.clip(((np.asarray(values) - a) * (bins / (b - a))).astype(int), 0, bins - 1)
    return TensorRange("t", recorded, np.bincount(k, minlength=bins), (float(np.min(values)), float(np.max(values))))


def test_tail_zero_gives_exactly_what_was_seen():
    r = _range(np.linspace(-1.0, 2.0, 5000), recorded=(-4.0, 8.0))
    assert clipped_ranges({0: r}, tail=0.0)[0] == r.seen
    assert r.inflation == pytest.approx(4.0)


def test_a_few_outliers_no_longer_set_the_range():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(-1, 1, 100_000), [40.0, -30.0]])  # two outliers in 100k
    lo, hi = clipped_ranges({0: _range(values, (-30.0, 40.0), bins=7000)}, tail=1e-4)[0]
    assert -1.05 < lo < -0.95 and 0.95 < hi < 1.05


def test_clipped_range_stays_inside_what_was_seen():
    values = np.random.default_rng(1).normal(size=20_000)
    r = _range(values, (-10.0, 10.0))
    lo, hi = clipped_ranges({0: r}, tail=1e-3)[0]
    assert r.seen[0] <= lo < hi <= r.seen[1]


@pytest.fixture(scope="module")
def calibrated(exported):  # noqa: F811
    model, trace, out, _ = exported
    names = StepGraph(model).input_names
    return model, trace, out, names, calibrate_only(out / "saved_model", trace, names)


def test_two_step_quantization_without_edits_matches_the_converter(calibrated, tmp_path):
    model, trace, out, names, cal = calibrated
    g = StepGraph(model)
    masks = []
    for name, data in (("one", quantize(out / "saved_model", "int8", trace, names, ranges="minmax")),
                       ("two", quantize_with_ranges(cal))):
        data, _ = tie_state_quantization(data, g.state_names, g.output_names)
        (tmp_path / f"{name}.tflite").write_bytes(data)
        masks.append(load_step(tmp_path / f"{name}.tflite", model).stream(trace["feat"], trace["start"]))
    assert np.array_equal(masks[0], masks[1])


def test_measured_ranges_are_what_the_tensors_hold(calibrated):
    model, trace, _, names, cal = calibrated
    stats = measure_ranges(cal, trace, names)
    assert len(stats) > 50
    feat = [r for r in stats.values() if r.name.endswith("feat:0") or r.name == "serving_default_feat:0"]
    assert feat and feat[0].seen == pytest.approx((float(trace["feat"].min()), float(trace["feat"].max())), abs=1e-6)
    sig = [r for r in stats.values() if "Sigmoid" in r.name]
    assert sig and all(-1e-6 <= r.seen[0] and r.seen[1] <= 1 + 1e-6 for r in sig)
    assert feat[0].hist.sum() == trace["feat"].size  # every value of every step counted once


def test_apply_ranges_writes_the_new_range(calibrated):
    *_, cal = calibrated
    sg = read_model(cal).subgraphs[0]
    i = next(i for i, t in enumerate(sg.tensors) if t.quantization is not None and t.quantization.min is not None
             and len(t.quantization.min) == 1 and i not in sg.inputs)
    t = read_model(apply_ranges(cal, {i: (-0.5, 0.25)})).subgraphs[0].tensors[i]
    assert (t.quantization.min[0], t.quantization.max[0]) == (-0.5, 0.25)


def test_clipped_ranges_do_not_lose_to_recorded_ranges(exported, calibrated, tmp_path):  # noqa: F811
    model, trace, out, names, _ = calibrated
    g = StepGraph(model)
    data, _ = tie_state_quantization(quantize(out / "saved_model", "int8", trace, names, ranges="minmax"),
                                     g.state_names, g.output_names)
    (tmp_path / "minmax.tflite").write_bytes(data)
    snr_minmax = snr_db(trace["mask"], load_step(tmp_path / "minmax.tflite", model).stream(trace["feat"], trace["start"]))
    assert exported[3]["int8"]["snr_vs_torch_db"] > snr_minmax - 0.5


def test_unknown_range_mode_is_refused(exported):  # noqa: F811
    with pytest.raises(ValueError, match="ranges"):
        quantize(exported[2] / "saved_model", "int8", exported[1], ["feat"], ranges="percentile")


def test_saturation_mode_keeps_sigmoid_and_tanh_inputs_where_their_output_changes(calibrated, tmp_path):
    """``clipped-saturation`` (an option; the default ``clipped`` was chosen on held-out audio)."""
    from gtcrn_micro.export.tflite import _op_names, _qparams

    _, trace, out, names, _ = calibrated
    data = quantize(out / "saved_model", "int8", trace, names, ranges="clipped-saturation")
    (tmp_path / "q.tflite").write_bytes(data)
    model = read_model(tmp_path / "q.tflite")
    sg = model.subgraphs[0]
    checked = 0
    for op, name in zip(sg.operators, _op_names(model)):
        if name in ("LOGISTIC", "TANH"):
            scale, zp = _qparams(sg.tensors[op.inputs[0]])
            bound = {"LOGISTIC": 8.0, "TANH": 4.0}[name] + scale
            assert -bound <= (-128 - zp) * scale and (127 - zp) * scale <= bound, name
            checked += 1
    assert checked >= 4


def test_limits_only_touch_listed_tensors():
    ranges = {0: (-20.0, 30.0), 1: (-1.0, 2.0), 2: (-50.0, 50.0)}
    limited = limit_to_saturation(ranges, {0: 8.0, 1: 8.0})
    assert limited == {0: (-8.0, 8.0), 1: (-1.0, 2.0), 2: (-50.0, 50.0)}
