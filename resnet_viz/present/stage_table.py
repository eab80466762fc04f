"""The per-stage table (stem, every stage, head) as rows, as CSV and as an HTML table.

It is the architecture page's first table and it changes on every click, so it is plain Python:
no pandas (importing it costs ~0.3 s of a cold start, and pyarrow pulls it in as soon as an
Arrow array is built) and no data-grid component in the browser (bench/README.md,
"Architecture page latency"); the table is drawn by present/html_table.py.
"""

from __future__ import annotations

from ..core.summary import Summary
from .formats import format_count, format_shape
from .html_table import fitted_table_html, rows_csv

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
    return rows_csv(stage_rows(summary))


def _cell(column: str, value: object) -> str:
    if value is None:
        return "–"  # stem and head have no blocks
    if column in _COUNTS:
        return format_count(int(value))  # type: ignore[call-overload]
    return str(value)


def stage_table_html(summary: Summary) -> str:
    """The rows as an HTML table: numbers right-aligned, column help as hover titles. It fits
    the width of the page's main column (its type shrinks if needed), so a projector at
    1280 px or lecture mode's larger type does not cut off the columns on the right."""
    rows = stage_rows(summary)
    columns = list(rows[0])
    cells = [[_cell(column, value) for column, value in row.items()] for row in rows]
    return fitted_table_html(
        columns, cells, css_class="stage-table", numeric=_NUMBERS, column_help=COLUMN_HELP
    )
