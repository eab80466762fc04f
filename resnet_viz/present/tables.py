"""The architecture page's larger tables as pandas DataFrames (st.dataframe): every layer, and two
networks compared. The small per-stage table needs no pandas (present/stage_table.py)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..core.summary import LayerRow, Summary
from .formats import format_shape


def _layer_record(row: LayerRow) -> dict[str, object]:
    detail = ""
    if row.kernel is not None:
        detail = f"{row.kernel}x{row.kernel}/{row.stride}"
    return {
        "Layer": row.name,
        "Type": row.kind,
        "Kernel": detail,
        "Input": format_shape(row.input_shape),
        "Output": format_shape(row.output_shape),
        "Parameters": row.params,
        "MACs": row.macs,
        "RF (px)": row.receptive_field,
        "Stride": row.effective_stride,
    }


def layer_table(
    summary: Summary, level: int = 3, stage: str | None = None, block: int | None = None
) -> pd.DataFrame:
    """torchinfo-like rows at ``level`` (1 stages, 2 blocks, 3 layers), optionally only those
    of one ``stage`` ("layer3") and one ``block`` index within it."""
    if level == 1:
        records = [
            {
                "Layer": s.name,
                "Type": "stage" if s.blocks else s.name,
                "Kernel": "",
                "Input": format_shape(s.input_shape),
                "Output": format_shape(s.output_shape),
                "Parameters": s.params,
                "MACs": s.macs,
                "RF (px)": s.receptive_field,
                "Stride": s.effective_stride,
            }
            for s in summary.stages
            if stage is None or s.name == stage
        ]
        return pd.DataFrame(records)
    if level == 2:
        records = []
        for row in summary.layers:
            if stage is not None and row.stage != stage:
                continue
            if row.block is None:
                records.append(_layer_record(row))
        for b in summary.blocks:
            if (stage is None or b.stage == stage) and (block is None or b.index == block):
                records.append(
                    {
                        "Layer": b.name,
                        "Type": f"block ({b.shortcut} shortcut)",
                        "Kernel": "",
                        "Input": format_shape(b.input_shape),
                        "Output": format_shape(b.output_shape),
                        "Parameters": b.params,
                        "MACs": b.macs,
                        "RF (px)": b.receptive_field,
                        "Stride": b.effective_stride,
                    }
                )
        order = {name: i for i, name in enumerate(_row_order(summary))}
        records.sort(key=lambda r: order[str(r["Layer"])])
        return pd.DataFrame(records)
    records = [
        _layer_record(row)
        for row in summary.layers
        if (stage is None or row.stage == stage) and (block is None or row.block == block)
    ]
    return pd.DataFrame(records)


def _row_order(summary: Summary) -> list[str]:
    """Layer and block names in forward order (a block sits where its first layer runs)."""
    names: list[str] = []
    for row in summary.layers:
        if row.block is None:
            names.append(row.name)
        else:
            block = f"{row.stage}.{row.block}"
            if not names or names[-1] != block:
                names.append(block)
    return names


def compare_table(a: Summary, b: Summary, label_a: str, label_b: str) -> pd.DataFrame:
    """Totals and per-stage parameters/MACs of two networks side by side, with differences.

    Stages are matched by name (stem, layer1, ..., head); a stage one network lacks shows 0.
    """
    stages_a = {s.name: s for s in a.stages}
    stages_b = {s.name: s for s in b.stages}
    names = list(stages_a) + [n for n in stages_b if n not in stages_a]
    names.sort(key=lambda n: (n == "head", n != "stem", n))
    rows = []
    for name in names:
        sa, sb = stages_a.get(name), stages_b.get(name)
        label = (sa or sb).label  # type: ignore[union-attr]
        rows.append(_compare_row(label, sa, sb, label_a, label_b))
    rows.append(
        {
            "Stage": "Total",
            f"Params {label_a}": a.total_params,
            f"Params {label_b}": b.total_params,
            "Δ params": b.total_params - a.total_params,
            f"MACs {label_a}": a.total_macs,
            f"MACs {label_b}": b.total_macs,
            "Δ MACs": b.total_macs - a.total_macs,
            f"Output {label_a}": format_shape(a.output_shape),
            f"Output {label_b}": format_shape(b.output_shape),
        }
    )
    return pd.DataFrame(rows)


def _compare_row(label, sa, sb, label_a: str, label_b: str) -> dict[str, object]:
    pa, pb = (sa.params if sa else 0), (sb.params if sb else 0)
    ma, mb = (sa.macs if sa else 0), (sb.macs if sb else 0)
    return {
        "Stage": label,
        f"Params {label_a}": pa,
        f"Params {label_b}": pb,
        "Δ params": pb - pa,
        f"MACs {label_a}": ma,
        f"MACs {label_b}": mb,
        "Δ MACs": mb - ma,
        f"Output {label_a}": format_shape(sa.output_shape) if sa else "—",
        f"Output {label_b}": format_shape(sb.output_shape) if sb else "—",
    }


def metric_delta(a: int, b: int, fmt: Callable[[int], str], label_a: str) -> tuple[str, str]:
    """How ``b`` differs from ``a``: a metric's delta text and its arrow ("up", "down", "off").

    Equal values get no arrow and no "+0": "= same as ResNet-50"."""
    if b == a:
        return f"= same as {label_a}", "off"
    sign, arrow = ("+", "up") if b > a else ("-", "down")
    return f"{sign}{fmt(abs(b - a))} vs {label_a}", arrow
