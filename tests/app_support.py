"""Helpers for AppTest-based tests: open a page (with query parameters), read its numbers; and
a hostile pickle that leaves a marker file if anything ever loads it."""

from __future__ import annotations

import os
import pickle
import shlex
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_page(page: str, *, timeout: float = 180, **query: str) -> AppTest:
    """Run the app on ``page`` (a file under pages/) as if opened with these URL parameters."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.switch_page(page)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def assert_clean(at: AppTest) -> None:
    """No exception element: every failure the page met was shown as a message."""
    assert not at.exception, [e.value for e in at.exception]


def html_table(at: AppTest, css_class: str) -> dict[str, dict[str, str]]:
    """A table the page drew as HTML (present/html_table.py) as shown: {first cell: {column:
    cell text}}."""
    import html
    import re

    markup = next(m.value for m in at.markdown if f'class="{css_class}"' in m.value)
    cells = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>")
    rows = [
        [html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in cells.findall(row)]
        for row in re.findall(r"<tr>(.*?)</tr>", markup)
    ]
    header, *body = rows
    return {row[0]: dict(zip(header, row, strict=True)) for row in body}


def stage_table(at: AppTest) -> dict[str, dict[str, str]]:
    """The architecture page's per-stage table as shown: {stage: {column: cell text}}."""
    return html_table(at, "stage-table")


class _Marker:
    """Pickled, it runs ``touch <path>`` when loaded: the classic pickle attack, harmless."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.path))}",))


def marker_pickle(path: Path) -> bytes:
    """Bytes that create the file ``path`` when unpickled (``pickle.loads`` or
    ``torch.load(weights_only=False)``). Give each test its own ``path`` under ``tmp_path``,
    so that a file left by another run can neither fail nor pass it."""
    return pickle.dumps(_Marker(path))
