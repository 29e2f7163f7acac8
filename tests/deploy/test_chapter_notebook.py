"""Chapter 6 (book/06_deploy.md) follows the book's conventions. Executing it is the book
build's job (jupyter-book build -W -n --keep-going)."""

import pytest

from ..book_cells import REPO, chapter_cells
from ..book_cells import source as _source


@pytest.fixture(scope="module")
def cells():
    return chapter_cells("06_deploy")


def test_opens_with_title_and_is_in_the_toc(cells):
    assert _source(cells[0]).startswith("# Deploying on the ESP32-S3\n")
    toc = (REPO / "_toc.yml").read_text()
    assert toc.index("book/05_quantization") < toc.index("book/06_deploy")


def test_generates_into_a_temporary_folder_runs_the_host_test_and_reads_the_committed_budget(cells):
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert "tempfile.mkdtemp" in code and "generate_esp32s3_project" in code
    assert '"make"' in code and "host_test" in code
    assert "load_budget()" in code
