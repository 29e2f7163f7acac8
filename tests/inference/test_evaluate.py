import numpy as np
import pytest

import gtcrn_micro.inference.evaluate as evaluate_mod
from gtcrn_micro.inference import evaluate_pairs, load_enhancer, summary_table
from tests.inference._fixtures import make_checkpoint, make_pairs, single_thread  # noqa: F401  (autouse fixture)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("pairs"), n=3, seconds=1.0)


@pytest.fixture(scope="module")
def micro(tmp_path_factory):
    return load_enhancer("micro", make_checkpoint(tmp_path_factory.mktemp("ckpt") / "micro.pt"))


def test_noisy_and_enhanced_scores_per_file_and_means(pairs, micro):
    result = evaluate_pairs(*pairs, micro, limit=2)
    assert result["n"] == 2 and [r["name"] for r in result["files"]] == ["p000", "p001"]
    score_keys = {f"{side}_{m}" for side in ("noisy", "enh") for m in ("pesq", "stoi", "si_snr")}
    assert set(result["means"]) == score_keys
    assert score_keys | {"name", "seconds", "compute_seconds"} == set(result["files"][0])
    assert result["means"]["noisy_stoi"] == pytest.approx(np.mean([r["noisy_stoi"] for r in result["files"]]))
    assert 3 < result["means"]["noisy_si_snr"] < 9  # mixed at about 6 dB
    assert result["model"] == "micro" and result["backend"] == "torch" and result["checkpoint"].endswith("micro.pt")
    assert result["realtime_factor"] > 0 and result["notices"] == []
    table = summary_table(result)
    assert "noisy input" in table and "enhanced (micro/torch)" in table and "PESQ-wb" in table


def test_pass_through_scores_the_noisy_input_once(pairs):
    result = evaluate_pairs(*pairs, load_enhancer("none"))
    assert result["n"] == 3
    for key in ("pesq", "stoi", "si_snr"):
        assert result["means"][f"enh_{key}"] == result["means"][f"noisy_{key}"]
    assert "enhanced" not in summary_table(result)


def test_dnsmos_columns(pairs, monkeypatch):
    # the real DNSMOS takes seconds per file; its plumbing is what is tested here
    monkeypatch.setattr(evaluate_mod, "dnsmos_fn", lambda wav: {"ovrl": 3.0, "sig": 3.5, "bak": 4.0, "p808": 3.2})
    result = evaluate_pairs(*pairs, load_enhancer("none"), limit=1, dnsmos=True)
    assert {result["means"][f"enh_dnsmos_{k}"] for k in ("ovrl", "sig", "bak")} == {3.0, 3.5, 4.0}
    assert "DNSMOS OVRL" in summary_table(result)


def test_bad_limit_and_missing_folder(pairs):
    with pytest.raises(ValueError, match="positive"):
        evaluate_pairs(*pairs, load_enhancer("none"), limit=0)
    with pytest.raises(FileNotFoundError):
        evaluate_pairs(pairs[0].parent / "nope", pairs[1], load_enhancer("none"))


def test_pesq_nan_is_left_out_of_means_and_written_as_null(tmp_path):
    import json

    import soundfile as sf

    from gtcrn_micro.inference import json_safe

    noisy, clean = make_pairs(tmp_path, n=2, seconds=1.0)
    sf.write(str(clean / "p001.wav"), np.zeros(16_000, np.float32), 16_000)  # PESQ finds no speech: NaN
    result = evaluate_pairs(noisy, clean, load_enhancer("none"))
    assert np.isnan(result["files"][1]["noisy_pesq"])
    assert result["means"]["noisy_pesq"] == pytest.approx(result["files"][0]["noisy_pesq"])
    assert any("silent" in n for n in result["notices"])
    text = json.dumps(json_safe(result), allow_nan=False)
    assert json.loads(text)["files"][1]["noisy_pesq"] is None
