"""The per-stage table (stem, every stage, head) as rows, as CSV and as an HTML table.

It is the architecture page's first table and it changes on every click, so it is plain Python:
no pandas (importing it costs ~0.3 s of a cold start, and pyarrow pulls it in as soon as an
Arrow array is built) and no data-grid component in the browser (bench/README.md,
"Architecture page latency").
"""

from __future__ import annotations

import csv
import html
import io

from ..core.summary import Summary
from .formats import format_count, format_shape

#: What the short column names mean (column help in the page's tables).
COLUMN_HELP = {
    "Memory (MiB)": "Activation memory: every layer's output in float32, batch included.",
    "RF (px)": "Receptive field: how many input pixels (per side) one output pixel can see.",
    "Stride": "Effective stride: input pixels between neighbouring output pixels.",
    "% params": "Share of all parameters.",
    "% MACs": "Share of all multiply-accumulates.",
}
#: Columns shown right-aligned and with thousands separators in the HTML table.
_COUNTS = ("Parameters", "MACs")
_NUMBERS = (*_COUNTS, "Blocks", "% params", "% MACs", "Memory (MiB)", "RF (px)", "Stride")


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def stage_rows(summary: Summary) -> list[dict[str, object]]:
    """One row per stem / stage / head, in forward order. ``Blocks`` is None for stem and head."""
    return [
        {
            "Stage": s.label,
            "Paper": s.paper_name,
            "Blocks": s.blocks or None,
            "Input": format_shape(s.input_shape),
            "Output": format_shape(s.output_shape),
            "Parameters": s.params,
            "% params": _percent(s.params, summary.total_params),
            "MACs": s.macs,
            "% MACs": _percent(s.macs, summary.total_macs),
            "Memory (MiB)": round(s.activation_bytes / 1024**2, 3),
            "RF (px)": s.receptive_field,
            "Stride": s.effective_stride,
        }
        for s in summary.stages
    ]


def stage_csv(summary: Summary) -> str:
    """The rows as CSV, a header first; stem and head leave ``Blocks`` empty."""
    rows = stage_rows(summary)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _cell(column: str, value: object) -> str:
    if value is None:
        return "–"  # stem and head have no blocks
    if column in _COUNTS:
        return format_count(int(value))  # type: ignore[call-overload]
    return str(value)


#: Estimated width of one character of the table's type, in em (Source Sans digits are ~0.5 em;
#: a little more so the estimate errs towards fitting), and a cell's padding on both sides.
_CHAR_EM = 0.56
_PADDING_EM = 0.5


def _fit_font(columns: list[str], rows: list[list[str]]) -> str:
    """The table's CSS font size: the page's 0.875 rem, or smaller when the table would be wider
    than its container at that size (``cqi``: 1 % of the container's width). Widths are
    estimated from the text: cells never wrap, headers wrap between words."""
    width_em = 0.0
    for i, column in enumerate(columns):
        longest_word = max(len(word) for word in column.split())
        chars = max([longest_word, *(len(row[i]) for row in rows)])
        width_em += chars * _CHAR_EM + 2 * _PADDING_EM
    return f"min(0.875rem, {100 / width_em:.3f}cqi)"


def stage_table_html(summary: Summary) -> str:
    """The rows as an HTML table: numbers right-aligned, column help as hover titles. It fits
    the width of the page's main column (its type shrinks if needed), so a projector at
    1280 px or lecture mode's larger type does not cut off the columns on the right."""
    rows = stage_rows(summary)
    columns = list(rows[0])
    cells = [[_cell(column, value) for column, value in row.items()] for row in rows]
    head = []
    for column in columns:
        align = ' style="text-align:right"' if column in _NUMBERS else ""
        text = html.escape(column)
        if column in COLUMN_HELP:
            text = f'<abbr title="{html.escape(COLUMN_HELP[column])}">{text}</abbr>'
        head.append(f"<th{align}>{text}</th>")
    body = []
    for row in cells:
        tds = []
        for column, text in zip(columns, row, strict=True):
            align = ' style="text-align:right"' if column in _NUMBERS else ""
            tds.append(f"<td{align}>{html.escape(text)}</td>")
        body.append(f"<tr>{''.join(tds)}</tr>")
    # Cells never wrap (a shape such as 1024×14×14 reads as one value); headers wrap between
    # words. If the estimate is ever short, the table scrolls sideways instead of being cut.
    return (
        "<style>.stage-table th, .stage-table td { padding: 0.3em 0.5em; }"
        ".stage-table td { white-space: nowrap; } .stage-table th { vertical-align: bottom; }"
        "</style>"
        '<div style="overflow-x:auto;container-type:inline-size"><table class="stage-table" '
        f'style="font-size:{_fit_font(columns, cells)}"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )
