"""Chapter 4 (book/04_training.md) follows the book's conventions. Executing it is the book
build's job (jupyter-book build -W -n --keep-going)."""

import pytest

from ..book_cells import REPO, chapter_cells
from ..book_cells import source as _source


@pytest.fixture(scope="module")
def cells():
    return chapter_cells("04_training")


def test_opens_with_title(cells):
    # the install and import cells are checked for every chapter in tests/test_book.py
    assert cells[0]["cell_type"] == "markdown" and _source(cells[0]).startswith("# Training\n")


def test_numbers_come_from_files_not_from_the_text(cells):
    """The shipped checkpoint will be replaced: its scores are read from the checkpoint and card."""
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert 'shipped_checkpoint("micro")' in code and 'ckpt["validation"]' in code
    assert "results.md" in code and "results.exists()" in code


def test_demonstration_run_is_short_and_writes_to_a_temporary_folder(cells):
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert 'PRESETS["cpu-tiny"]' in code and "tempfile.mkdtemp" in code and "threads=1" in code
