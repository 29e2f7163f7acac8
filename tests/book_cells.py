"""Read a chapter's cells for the chapter tests, from its source: the MyST Markdown notebook
``book/{stem}.md`` (the committed ``book/{stem}.ipynb`` is generated from it by jupytext)."""

from pathlib import Path

import jupytext

REPO = Path(__file__).resolve().parents[1]


def chapter_cells(stem: str) -> list[dict]:
    """The cells of ``book/{stem}.md``, parsed as a notebook."""
    return jupytext.read(REPO / "book" / f"{stem}.md")["cells"]


def source(cell: dict) -> str:
    """A cell's source as one string."""
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)
