from gtcrn_micro.cli import main


def test_export_refuses_the_reference_model(tmp_path, capsys):
    assert main(["export", "--model", "gtcrn", "-o", str(tmp_path)]) == 2
    assert "Only the micro and s3 models" in capsys.readouterr().err  # gtcrn has no streaming step


def test_export_needs_both_calibration_folders(tmp_path, capsys):
    assert main(["export", "--calib-speech", str(tmp_path), "-o", str(tmp_path)]) == 2
    assert "--calib-noise" in capsys.readouterr().err


def test_export_with_a_corrupted_checkpoint_is_one_sentence(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    assert main(["export", "--checkpoint", str(bad), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "corrupted" in err and "Traceback" not in err


def test_export_refuses_a_tail_that_would_clip_everything(tmp_path, capsys):
    assert main(["export", "--tail", "0.7", "-o", str(tmp_path)]) == 2
    assert "--tail" in capsys.readouterr().err


def test_cli_range_choices_are_the_exporters():
    """The CLI keeps its own list so that `--help` does not import the exporters; it must not drift."""
    from gtcrn_micro.cli import build_parser
    from gtcrn_micro.export.tflite import RANGE_CHOICES

    export = build_parser()._subparsers._group_actions[0].choices["export"]
    ranges = next(a for a in export._actions if a.dest == "ranges")
    assert tuple(ranges.choices) == tuple(RANGE_CHOICES)
