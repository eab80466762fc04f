"""The method tables in the registries' docstrings, drawn from the entries themselves.

:mod:`.methods` and :mod:`.pixel` each list their methods in a reStructuredText table in the
module docstring. The entries own those facts (a formula, a captum class, the options), so the
table is drawn from them on import instead of being written a second time by hand.
"""

from __future__ import annotations

from collections.abc import Sequence


def rst_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A reStructuredText "simple table": ``header`` and ``rows`` between ``=`` rules."""
    table = [tuple(header), *(tuple(row) for row in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    ]
    return "\n".join([rule, lines[0], rule, *lines[1:], rule])


def with_table(doc: str | None, placeholder: str, table: str) -> str | None:
    """``doc`` with ``placeholder`` replaced by ``table`` (``doc`` is None under ``python -OO``)."""
    return doc.replace(placeholder, table) if doc else doc
