"""Shared by the scripts that write the book's chapters (``scripts/make_chNN_notebook.py``).

A chapter is written by a script, never edited as a notebook, so text and code stay reviewable
and regenerating gives the same file. Every chapter opens the same way: a title cell, the hidden
Colab install cell below (its repository URL read from ``_config.yml``), then one import cell.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml

REPO = Path(__file__).resolve().parents[1]


def install_cell_source() -> str:
    """The hidden first code cell: in Colab, clone the repository and install its pinned requirements."""
    url = yaml.safe_load((REPO / "_config.yml").read_text())["repository"]["url"]
    return ("# Colab only: install the pinned package (hidden in the book)\n"
            "import sys\n"
            'if "google.colab" in sys.modules:\n'
            f"    !git clone -q --depth 1 {url} /content/gtcrn-micro\n"
            "    !cd /content/gtcrn-micro && pip install -q -r requirements.txt\n"
            '    sys.path.insert(0, "/content/gtcrn-micro")')


class Chapter:
    """Collects markdown and code cells; ``write()`` saves them with stable ids and no outputs."""

    def __init__(self, stem: str, prefix: str):
        self.path = REPO / "book" / f"{stem}.ipynb"
        self.prefix = prefix
        self.cells: list = []

    def md(self, text: str) -> None:
        self.cells.append(nbformat.v4.new_markdown_cell(text.strip("\n")))

    def code(self, text: str, tags: list[str] | None = None) -> None:
        cell = nbformat.v4.new_code_cell(text.strip("\n"))
        if tags:
            cell.metadata["tags"] = tags
        self.cells.append(cell)

    def install(self) -> None:
        self.code(install_cell_source(), tags=["remove-cell"])

    def write(self) -> Path:
        for i, cell in enumerate(self.cells):
            cell["id"] = f"{self.prefix}-{i:02d}"  # stable ids: regenerating gives no spurious diff
        nb = nbformat.v4.new_notebook(cells=self.cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        nbformat.validate(nb)
        nbformat.write(nb, self.path)
        print(f"wrote {self.path} ({len(self.cells)} cells)")
        return self.path
