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


def stage_table_html(summary: Summary) -> str:
    """The rows as an HTML table: numbers right-aligned, column help as hover titles."""
    rows = stage_rows(summary)
    head = []
    for column in rows[0]:
        align = ' style="text-align:right"' if column in _NUMBERS else ""
        text = html.escape(column)
        if column in COLUMN_HELP:
            text = f'<abbr title="{html.escape(COLUMN_HELP[column])}">{text}</abbr>'
        head.append(f"<th{align}>{text}</th>")
    body = []
    for row in rows:
        cells = []
        for column, value in row.items():
            align = ' style="text-align:right"' if column in _NUMBERS else ""
            cells.append(f"<td{align}>{html.escape(_cell(column, value))}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    # Cells never wrap (a shape such as 1024×14×14 reads as one value); a narrow window
    # scrolls the table sideways instead of squeezing it.
    return (
        "<style>.stage-table th, .stage-table td { padding: 0.3rem 0.55rem; }</style>"
        '<div style="overflow-x:auto"><table class="stage-table" '
        'style="white-space:nowrap;font-size:0.875rem"><thead><tr>'
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )
