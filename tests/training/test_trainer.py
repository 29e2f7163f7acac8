import json

import numpy as np
import pytest
import torch

import gtcrn_micro.training.trainer as trainer
from gtcrn_micro.training import PRESETS, TrainConfig, load_checkpoint, train


def tiny(corpus_dirs, out, **kw):
    speech, noise = corpus_dirs
    settings = dict(PRESETS["cpu-tiny"]) | dict(steps_per_epoch=6, checkpoint_every=2, val_items=2, val_seconds=1.0)
    settings |= kw
    return TrainConfig(model="micro", speech_dirs=[str(speech)], noise_dirs=[str(noise)], out_dir=str(out),
                       progress=False, threads=1, **settings)


@pytest.fixture(scope="module")
def uninterrupted(corpus_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("run_a")
    return train(tiny(corpus_dirs, out)), out


def test_training_writes_checkpoints_log_and_plot(uninterrupted):
    history, out = uninterrupted
    assert [h["epoch"] for h in history] == [1, 2]
    for name in ("last.pt", "best.pt", "train.log", "history.json", "curves.png", "train_config.json"):
        assert (out / name).exists(), name
    assert json.loads((out / "history.json").read_text()) == history
    assert {"train_loss", "val_loss", "val_pesq", "val_stoi", "val_si_snr", "lr"} <= set(history[0])


def test_killed_run_resumes_exactly(uninterrupted, corpus_dirs, tmp_path, monkeypatch):
    history_a, _ = uninterrupted
    calls = {"n": 0}
    real_loss = trainer.hybrid_loss

    def dying_loss(*args, **kwargs):
        calls["n"] += 1
        # epoch 1: 6 training + 2 validation calls; call 12 is the 4th step of epoch 2, after its step-2 checkpoint
        if calls["n"] == 12:
            raise KeyboardInterrupt
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(trainer, "hybrid_loss", dying_loss)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(corpus_dirs, tmp_path))
    monkeypatch.setattr(trainer, "hybrid_loss", real_loss)
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert (ckpt["epoch"], ckpt["step_in_epoch"]) == (1, 2)
    history_b = train(tiny(corpus_dirs, tmp_path))
    assert history_b[1]["train_loss"] == pytest.approx(history_a[1]["train_loss"], rel=1e-6)
    assert history_b[1]["val_loss"] == pytest.approx(history_a[1]["val_loss"], rel=1e-6)


def test_resume_refuses_other_settings(uninterrupted, corpus_dirs):
    _, out = uninterrupted
    with pytest.raises(ValueError, match="batch_size"):
        train(tiny(corpus_dirs, out, batch_size=3))
    with pytest.raises(ValueError, match="min_speech_active"):  # it changes the mixtures
        train(tiny(corpus_dirs, out, min_speech_active=0.5))
    with pytest.raises(ValueError, match="snr_max"):
        train(tiny(corpus_dirs, out, snr_max=30.0))
    with pytest.raises(ValueError, match="balance_speech"):
        train(tiny(corpus_dirs, out, balance_speech=True))
    with pytest.raises(ValueError, match="val_seed"):
        train(tiny(corpus_dirs, out, val_seed=5))


def test_model_overrides_change_the_model_and_are_saved(corpus_dirs, tmp_path):
    cfg = tiny(corpus_dirs, tmp_path, epochs=1, steps_per_epoch=2, model_overrides={"dual_path": "tcn"})
    train(cfg)
    ckpt = load_checkpoint(tmp_path / "last.pt")
    assert ckpt["model_config"]["model"]["dual_path"] == "tcn"
    assert any(k.startswith("dp.0.inter_pw") for k in ckpt["model"])  # a TCN dual path, not GRUs
    # resuming as another model is refused (the message names the option; the folder name contains "model_overrides")
    with pytest.raises(ValueError, match="other model options: dual_path='tcn' \\(this model: 'gru'\\)"):
        train(tiny(corpus_dirs, tmp_path, epochs=1, steps_per_epoch=2))
    # the same model spelled another way resumes: {"dual_path": "tcn", "activation": "prelu"} is the same model
    train(tiny(corpus_dirs, tmp_path, epochs=1, steps_per_epoch=2, model_overrides={"dual_path": "tcn", "activation": "prelu"}))


def test_unknown_model_override_is_a_clear_error(corpus_dirs, tmp_path):
    with pytest.raises(ValueError, match="not all ModelConfig fields"):
        train(tiny(corpus_dirs, tmp_path, model_overrides={"widht": 3}))


def test_corrupted_checkpoint_is_a_clear_error(tmp_path):
    bad = tmp_path / "last.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(bad)
    torch.save({"weights": 1}, bad)
    with pytest.raises(ValueError, match="no model weights"):
        load_checkpoint(bad)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_learning_rate_schedule_warms_up_then_decays():
    cfg = TrainConfig(epochs=10, steps_per_epoch=100, warmup_steps=50)
    f = [trainer.lr_factor(s, cfg) for s in range(1000)]
    assert f[0] < f[25] < f[49] == pytest.approx(1.0)
    assert f[500] < f[100] and f[-1] == pytest.approx(cfg.min_lr_ratio, abs=1e-3)


def test_missing_data_folders_are_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="speech folder"):
        train(TrainConfig(out_dir=str(tmp_path), progress=False))


def test_release_writes_the_best_checkpoint_and_a_card(uninterrupted, tmp_path):
    from gtcrn_micro.model import build_model
    from gtcrn_micro.training import release_checkpoint

    history, out = uninterrupted
    (out / "command.txt").write_text("gtcrn-micro train --model micro --out RUN\n")
    scores = {"noisy input": {"pesq": 1.5, "stoi": 0.8, "si_snr": 5.0}}
    path = release_checkpoint(out, "micro", dest=tmp_path, test_scores=scores)
    best = max(history, key=lambda h: h["val_pesq"])
    released = torch.load(path, weights_only=False)
    assert released["epoch"] == best["epoch"] and "optimizer" not in released
    build_model("micro").load_state_dict(released["model"])  # loads into the preset model
    card = (tmp_path / "micro.md").read_text()
    assert "`gtcrn-micro train --model micro --out RUN`" in card
    assert f"| {best['val_pesq']:.3f} |" in card and "| noisy input | 1.500 | 0.800 | 5.00 |" in card
    assert f"lr at this checkpoint {best['lr']:.2e}" in card
    release_checkpoint(out, "micro_bounded", dest=tmp_path, role="  Source of the int8 steps.  ")
    lines = (tmp_path / "micro_bounded.md").read_text().split("\n")
    assert lines[0] == "# Model card: `micro_bounded` (micro)" and lines[4:7] == ["Source of the int8 steps.", "", "## Training"]
    assert "Source of" not in card  # no role given: no line
    assert "SNR -5..20 dB" in card and "Speech:" not in card  # default drawing rules: nothing to add


def test_card_names_the_speech_drawing_rules_a_run_changed():
    from gtcrn_micro.training.release import _draw_rules

    rules = _draw_rules({"balance_speech": True, "min_speech_active": 0.5})
    assert "`--balance-speech`" in rules and "under 50% active frames" in rules
    assert _draw_rules({"balance_speech": False, "min_speech_active": 0.0}) == ""
    assert "drew the speech folders 2:1:1 in their listed order" in _draw_rules(
        {"balance_speech": True, "speech_weights": [2.0, 1.0, 1.0]})


def test_release_of_the_last_epoch_needs_a_reason(uninterrupted, tmp_path):
    from gtcrn_micro.training import release_checkpoint

    history, out = uninterrupted
    with pytest.raises(ValueError, match="needs a reason"):
        release_checkpoint(out, "micro", dest=tmp_path, checkpoint="last.pt")
    with pytest.raises(ValueError, match="'best.pt' or 'last.pt'"):
        release_checkpoint(out, "micro", dest=tmp_path, checkpoint="epoch1.pt")
    path = release_checkpoint(out, "micro", dest=tmp_path, checkpoint="last.pt", why="its int8 copy scored higher.")
    released = torch.load(path, weights_only=False)
    assert released["epoch"] == history[-1]["epoch"] and released["validation"] == history[-1]
    torch.testing.assert_close(released["model"], load_checkpoint(out / "last.pt")["model"])
    card = (tmp_path / "micro.md").read_text()
    assert "Chosen: the run's last epoch (`last.pt`), not its best validation-PESQ epoch, because its int8" in card
    assert f"| {history[-1]['val_pesq']:.3f} |" in card and "scores of the released epoch" in card



@pytest.mark.parametrize("epoch_wins", [True, False])
def test_fine_tuning_starts_from_the_given_weights_and_keeps_them_unless_beaten(
        uninterrupted, corpus_dirs, tmp_path, monkeypatch, epoch_wins):
    from gtcrn_micro.training import release_checkpoint

    _, parent = uninterrupted
    (parent / "command.txt").write_text("gtcrn-micro train --model micro --out PARENT\n")
    start = load_checkpoint(parent / "best.pt")["model"]
    scores = iter([2.0, 2.5 if epoch_wins else 1.5])  # PESQ of the starting weights, then of epoch 1
    real_validate = trainer.validate

    def scripted_validate(model, val_set, weights, bound=None):
        if not calls:
            torch.testing.assert_close(model.state_dict(), start)  # validated before any step: the given weights
        calls.append(1)
        return real_validate(model, val_set, weights, bound) | {"val_pesq": next(scores)}

    calls = []
    monkeypatch.setattr(trainer, "validate", scripted_validate)
    out = tmp_path / "ft"
    history = train(tiny(corpus_dirs, out, epochs=1, init_from=str(parent / "best.pt")))
    initial = load_checkpoint(out / "last.pt")["initial"]
    assert initial["from"] == str(parent / "best.pt") and initial["val_pesq"] == 2.0
    assert "starting weights: val_loss=" in (out / "train.log").read_text()
    best = load_checkpoint(out / "best.pt")
    if epoch_wins:  # best.pt holds the epoch, and the card tells the lineage
        assert best["history"] == history and history[0]["val_pesq"] == 2.5
        released = torch.load(release_checkpoint(out, "micro", dest=tmp_path), weights_only=False)
        assert released["initial"]["val_pesq"] == 2.0
        card = (tmp_path / "micro.md").read_text()
        assert f"Fine-tuned from `{parent / 'best.pt'}`" in card and "starting weights scored PESQ 2.000" in card
        parent_hours = load_checkpoint(parent / "best.pt")["history"][-1]["cpu_hours"]
        assert f"  - `{parent / 'best.pt'}` ({parent_hours:.2f} h): `gtcrn-micro train --model micro --out PARENT`" in card
        # a second fine-tuning: the card walks the whole chain, oldest first, and adds up the hours
        scores2 = iter([1.0, 3.0])  # the child's epoch beats its starting weights
        monkeypatch.setattr(trainer, "validate", lambda *a: real_validate(*a) | {"val_pesq": next(scores2)})
        (out / "command.txt").write_text("gtcrn-micro train --model micro --out FT\n")
        child = tmp_path / "ft2"
        train(tiny(corpus_dirs, child, epochs=1, init_from=str(out / "best.pt")))
        release_checkpoint(child, "micro", dest=tmp_path / "c2")
        card2 = (tmp_path / "c2" / "micro.md").read_text()
        assert card2.index(f"`{parent / 'best.pt'}`") < card2.index(f"`{out / 'best.pt'}` (")
        assert "`gtcrn-micro train --model micro --out FT`" in card2
        total = parent_hours + history[0]["cpu_hours"] + load_checkpoint(child / "best.pt")["history"][-1]["cpu_hours"]
        assert f"all runs together: {total:.2f}." in card2
    else:  # the starting weights stay the best, and releasing the run says so
        assert best["history"] == []
        torch.testing.assert_close(best["model"], start)
        with pytest.raises(ValueError, match="beat its starting weights"):
            release_checkpoint(out, "micro", dest=tmp_path)
    with pytest.raises(ValueError, match="init_from"):  # resuming with other starting weights is refused
        train(tiny(corpus_dirs, out, epochs=2, init_from=""))


def test_checkpoint_with_other_model_options_is_refused(uninterrupted):
    from gtcrn_micro.config import get_config
    from gtcrn_micro.model import build_model

    _, run = uninterrupted  # trained with the micro preset: TRA energy mean(|x|)
    other = build_model(get_config("micro").with_model(tra_energy="square"))  # same weight shapes, other function
    with pytest.raises(ValueError, match="tra_energy='abs' \\(this model: 'square'\\)"):
        load_checkpoint(run / "best.pt", other)
    load_checkpoint(run / "best.pt", other, check_options=False)  # on purpose (what --init does)
    torch.testing.assert_close(other.state_dict(), load_checkpoint(run / "best.pt")["model"])


def test_fine_tuning_into_a_changed_model_option(uninterrupted, corpus_dirs, tmp_path):
    _, parent = uninterrupted
    out = tmp_path / "ft-square"
    train(tiny(corpus_dirs, out, epochs=1, init_from=str(parent / "best.pt"), model_overrides={"tra_energy": "square"}))
    assert "tra_energy was 'abs', now 'square'" in (out / "train.log").read_text()
    assert load_checkpoint(out / "last.pt")["model_config"]["model"]["tra_energy"] == "square"


def test_model_options_from_the_command_line():
    import argparse

    p = argparse.ArgumentParser()
    trainer.add_cli_arguments(p)
    args = p.parse_args(["--speech", "s", "--noise", "n", "--out", "o", "--model-option", "tra_energy=abs",
                         "--model-option", "channels=8"])
    assert trainer.config_from_args(args).model_overrides == {"tra_energy": "abs", "channels": 8}
    for bad, match in ((["dilations=1,2"], "KEY one of"), (["tra_energy"], "KEY=VALUE"), (["channels=x"], "takes a int")):
        with pytest.raises(ValueError, match=match):
            trainer.parse_model_options(bad)


def test_snr_max_widens_training_mixtures_only(corpus_dirs, tmp_path):
    speech, noise = corpus_dirs
    base = TrainConfig(speech_dirs=[str(speech)], noise_dirs=[str(noise)], val_items=4, val_seconds=1.0,
                       val_fraction=0.34)
    train_a, val_a, _ = trainer.build_datasets(base)
    train_b, val_b, _ = trainer.build_datasets(TrainConfig(**{**base.__dict__, "snr_max": 40.0}))
    assert train_a.cfg.snr_db == (-5.0, 20.0) and train_b.cfg.snr_db == (-5.0, 40.0)
    assert val_b.cfg.snr_db == val_a.cfg.snr_db == (-5.0, 20.0)  # runs stay comparable on validation
    torch.testing.assert_close(val_a[0][0], val_b[0][0])
    assert not torch.allclose(train_a[0][0], train_b[0][0])
    with pytest.raises(ValueError, match="snr_max"):
        trainer.build_datasets(TrainConfig(**{**base.__dict__, "snr_max": -10.0}))


def test_balance_speech_groups_files_by_the_speech_folder_that_holds_them(tmp_path):
    a, b = tmp_path / "a", tmp_path / "a_more"  # a name that merely starts like the other is not inside it
    (a / "sub").mkdir(parents=True), b.mkdir()
    files = [a / "sub" / "x.wav", b / "y.wav", a / "z.wav"]
    assert trainer.speech_folder_of(files, [str(a), str(b)]) == [0, 1, 0]


def test_speech_weights_change_training_draws_only_and_val_seed_keeps_validation(corpus_dirs, tmp_path):
    speech, noise = corpus_dirs
    a, b = tmp_path / "a", tmp_path / "b"  # two speech folders: 8 files and 4 files
    a.mkdir(), b.mkdir()
    for i, f in enumerate(sorted(speech.iterdir())):
        (a if i < 8 else b).joinpath(f.name).write_bytes(f.read_bytes())
    base = TrainConfig(speech_dirs=[str(a), str(b)], noise_dirs=[str(noise)], val_items=4, val_seconds=1.0,
                       val_fraction=0.34, balance_speech=True)
    weighted = TrainConfig(**{**base.__dict__, "speech_weights": [1.0, 4.0]})

    def share_of_b(bank):
        rng = np.random.default_rng(0)
        return np.mean([bank.files[bank.draw(rng, 800)[1]].parent == b for _ in range(2000)])

    train_a, val_a, _ = trainer.build_datasets(base)
    train_w, val_w, _ = trainer.build_datasets(weighted)
    assert 0.45 < share_of_b(train_a.speech) < 0.55 and 0.75 < share_of_b(train_w.speech) < 0.85
    assert 0.45 < share_of_b(val_w.speech) < 0.55  # validation still draws each folder equally often
    torch.testing.assert_close(val_a[0][0], val_w[0][0])
    for bad in ([1.0], [1.0, -1.0]):
        with pytest.raises(ValueError, match="speech_weights"):
            trainer.build_datasets(TrainConfig(**{**weighted.__dict__, "speech_weights": bad}))
    with pytest.raises(ValueError, match="speech_weights"):
        trainer.build_datasets(TrainConfig(**{**weighted.__dict__, "balance_speech": False}))
    # a new --seed draws new training and validation mixtures; --val-seed keeps the old validation ones
    _, val_seed1, _ = trainer.build_datasets(TrainConfig(**{**base.__dict__, "seed": 1}))
    train_kept, val_kept, _ = trainer.build_datasets(TrainConfig(**{**base.__dict__, "seed": 1, "val_seed": 10_000}))
    assert not torch.allclose(val_a[0][0], val_seed1[0][0])
    torch.testing.assert_close(val_a[0][0], val_kept[0][0])
    assert not torch.allclose(train_a[0][0], train_kept[0][0])
