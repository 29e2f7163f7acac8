import math

import numpy as np
import pandas as pd
import pytest

from gtcrn_micro.tables import INFINITY, MISSING, tidy_table


def test_tidy_table_rounds_and_shows_integers_missing_and_infinite_values():
    df = pd.DataFrame({"snr": [127.923631, math.inf, np.nan, -0.0001], "bytes": [167916.0, 169024.0, np.nan, 12.0],
                       "name": ["float", "int8", "x", "y"], "ops": [433, 438, 455, 1]}, index=list("abcd"))
    t = tidy_table(df, digits={"snr": 1})
    assert t["snr"].tolist() == ["127.9", INFINITY, MISSING, "0.0"]  # no -0.0
    assert t["bytes"].tolist() == ["167,916", "169,024", MISSING, "12"]  # whole floats shown as integers
    assert t["name"].tolist() == ["float", "int8", "x", "y"] and t["ops"].tolist() == ["433", "438", "455", "1"]
    assert list(t.index) == list("abcd") and df["snr"].iloc[0] == 127.923631  # the input is left alone


def test_tidy_table_default_digits_negative_infinity_and_repeated_columns():
    df = pd.DataFrame([[0.12345, -math.inf, -0.0], [2.5, 1.0, -1.23456]], columns=["a", "a", "b"])
    t = tidy_table(df)
    assert t.iloc[:, 0].tolist() == ["0.123", "2.500"]
    assert t.iloc[:, 1].tolist() == ["-" + INFINITY, "1"]
    assert t.iloc[:, 2].tolist() == ["0.000", "-1.235"]


def test_nested_markdown_drops_the_title_and_demotes_headings_outside_code():
    from gtcrn_micro.tables import nested_markdown

    card = "\n# Model card: `micro`\n\nText.\n\n## Training\n\n```\n# a comment, not a heading\n```\n\n### Detail\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    out = nested_markdown(card)
    assert not out.startswith("#") and out.startswith("Text.")
    assert "\n#### Training\n" in out and "\n##### Detail\n" in out
    assert "\n# a comment, not a heading\n" in out and "| 1 | 2 |" in out
    assert nested_markdown("# Title only\n") == "\n" and nested_markdown("plain\n") == "plain\n"


def test_markdown_sections_keeps_the_title_and_the_named_sections():
    from gtcrn_micro.tables import markdown_sections

    card = "# Card\n\nintro\n\n## Training\n\n- `cmd ../shared/x`\n\n## Validation (held out)\n\n| a |\n|---|\n| 1 |\n\n```\n## not a section\n```\n\n## Test\n\nrows\n"
    out = markdown_sections(card, ["Validation", "Test"])
    assert out.startswith("# Card\n\n## Validation (held out)") and "## Test" in out and "## not a section" in out
    assert "Training" not in out and "../shared" not in out and "intro" not in out
    with pytest.raises(ValueError, match="'Cost'"):
        markdown_sections(card, ["Validation", "Cost"])
