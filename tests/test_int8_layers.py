"""scripts/int8_layers.py: the TRA rows it picks out of a per-op SNR list, and loading a model as trained."""

import importlib.util
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "int8_layers.py"


@pytest.fixture(scope="module")
def layers():
    spec = importlib.util.spec_from_file_location("int8_layers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def op(op, snr, scale=0.01):
    return {"index": 0, "op": op, "name": op.lower(), "snr_db": snr, "scale": scale}


def test_tra_rows_take_the_energy_op_its_mean_and_the_next_gate(layers):
    rows = []
    for k in range(6):
        rows += [op("CONV_2D", 20.0), op("MUL", 10.0 + k), op("MEAN", 5.0 + k, scale=2.0 * k),
                 op("FULLY_CONNECTED", 9.0), op("LOGISTIC", 30.0 - k), op("LOGISTIC", 1.0)]
    tra = layers.tra_rows(rows)
    assert [t["block"] for t in tra] == list(layers.BLOCKS)
    assert [t["energy_snr_db"] for t in tra] == [10.0 + k for k in range(6)]
    assert [t["mean_snr_db"] for t in tra] == [5.0 + k for k in range(6)]
    assert [t["gate_snr_db"] for t in tra] == [30.0 - k for k in range(6)]  # the first sigmoid after the MEAN
    assert tra[3]["mean_range"] == pytest.approx(255 * 6.0)
    with pytest.raises(ValueError, match="expected 6 MEAN ops"):
        layers.tra_rows(rows[:-6])


def test_model_from_checkpoint_builds_the_options_it_was_trained_with(tmp_path):
    from gtcrn_micro.config import get_config
    from gtcrn_micro.model import build_model
    from gtcrn_micro.training import load_checkpoint, model_from_checkpoint

    cfg = get_config("micro").with_model(tra_energy="square")
    net = build_model(cfg)
    from dataclasses import asdict

    torch.save({"model": net.state_dict(), "model_name": "micro", "model_config": asdict(cfg)}, tmp_path / "a.pt")
    model, ckpt = model_from_checkpoint(tmp_path / "a.pt")
    assert model.cfg.model.tra_energy == "square" and not model.training
    torch.testing.assert_close(model.state_dict(), net.state_dict())
    with pytest.raises(ValueError, match="other model options"):
        load_checkpoint(tmp_path / "a.pt", build_model("micro"))
    torch.save({"model": net.state_dict()}, tmp_path / "b.pt")
    with pytest.raises(ValueError, match="does not say which model"):
        model_from_checkpoint(tmp_path / "b.pt")
