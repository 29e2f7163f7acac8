"""Read a chapter notebook's cells for the chapter tests (the notebooks are written by scripts/make_chNN_notebook.py)."""

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def chapter_cells(stem: str) -> list[dict]:
    """The cells of ``book/{stem}.ipynb``."""
    return json.loads((REPO / "book" / f"{stem}.ipynb").read_text())["cells"]


def source(cell: dict) -> str:
    """A cell's source as one string."""
    return "".join(cell["source"])
