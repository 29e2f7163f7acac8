"""The book's conventions, for every chapter in _toc.yml (executing them is the book build's job).

A chapter's source is its MyST Markdown notebook, ``book/NN_name.md``; the ``book/NN_name.ipynb``
next to it (what Colab opens) is generated from it by jupytext and must not drift from it.
"""

import fnmatch
import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
CHAPTERS = [REPO / (c["file"] + ".md") for c in TOC["chapters"]]
REGENERATE = "regenerate it with `make notebooks` (jupytext --update --to ipynb book/NN_name.md)"


def _source(cell) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def test_config_executes_every_notebook_and_fails_on_errors():
    assert CONFIG["execute"]["execute_notebooks"] in ("force", "cache")
    assert CONFIG["execute"]["allow_errors"] is False and CONFIG["execute"]["timeout"] > 0
    assert CONFIG["only_build_toc_files"] is True
    assert CONFIG["repository"]["url"].startswith("https://")
    assert "colab_url" in CONFIG["launch_buttons"]
    assert "sphinx_exercise" in CONFIG["sphinx"]["extra_extensions"]


def test_displayed_markdown_tables_render_as_tables():
    """display(Markdown(...)) of a pipe table (model cards, benchmark tables) must become an HTML table:
    myst-nb's default output format, CommonMark, has no tables and shows the pipes as text."""
    assert CONFIG["sphinx"]["config"].get("nb_render_markdown_format") == "gfm"


def test_every_toc_entry_exists_as_markdown_and_generated_notebook():
    assert (REPO / (TOC["root"] + ".md")).exists()
    assert len(CHAPTERS) >= 2
    for md in CHAPTERS:
        assert md.exists(), f"{md.name}: a chapter's source is a MyST Markdown notebook"
        assert md.with_suffix(".ipynb").exists(), f"{md.with_suffix('.ipynb').name} is missing: {REGENERATE}"


def test_the_book_builds_the_markdown_not_the_generated_notebooks():
    """Both files of a pair have the same document name: the .ipynb must be excluded from the build.
    (Its presence next to the .md is what makes the theme's Colab button open the .ipynb.)"""
    for md in CHAPTERS:
        rel = md.with_suffix(".ipynb").relative_to(REPO).as_posix()
        assert any(fnmatch.fnmatch(rel, p) for p in CONFIG["exclude_patterns"]), rel
    # the launch link is {colab_url}/github/OWNER/REPO/blob/BRANCH/{path_to_book}/book/NN_name.ipynb
    assert CONFIG["repository"].get("path_to_book", "") == "", "the book is the repository root: no ./ in launch links"


def test_no_notebook_generator_scripts():
    assert not list((REPO / "scripts").glob("make_ch*")) and not (REPO / "scripts" / "notebook_tools.py").exists()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_is_a_myst_notebook(path):
    text = path.read_text()
    nb = jupytext.read(path)
    assert text.startswith("---\n") and nb.metadata["jupytext"]["text_representation"]["format_name"] == "myst"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    directives = re.findall(r"^```\{code-cell\}.*$", text, flags=re.M)
    assert directives and set(directives) == {"```{code-cell} ipython3"}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_opens_the_same_way(path):
    """Title, then the hidden Colab install cell cloning _config.yml's repository, then the imports."""
    cells = jupytext.read(path).cells
    src = [_source(c) for c in cells]
    assert cells[0]["cell_type"] == "markdown" and src[0].startswith("# ")
    assert cells[1]["cell_type"] == "code" and cells[1]["metadata"].get("tags") == ["remove-cell"]
    url = CONFIG["repository"]["url"]  # the one place the repository URL is set
    cloned = re.findall(r"git clone\b.*?(https?://\S+)", src[1])
    assert cloned == [url], f"{path.name}: the install cell must clone {url}, found {cloned}"
    assert set(re.findall(r"https?://github\.com/\S+", src[1])) == {url}
    assert "import gtcrn_micro" in src[2]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_short_cells_and_captioned_figures(path):
    cells = jupytext.read(path).cells
    for i, cell in enumerate(cells[2:], start=2):  # after the title and the hidden install cell
        if cell["cell_type"] != "code":
            continue
        src = _source(cell)
        assert len(src.splitlines()) <= 10, f"{path.name} cell {i} is long: move its logic into the package"
        if "plot_" in src:  # a package plotting function: a caption must follow
            following = _source(cells[i + 1])
            assert cells[i + 1]["cell_type"] == "markdown" and following.startswith("*Figure"), f"{path.name} cell {i}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_generated_notebook_equals_the_markdown_and_has_no_outputs(path):
    """Drift test: jupytext's conversion of the .md equals the committed .ipynb, cell for cell."""
    expected = jupytext.read(path).cells
    ipynb = path.with_suffix(".ipynb")
    committed = nbformat.read(ipynb, as_version=4)
    nbformat.validate(committed)
    assert committed.metadata["kernelspec"]["name"] == "python3"
    assert len(committed.cells) == len(expected), f"{ipynb.name} has drifted from {path.name}: {REGENERATE}"
    for i, (want, got) in enumerate(zip(expected, committed.cells)):
        where = f"{ipynb.name} cell {i} differs from {path.name}: {REGENERATE}"
        assert got["cell_type"] == want["cell_type"], where
        assert _source(got) == _source(want), where
        assert got["metadata"].get("tags", []) == want["metadata"].get("tags", []), where
        if got["cell_type"] == "code":
            assert got["outputs"] == [] and got["execution_count"] is None, f"{ipynb.name} cell {i} has outputs"


def test_pages_workflow_builds_with_make_book_and_readme_links_the_published_address():
    workflow = (REPO / ".github" / "workflows" / "book.yml").read_text()
    assert 'python-version: "3.11"' in workflow and "run: make book" in workflow
    for action in ("actions/configure-pages@", "actions/upload-pages-artifact@", "actions/deploy-pages@"):
        assert action in workflow
    assert "path: _build/html" in workflow
    owner, repo = CONFIG["repository"]["url"].removeprefix("https://github.com/").strip("/").split("/")
    assert f"https://{owner}.github.io/{repo}/" in (REPO / "README.md").read_text()


_EXERCISE = re.compile(r"^```\{exercise\}[^\n]*\n:label: (\S+)", flags=re.M)
_SOLUTION = re.compile(r"^```\{solution-start\} (\S+)\n((?::[^\n]*\n)*)```\n(.*?)^```\{solution-end\}", flags=re.M | re.S)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ends_with_summary_then_exercises_with_hidden_executed_solutions(path):
    """2-4 labelled exercises after the summary, each with a dropdown solution whose code cells run in the build."""
    text = path.read_text()
    labels = _EXERCISE.findall(text)
    assert 2 <= len(labels) <= 4, f"{path.name}: {len(labels)} exercises, want 2-4"
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings[-2:] == ["Summary", "Exercises"], f"{path.name}: end with '## Summary' then '## Exercises'"
    assert text.index("## Exercises") < text.index("```{exercise}")
    solutions = {label: (options, body) for label, options, body in _SOLUTION.findall(text)}
    for label in labels:
        assert label in solutions, f"{path.name}: exercise {label} has no solution-start/solution-end"
        options, body = solutions[label]
        assert ":class: dropdown" in options, f"{path.name}: the solution of {label} must be hidden (dropdown)"
        assert "```{code-cell} ipython3" in body, f"{path.name}: the solution of {label} has no code that executes"
        assert "skip-execution" not in body and "raises-exception" not in body
    assert set(solutions) == set(labels), f"{path.name}: a solution without its exercise"


def test_exercise_labels_are_unique_across_the_book():
    labels = [label for md in CHAPTERS for label in _EXERCISE.findall(md.read_text())]
    assert len(labels) == len(set(labels)), labels


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_figures_are_numbered_chapter_dot_figure_in_order(path):
    """Every caption reads '*Figure N.M: ...' with N the chapter's number and M = 1, 2, ... in order."""
    chapter = int(path.name[:2])
    captions = re.findall(r"^\*Figure ([^:]*):", path.read_text(), flags=re.M)
    assert captions == [f"{chapter}.{m}" for m in range(1, len(captions) + 1)], f"{path.name}: {captions}"
    assert len(captions) == len(re.findall(r"^\*Figure", path.read_text(), flags=re.M))

