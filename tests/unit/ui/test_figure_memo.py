"""resnet_viz.ui.figure_memo: a shared result's figure is built once, kept while the result
lives, and never changed by a session (lecture mode scales a copy)."""

import gc
from dataclasses import dataclass
from typing import ClassVar

import plotly.graph_objects as go

from resnet_viz.ui import figure_memo, lecture
from resnet_viz.ui.figure_memo import figure_of


@dataclass(frozen=True)
class Result:
    values: tuple[float, ...]


def bars(result: Result, scale: int) -> go.Figure:
    bars.calls += 1
    return go.Figure(go.Bar(y=[v * scale for v in result.values]), layout={"height": 300})


bars.calls = 0


def test_built_once_per_result_and_arguments_and_dropped_with_the_result():
    before, calls = figure_memo.kept(), bars.calls
    result = Result((1.0, 2.0))
    first = figure_of(result, bars, 1)
    assert figure_of(result, bars, 1) is first
    assert bars.calls == calls + 1
    assert list(first.data[0].y) == [1.0, 2.0]
    other = figure_of(result, bars, 3)
    assert other is not first
    assert list(other.data[0].y) == [3.0, 6.0]
    assert figure_of(Result((1.0, 2.0)), bars, 1) is not first  # another result, equal or not
    gc.collect()
    assert figure_memo.kept() == before + 2  # the unnamed result is gone with its figure
    del result
    gc.collect()
    assert figure_memo.kept() == before


def test_lecture_mode_scales_a_copy_and_leaves_the_shared_figure_alone(monkeypatch):
    shown = []

    class FakeStreamlit:
        session_state: ClassVar[dict] = {"lecture": True}

        @staticmethod
        def plotly_chart(figure, key):
            shown.append(figure)

    monkeypatch.setattr(lecture, "st", FakeStreamlit)
    result = Result((1.0,))
    shared = figure_of(result, bars, 1)
    lecture.show_chart(shared, key="k")
    assert shown[0] is not shared
    assert shown[0].layout.height == 375  # 300 x 1.25
    assert shared.layout.height == 300
    assert shared.layout.font.size is None
