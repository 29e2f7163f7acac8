"""Tables as a reader sees them in the book: rounded, integers as integers, no NaN, inf or -0.0.

``tidy_table(df)`` returns a copy of a data frame whose numbers are display strings: each float
column rounded to ``digits`` decimals (``-0.000`` shown as ``0.000``), a float column that holds
only whole numbers (byte counts that a missing value turned into floats) shown as integers with
thousands separators, a missing value as an en dash, an infinite one as ``∞`` (an SNR of two
identical signals). Strings and the index are left as they are.

``nested_markdown(text)`` prepares a Markdown document (a model card, a benchmark report) for
display inside a chapter: its title goes (the chapter introduces it) and its other headings are
demoted, so that it adds no top-level headings to the page. ``markdown_sections(text, keep)``
keeps the title and only the ``##`` sections named (a model card's validation and test tables
without its training commands, whose paths belong to the machine that trained it).
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import pandas as pd

__all__ = ["tidy_table", "nested_markdown"]

MISSING = "\u2013"  # en dash
INFINITY = "\u221e"


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, bool)


def _whole(column: pd.Series) -> bool:
    """Every finite number in the column is a whole number (and there is at least one)."""
    finite = [float(v) for v in column if _is_number(v) and math.isfinite(v)]
    return bool(finite) and all(v.is_integer() for v in finite)


def _cell(v, digits: int, whole: bool) -> object:
    if v is None or v is pd.NA or v is pd.NaT or (_is_number(v) and math.isnan(v)):
        return MISSING
    if not _is_number(v):
        return v
    if math.isinf(v):
        return INFINITY if v > 0 else "-" + INFINITY
    if whole or isinstance(v, Integral):
        return f"{int(v):,}"
    text = f"{float(v):.{digits}f}"
    return text[1:] if text.lstrip("-").strip("0.") == "" and text.startswith("-") else text


def tidy_table(df: pd.DataFrame, digits: int | dict[str, int] = 3) -> pd.DataFrame:
    """A copy of ``df`` ready to show: ``digits`` decimals (one number, or per column, default 3)."""
    out = df.copy().astype(object)
    for i, name in enumerate(df.columns):  # by position: column names may repeat or be tuples
        d = digits.get(name, 3) if isinstance(digits, dict) else digits
        column = df.iloc[:, i]
        whole = _whole(column)
        out.iloc[:, i] = [_cell(v, d, whole) for v in column]
    return out


def nested_markdown(text: str, top: int = 4) -> str:
    """``text`` without its leading ``# title`` line, its shallowest remaining heading at level ``top``.

    Lines inside fenced code blocks are left alone.
    """
    lines = text.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and lines[0].startswith("# "):
        lines.pop(0)
    fenced, levels = False, []
    for line in lines:
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("#") and line.lstrip("#").startswith(" "):
            levels.append(len(line) - len(line.lstrip("#")))
    shift = top - min(levels) if levels else 0
    out, fenced = [], False
    for line in lines:
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("#") and line.lstrip("#").startswith(" "):
            level = len(line) - len(line.lstrip("#"))
            line = "#" * min(level + shift, 6) + line[level:]
        out.append(line)
    return "\n".join(out).strip() + "\n"


def markdown_sections(text: str, keep) -> str:
    """``text``'s title and the ``## `` sections whose heading starts with one of ``keep``, in their order.

    Lines inside fenced code blocks never start a section. Raises ``ValueError`` naming what is
    missing when a kept heading is not in ``text``.
    """
    keep = tuple(keep)
    head, sections, fenced = [], [], False
    for line in text.splitlines():
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("## "):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            head.append(line)
    title = [line for line in head if line.startswith("# ")][:1]
    chosen = [sec for sec in sections if sec[0][3:].startswith(keep)]
    missing = [k for k in keep if not any(sec[0][3:].startswith(k) for sec in chosen)]
    if missing:
        raise ValueError(f"No section {', '.join(map(repr, missing))} in this document.")
    return "\n".join(title + [""] + [line for sec in chosen for line in sec]).strip() + "\n"

