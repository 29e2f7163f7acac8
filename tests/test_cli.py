import subprocess
import sys

import pytest

from gtcrn_micro.cli import COMMANDS, build_parser, main


def test_every_command_has_help(capsys):
    for name in COMMANDS:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        assert "usage: gtcrn-micro " + name in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2


def test_train_on_missing_folder_is_one_clear_sentence(tmp_path, capsys):
    code = main(["train", "--speech", str(tmp_path / "nope"), "--noise", str(tmp_path), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("gtcrn-micro train: error:") and "does not exist" in err
    assert "Traceback" not in err


def test_train_with_a_bad_model_option_writes_nothing(tmp_path, capsys):
    code = main(["train", "--speech", str(tmp_path), "--noise", str(tmp_path), "--out", str(tmp_path / "run"),
                 "--model-option", "tra_energy"])
    assert code == 2 and "--model-option 'tra_energy': expected KEY=VALUE" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # no command.txt that a model card would quote as a resume


def test_module_entry_point_runs():
    out = subprocess.run([sys.executable, "-m", "gtcrn_micro", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "profile" in out.stdout and "train" in out.stdout


def test_parser_lists_commands():
    assert "profile" in build_parser().format_help()
