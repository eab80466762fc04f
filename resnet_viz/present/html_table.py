"""Rows of text as an HTML table that fits the width of the page's main column, and rows as CSV.

The architecture page's Stages and Compare tables are drawn this way rather than as a data grid
(a canvas cut off on the right on a projector at 1280 px or in lecture mode's larger type): the
type shrinks to the column's width when needed (a container query), and the table scrolls
sideways if the width estimate is ever short. Plain Python: no pandas (bench/README.md,
"Architecture page latency").
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Collection, Mapping, Sequence

#: Estimated width of one character of the table's type, in em (Source Sans digits are ~0.5 em;
#: a little more so the estimate errs towards fitting), and a cell's padding on both sides.
_CHAR_EM = 0.56
_PADDING_EM = 0.5


def fit_font(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The table's CSS font size: the page's 0.875 rem, or smaller when the table would be wider
    than its container at that size (``cqi``: 1 % of the container's width). Widths are
    estimated from the text: cells never wrap, headers wrap between words."""
    width_em = 0.0
    for i, column in enumerate(columns):
        longest_word = max(len(word) for word in column.split())
        chars = max([longest_word, *(len(row[i]) for row in rows)])
        width_em += chars * _CHAR_EM + 2 * _PADDING_EM
    return f"min(0.875rem, {100 / width_em:.3f}cqi)"


def fitted_table_html(
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    css_class: str,
    numeric: Collection[str] = (),
    column_help: Mapping[str, str] | None = None,
) -> str:
    """``rows`` (cell texts, one per column) as ``<table class="css_class">``: the ``numeric``
    columns right-aligned, ``column_help`` as hover titles on the headers, its type fitted to
    the container's width (:func:`fit_font`)."""
    column_help = column_help or {}
    head = []
    for column in columns:
        align = ' style="text-align:right"' if column in numeric else ""
        text = " ".join(f"<span>{html.escape(word)}</span>" for word in column.split())
        if column in column_help:
            text = f'<abbr title="{html.escape(column_help[column])}">{text}</abbr>'
        head.append(f"<th{align}>{text}</th>")
    body = []
    for row in rows:
        tds = []
        for column, text in zip(columns, row, strict=True):
            align = ' style="text-align:right"' if column in numeric else ""
            tds.append(f"<td{align}>{html.escape(text)}</td>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    # Cells never wrap (a shape such as 1024×14×14 reads as one value); headers wrap between
    # words, never at a hyphen ("ResNet-" over "152"): each word is a nowrap span. If the
    # estimate is ever short, the table scrolls sideways instead of being cut.
    c = css_class
    return (
        f"<style>.{c} th, .{c} td {{ padding: 0.3em 0.5em; }}"
        f".{c} td, .{c} th span {{ white-space: nowrap; }} .{c} th {{ vertical-align: bottom; }}"
        "</style>"
        f'<div style="overflow-x:auto;container-type:inline-size"><table class="{c}" '
        f'style="font-size:{fit_font(columns, rows)}"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def rows_csv(rows: Sequence[Mapping[str, object]]) -> str:
    """Rows (one dict each, the same keys in the same order) as CSV, a header first; None is
    written as an empty field."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
