import pytest
import torch

from gtcrn_micro.model import build_model
from gtcrn_micro.training import TrainConfig, train
from gtcrn_micro.training.bounds import ActivationBound


def test_penalty_is_zero_inside_the_bound_and_grows_with_the_tails():
    torch.manual_seed(0)
    model = build_model("micro").eval()
    spec = torch.randn(1, 257, 20, 2) * 30
    with ActivationBound(model, bound=1e6) as wide:
        model(spec)
    assert wide.penalty().item() == 0.0 and wide.peak() > 0
    with ActivationBound(model, bound=0.5) as tight:
        model(spec)
    assert tight.penalty().item() > 0
    # one tensor per watched module: BatchNorm/PReLU outputs, block and decoder-layer inputs
    assert len(tight.tensors) == len(tight._outputs) + len(tight._inputs)
    # leaving the context removes the hooks: nothing more is recorded
    n = len(tight.tensors)
    model(spec)
    assert len(tight.tensors) == n


def test_penalty_gradient_pulls_the_tails_in():
    torch.manual_seed(0)
    model = build_model("micro").train()
    spec = torch.randn(2, 257, 20, 2) * 30
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    ab = ActivationBound(model, bound=0.5)
    first = None
    for _ in range(15):
        with ab:
            model(spec)
        pen = ab.penalty()
        first = float(pen) if first is None else first
        opt.zero_grad()
        pen.backward()
        opt.step()
    with ab:
        model(spec)
    assert ab.penalty().item() < 0.5 * first


def test_bad_uses_are_clear_errors():
    with pytest.raises(ValueError, match="micro model"):
        ActivationBound(build_model("gtcrn"), bound=8.0)
    with pytest.raises(ValueError, match="act_bound"):
        ActivationBound(build_model("micro"), bound=0.0)
    with pytest.raises(RuntimeError, match="forward pass"):
        ActivationBound(build_model("micro"), bound=8.0).penalty()


def test_training_with_the_penalty_records_it(corpus_dirs, tmp_path):
    from .test_trainer import tiny

    history = train(tiny(corpus_dirs, tmp_path, epochs=1, act_penalty=0.1, act_bound=0.5))
    rec = history[0]
    assert rec["train_act_penalty"] > 0 and rec["val_act_peak"] > 0.5
    with pytest.raises(ValueError, match="act_penalty"):  # resuming with another penalty is refused
        train(tiny(corpus_dirs, tmp_path, epochs=2, act_penalty=0.2, act_bound=0.5))
