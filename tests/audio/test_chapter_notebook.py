"""Chapter 1 (book/01_signals_and_features.ipynb) follows the book's conventions. Executing it is
the book build's job (jupyter-book build -W -n --keep-going)."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "book" / "01_signals_and_features.ipynb"


@pytest.fixture(scope="module")
def cells():
    return json.loads(NOTEBOOK.read_text())["cells"]


def _source(cell):
    return "".join(cell["source"])


def test_opens_with_title(cells):
    # the install and import cells are checked for every chapter in tests/test_book.py
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# Signals and features\n")


def test_short_cells_and_captioned_figures(cells):
    code = [(i, c) for i, c in enumerate(cells) if c["cell_type"] == "code"]
    for i, cell in code:
        assert len(_source(cell).splitlines()) <= 10, f"cell {i} is long: move its logic into the package"
        if "gm.plot_" in _source(cell):
            following = cells[i + 1]
            assert following["cell_type"] == "markdown" and _source(following).startswith("*Figure 1."), i


def test_widget_cells_are_skipped_when_the_book_is_built(cells):
    """nbclient can deadlock on cells whose output goes into an ipywidgets Output widget (interact):
    its Output-widget mirror writes to the kernel's shell channel while it polls it."""
    for cell in cells:
        if cell["cell_type"] == "code" and "widgets.interact" in _source(cell):
            assert "skip-execution" in cell["metadata"].get("tags", [])
