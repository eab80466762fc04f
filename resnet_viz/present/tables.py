"""The architecture page's layer table as a pandas DataFrame (st.dataframe), and two networks
compared as one (for notebooks and tests). The per-stage and Compare tables the page draws need
no pandas (present/stage_table.py, present/compare_table.py)."""

from __future__ import annotations

import pandas as pd

from ..core.summary import LayerRow, Summary
from .compare_table import compare_rows
from .compare_table import metric_delta as metric_delta  # its home before; still exported
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
    """Two networks side by side (present/compare_table.py's rows) as a DataFrame."""
    return pd.DataFrame(compare_rows(a, b, label_a, label_b))
