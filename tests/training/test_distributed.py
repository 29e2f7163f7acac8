"""Training on the hardware a learner has: --device, and data-parallel runs under torchrun (DDP, gloo on CPU)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gtcrn_micro.training.trainer as trainer
from gtcrn_micro.training import PRESETS, TrainConfig, load_checkpoint, train
from gtcrn_micro.training.distributed import Workers, pick_device, shard

TINY = dict(PRESETS["cpu-tiny"]) | dict(steps_per_epoch=6, checkpoint_every=2, val_items=2, val_seconds=1.0)
TINY_ARGS = ["--preset", "cpu-tiny", "--steps-per-epoch", "6", "--checkpoint-every", "2", "--val-items", "2",
             "--val-seconds", "1.0", "--threads", "1", "--no-progress"]  # the same run as TINY on the command line


def tiny(corpus_dirs, out, **kw):
    speech, noise = corpus_dirs
    return TrainConfig(model="micro", speech_dirs=[str(speech)], noise_dirs=[str(noise)], out_dir=str(out),
                       progress=False, threads=1, **(TINY | kw))


def torchrun(corpus_dirs, out, nproc=2):
    """`torchrun --standalone --nproc-per-node N -m gtcrn_micro train ...`, as a user types it."""
    speech, noise = corpus_dirs
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                             "MASTER_PORT")} | {"OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
           "-m", "gtcrn_micro", "train", "--model", "micro", "--speech", str(speech), "--noise", str(noise),
           "--out", str(out), *TINY_ARGS]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return load_checkpoint(Path(out) / "last.pt"), done.stdout


@pytest.fixture(scope="module")
def one_process(corpus_dirs, tmp_path_factory):
    """The reference: one process, the whole batch, device named explicitly; also keeps a copy of the
    checkpoint written at epoch 2, step 2 (what a killed run leaves behind)."""
    out, snapshot = tmp_path_factory.mktemp("one"), tmp_path_factory.mktemp("snapshot") / "last.pt"
    real_save = trainer._save

    def save_and_keep(path, payload):
        real_save(path, payload)
        if path.name == "last.pt" and (payload["epoch"], payload["step_in_epoch"]) == (1, 2):
            shutil.copy(path, snapshot)

    mp = pytest.MonkeyPatch()
    mp.setattr(trainer, "_save", save_and_keep)
    try:
        history = train(tiny(corpus_dirs, out, device="cpu"))
    finally:
        mp.undo()
    return history, out, snapshot


def _train_mode_loss(state: dict, noisy: torch.Tensor, clean: torch.Tensor) -> float:
    """The training loss the weights give on a fixed batch (BatchNorm on batch statistics)."""
    from gtcrn_micro.audio.stft import stft
    from gtcrn_micro.model import build_model
    from gtcrn_micro.training import hybrid_loss

    model = build_model("micro")
    model.load_state_dict(state)
    with torch.no_grad():
        return float(hybrid_loss(model.train()(stft(noisy)), stft(clean), clean.shape[-1])["total"])


def test_shards_of_the_ranks_make_the_global_batch(corpus_dirs, tmp_path):
    train_set, _, _ = trainer.build_datasets(tiny(corpus_dirs, tmp_path))
    train_set.set_epoch(1)
    noisy, clean = trainer._batch(train_set, 3, 4)  # one process: (4,L)
    parts = [trainer._batch(train_set, 3, 4, Workers(rank=r, world_size=2)) for r in range(2)]  # (2,L) each
    assert parts[0][0].shape[0] == 2
    torch.testing.assert_close(torch.cat([p[0] for p in parts]), noisy, rtol=0, atol=0)
    torch.testing.assert_close(torch.cat([p[1] for p in parts]), clean, rtol=0, atol=0)
    assert shard(8, Workers(rank=3, world_size=4)) == (6, 2)
    with pytest.raises(ValueError, match="batch_size 6 does not split evenly over 4 processes"):
        shard(6, Workers(rank=0, world_size=4))


def test_device_choice(monkeypatch, corpus_dirs, tmp_path):
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="auto, cpu or cuda"):
        pick_device("gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ValueError, match="sees no GPU: install a CUDA wheel of torch"):
        pick_device("cuda")
    with pytest.raises(ValueError, match="sees no GPU"):  # before anything is written
        train(tiny(corpus_dirs, tmp_path / "run", device="cuda"))
    assert not (tmp_path / "run").exists()


def test_device_option_on_the_command_line():
    import argparse

    p = argparse.ArgumentParser()
    trainer.add_cli_arguments(p)
    base = ["--speech", "s", "--noise", "n", "--out", "o"]
    assert trainer.config_from_args(p.parse_args(base)).device == "auto"
    assert trainer.config_from_args(p.parse_args(base + ["--device", "cuda"])).device == "cuda"


def test_compile_wraps_the_training_model_with_fixed_shapes(monkeypatch, corpus_dirs, tmp_path):
    calls = []

    def fake_compile(module, **kwargs):  # the real one takes a minute or more on this model
        calls.append(kwargs)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    train(tiny(corpus_dirs, tmp_path / "run", epochs=1, steps_per_epoch=2, compile=True))
    assert calls == [{"dynamic": False}]
    assert "training throughput" in (tmp_path / "run" / "train.log").read_text()
    with pytest.raises(ValueError, match="--compile does not work with --act-penalty"):
        train(tiny(corpus_dirs, tmp_path / "other", compile=True, act_penalty=0.1))


@pytest.mark.slow
def test_two_processes_train_the_same_run_as_one(one_process, corpus_dirs, tmp_path):
    history, out, _ = one_process
    ckpt, stdout = torchrun(corpus_dirs, tmp_path)  # 2 processes, 2 of the 4 examples of each batch each
    ddp = ckpt["history"]
    assert [h["epoch"] for h in ddp] == [1, 2]
    # The training loss is the global batch's: equal to float rounding, also in epoch 2, after 6 steps
    # taken with the averaged gradients.
    for a, b in zip(history, ddp):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
    # The weights compute the same function in training mode (where BatchNorm uses batch statistics).
    train_set, _, _ = trainer.build_datasets(tiny(corpus_dirs, tmp_path))
    noisy, clean = trainer._batch(train_set, 0, 4)
    ref = _train_mode_loss(load_checkpoint(out / "last.pt")["model"], noisy, clean)
    assert _train_mode_loss(ckpt["model"], noisy, clean) == pytest.approx(ref, rel=1e-4)
    # Validation uses BatchNorm's running means, which also hold the biases of the convs before each
    # BatchNorm. Those biases get a zero gradient in exact arithmetic, so Adam moves them by rounding
    # noise, differently in each run: validation agrees only to about a percent.
    assert ddp[-1]["val_loss"] == pytest.approx(history[-1]["val_loss"], rel=0.03)
    # Only rank 0 wrote: one command line, one log line per epoch, one summary printed.
    assert len((tmp_path / "command.txt").read_text().splitlines()) == 1
    log = (tmp_path / "train.log").read_text()
    assert log.count("epoch=1 ") == 1 and "2 process(es) on cpu, 2 of the 4 examples" in log
    assert sum(line.startswith("best validation PESQ") for line in stdout.splitlines()) == 1


@pytest.mark.slow
def test_two_processes_resume_a_one_process_checkpoint(one_process, corpus_dirs, tmp_path):
    history, _, snapshot = one_process
    shutil.copy(snapshot, tmp_path / "last.pt")  # killed at epoch 2, step 2
    ckpt, _ = torchrun(corpus_dirs, tmp_path)
    assert "resumed from" in (tmp_path / "train.log").read_text()
    assert ckpt["history"][0] == history[0]
    assert ckpt["history"][1]["train_loss"] == pytest.approx(history[1]["train_loss"], rel=1e-5)
