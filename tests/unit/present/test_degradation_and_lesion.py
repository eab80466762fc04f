"""lab_charts: the figures carry the numbers they are given, in the paper's layout."""

from __future__ import annotations

import math

import plotly.graph_objects as go
import pytest

from resnet_viz.analysis.lesion import LesionResult, path_length_distribution
from resnet_viz.experiments.degradation import degradation_curves
from resnet_viz.present.colours import PLAIN_COLOUR, RESIDUAL_COLOUR
from resnet_viz.present.degradation import degradation_figure, depth_colours
from resnet_viz.present.lesion import lesion_figure, path_length_figure


def test_degradation_figure_plain_left_dashed_resnet_right_solid():
    curves = degradation_curves()
    fig = degradation_figure(curves)
    assert isinstance(fig, go.Figure)
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["plain-20", "plain-56", "ResNet-20", "ResNet-56"]
    colours = depth_colours(list(curves))
    for name, values in curves.items():
        depth = int(name.split("-")[1])
        trace = traces[name if name.startswith("plain") else f"ResNet-{depth}"]
        assert list(trace.y) == values
        assert list(trace.x) == list(range(1, len(values) + 1))
        assert trace.line.color == colours[depth]
        if name.startswith("plain"):
            assert trace.line.dash == "dash"
            assert trace.xaxis == "x"
        else:
            assert trace.line.dash == "solid"
            assert trace.xaxis == "x2"
    assert fig.layout.yaxis.tickformat == ".0%"
    assert colours[20] != colours[56]


def test_degradation_figure_draws_a_run_in_progress():
    partial = {"plain-20": [0.9, 0.5], "plain-56": [0.9], "resnet-20": [0.4], "resnet-56": []}
    fig = degradation_figure(partial, epochs=10)
    assert [len(t.y) for t in fig.data] == [2, 1, 1, 0]
    assert tuple(fig.layout.xaxis.range) == (0.5, 10.5)


def test_lesion_figure_shows_accuracies_and_baselines():
    resnet = LesionResult(0.97, {"layer1.0": 0.9, "layer1.1": 0.95}, False, 100)
    plain = LesionResult(0.93, {"layer1.0": 0.1, "layer1.1": 0.12}, True, 100)
    fig = lesion_figure(resnet, plain, chance=0.1)
    assert [list(t.y) for t in fig.data] == [[0.9, 0.95], [0.1, 0.12]]
    assert list(fig.data[0].x) == ["layer1.0", "layer1.1"]
    assert [t.line.color for t in fig.data] == [RESIDUAL_COLOUR, PLAIN_COLOUR]
    lines = [(s.y0, s.line.dash, s.line.color) for s in fig.layout.shapes]
    assert (0.97, "dash", RESIDUAL_COLOUR) in lines
    assert (0.93, "dash", PLAIN_COLOUR) in lines
    assert any(y == 0.1 and dash == "dot" for y, dash, _ in lines)
    assert len(lesion_figure(resnet, plain).layout.shapes) == 2


@pytest.mark.parametrize("n", [1, 10, 54])
def test_path_length_figure_is_the_binomial(n):
    fig = path_length_figure(n)
    (bar,) = fig.data
    assert list(bar.x) == list(range(n + 1))
    assert list(bar.y) == path_length_distribution(n)
    assert math.fsum(bar.y) == pytest.approx(1)
    assert f"{n} blocks" in fig.layout.title.text
