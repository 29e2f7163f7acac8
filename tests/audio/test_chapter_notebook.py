"""Chapter 1 (book/01_signals_and_features.md) follows the book's conventions. Executing it is
the book build's job (jupyter-book build -W -n --keep-going)."""

import pytest

from ..book_cells import REPO, chapter_cells
from ..book_cells import source as _source


@pytest.fixture(scope="module")
def cells():
    return chapter_cells("01_signals_and_features")


def test_opens_with_title(cells):
    # the install and import cells are checked for every chapter in tests/test_book.py
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# Signals and features\n")


def test_widget_cells_are_skipped_when_the_book_is_built(cells):
    """nbclient can deadlock on cells whose output goes into an ipywidgets Output widget (interact):
    its Output-widget mirror writes to the kernel's shell channel while it polls it."""
    for cell in cells:
        if cell["cell_type"] == "code" and "widgets.interact" in _source(cell):
            assert "skip-execution" in cell["metadata"].get("tags", [])
