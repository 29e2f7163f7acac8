"""Chapter 6 (book/06_deploy.ipynb) follows the book's conventions. Executing it is the book
build's job (jupyter-book build -W -n --keep-going)."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "book" / "06_deploy.ipynb"


@pytest.fixture(scope="module")
def cells():
    return json.loads(NOTEBOOK.read_text())["cells"]


def _source(cell):
    return "".join(cell["source"])


def test_opens_with_title_and_is_in_the_toc(cells):
    assert _source(cells[0]).startswith("# Deploying on the ESP32-S3\n")
    toc = (REPO / "_toc.yml").read_text()
    assert toc.index("book/05_quantization") < toc.index("book/06_deploy")


def test_short_cells_and_captioned_figures(cells):
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        assert len(_source(cell).splitlines()) <= 10, f"cell {i} is long: move its logic into the package"
        if "plot_" in _source(cell):
            following = cells[i + 1]
            assert following["cell_type"] == "markdown" and _source(following).startswith("*Figure 6."), i


def test_generates_into_a_temporary_folder_runs_the_host_test_and_reads_the_committed_budget(cells):
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    assert "tempfile.mkdtemp" in code and "generate_esp32s3_project" in code
    assert '"make"' in code and "host_test" in code
    assert "load_budget()" in code
