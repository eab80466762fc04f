"""Two networks side by side: totals and per-stage parameters, MACs and output shapes, with the
differences, as rows, as CSV and as an HTML table that fits the page's main column
(present/html_table.py); and the delta text of the Compare tab's metrics. Plain Python: no
pandas on the Compare tab."""

from __future__ import annotations

from collections.abc import Callable

from ..core.summary import StageRow, Summary
from .formats import format_count, format_shape
from .html_table import fitted_table_html, rows_csv


def compare_rows(a: Summary, b: Summary, label_a: str, label_b: str) -> list[dict[str, object]]:
    """One row per stage, then the totals: parameters and MACs of ``a`` and ``b`` and ``b``
    minus ``a``, and each one's output shape.

    Stages are matched by name (stem, layer1, ..., head); a stage one network lacks shows 0
    and "—" for its output.
    """
    stages_a = {s.name: s for s in a.stages}
    stages_b = {s.name: s for s in b.stages}
    names = list(stages_a) + [n for n in stages_b if n not in stages_a]
    names.sort(key=lambda n: (n == "head", n != "stem", n))
    rows = []
    for name in names:
        sa, sb = stages_a.get(name), stages_b.get(name)
        label = (sa or sb).label  # type: ignore[union-attr]
        rows.append(_row(label, sa, sb, label_a, label_b))
    rows.append(
        _record(
            "Total",
            (a.total_params, b.total_params),
            (a.total_macs, b.total_macs),
            (format_shape(a.output_shape), format_shape(b.output_shape)),
            label_a,
            label_b,
        )
    )
    return rows


def _row(label: str, sa: StageRow | None, sb: StageRow | None, la: str, lb: str) -> dict:
    def output(s: StageRow | None) -> str:
        return format_shape(s.output_shape) if s else "—"

    return _record(
        label,
        (sa.params if sa else 0, sb.params if sb else 0),
        (sa.macs if sa else 0, sb.macs if sb else 0),
        (output(sa), output(sb)),
        la,
        lb,
    )


def _record(label, params, macs, outputs, label_a: str, label_b: str) -> dict[str, object]:
    (pa, pb), (ma, mb), (oa, ob) = params, macs, outputs
    return {
        "Stage": label,
        f"Params {label_a}": pa,
        f"Params {label_b}": pb,
        "Δ params": pb - pa,
        f"MACs {label_a}": ma,
        f"MACs {label_b}": mb,
        "Δ MACs": mb - ma,
        f"Output {label_a}": oa,
        f"Output {label_b}": ob,
    }


def compare_csv(a: Summary, b: Summary, label_a: str, label_b: str) -> str:
    """The rows as CSV, a header first, counts as plain integers."""
    return rows_csv(compare_rows(a, b, label_a, label_b))


def compare_table_html(a: Summary, b: Summary, label_a: str, label_b: str) -> str:
    """The rows as an HTML table (class ``compare-table``): counts exact with thousands
    separators and right-aligned, the differences' headers saying which way they are taken."""
    rows = compare_rows(a, b, label_a, label_b)
    columns = list(rows[0])
    numeric = [c for c in columns if isinstance(rows[0][c], int)]
    cells = [
        [format_count(v) if isinstance(v, int) else str(v) for v in row.values()] for row in rows
    ]
    direction = f"{label_b} minus {label_a}."
    return fitted_table_html(
        columns,
        cells,
        css_class="compare-table",
        numeric=numeric,
        column_help={"Δ params": direction, "Δ MACs": direction},
    )


def metric_delta(a: int, b: int, fmt: Callable[[int], str], label_a: str) -> tuple[str, str]:
    """How ``b`` differs from ``a``: a metric's delta text and its arrow ("up", "down", "off").

    Equal values get no arrow and no "+0": "= same as ResNet-50"."""
    if b == a:
        return f"= same as {label_a}", "off"
    sign, arrow = ("+", "up") if b > a else ("-", "down")
    return f"{sign}{fmt(abs(b - a))} vs {label_a}", arrow
