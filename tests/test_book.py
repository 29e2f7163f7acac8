"""The book's conventions, for every chapter in _toc.yml (executing them is the book build's job)."""

import json
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from notebook_tools import install_cell_source  # noqa: E402

TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
CHAPTERS = [REPO / (c["file"] + ".ipynb") for c in TOC["chapters"] if (REPO / (c["file"] + ".ipynb")).exists()]


def test_config_executes_every_notebook_and_fails_on_errors():
    cfg = yaml.safe_load((REPO / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] in ("force", "cache")
    assert cfg["execute"]["allow_errors"] is False and cfg["execute"]["timeout"] > 0
    assert cfg["only_build_toc_files"] is True
    assert cfg["repository"]["url"].startswith("https://")
    assert "colab_url" in cfg["launch_buttons"]


def test_every_toc_entry_exists():
    assert (REPO / (TOC["root"] + ".md")).exists()
    assert len(CHAPTERS) == len(TOC["chapters"]) >= 2


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_the_same_way_and_has_no_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    src = ["".join(c["source"]) for c in cells]
    assert cells[0]["cell_type"] == "markdown" and src[0].startswith("# ")
    assert cells[1]["metadata"].get("tags") == ["remove-cell"]
    assert src[1] == install_cell_source()  # same URL as _config.yml, runs only in Colab
    assert "import gtcrn_micro" in src[2]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_short_cells_and_captioned_figures(path):
    cells = json.loads(path.read_text())["cells"]
    for i, cell in enumerate(cells[2:], start=2):  # after the title and the hidden install cell
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        assert len(src.splitlines()) <= 10, f"{path.name} cell {i} is long: move its logic into the package"
        if "plot_" in src:  # a package plotting function: a caption must follow
            following = "".join(cells[i + 1]["source"])
            assert cells[i + 1]["cell_type"] == "markdown" and following.startswith("*Figure"), f"{path.name} cell {i}"


def test_install_cell_uses_the_configured_repository():
    url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    assert f"git clone -q --depth 1 {url} " in install_cell_source()
