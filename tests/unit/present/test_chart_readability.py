"""Charts readable on a projector, on a dark page and without colour: contrast and colour
differences against hand-checked values, then every chart's lines, labels and ticks."""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import numpy as np
import plotly.graph_objects as go
import pytest

from resnet_viz.analysis.attribution.faithfulness import Faithfulness
from resnet_viz.analysis.attribution.methods import CAM_METHODS
from resnet_viz.analysis.lesion import LesionResult
from resnet_viz.experiments.degradation import degradation_curves
from resnet_viz.experiments.landscape import landscape_record
from resnet_viz.present.cam import faithfulness_figure, sanity_figure
from resnet_viz.present.colours import (
    DARK_BACKGROUND,
    LIGHT_BACKGROUND,
    MIN_DELTA_E,
    MIN_LINE_CONTRAST,
    REFERENCE_GREY,
    SERIES_COLOURS,
    contrast_ratio,
    delta_e,
    relative_luminance,
    series_styles,
)
from resnet_viz.present.degradation import degradation_figure
from resnet_viz.present.figure_layout import log_axis_ticks
from resnet_viz.present.gradients import gradient_norms_figure
from resnet_viz.present.landscape import MAX_Z_LABELS, landscape_figure
from resnet_viz.present.lesion import LABEL_BAND, label_side, lesion_figure

# -- the measures, against published values ------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ("#000000", "#FFFFFF", 21.0),  # the WCAG maximum
        ("#FFFFFF", "#FFFFFF", 1.0),
        ("#777777", "#FFFFFF", 4.48),  # WebAIM contrast checker: 4.48:1
        ("#767676", "#FFFFFF", 4.54),  # the lightest grey passing AA on white (WebAIM: 4.54:1)
        ("#0000FF", "#FFFFFF", 8.59),  # WebAIM: 8.59:1
        ("#FFFF00", "#FFFFFF", 1.07),  # WebAIM: 1.07:1
    ],
)
def test_contrast_ratio_matches_published_values(a, b, ratio):
    assert contrast_ratio(a, b) == pytest.approx(ratio, abs=0.005)
    assert contrast_ratio(b, a) == contrast_ratio(a, b)


def test_relative_luminance_of_the_primaries_is_the_bt709_weights():
    assert relative_luminance("#FF0000") == pytest.approx(0.2126)
    assert relative_luminance("#00FF00") == pytest.approx(0.7152)
    assert relative_luminance("#0000FF") == pytest.approx(0.0722)


def test_delta_e_matches_cielab_by_hand():
    # CIELAB (D65) of white is (100, 0, 0) and of black (0, 0, 0); pure sRGB red is about
    # (53.24, 80.09, 67.20) (Bruce Lindbloom's calculator).
    assert delta_e("#FFFFFF", "#000000") == pytest.approx(100, abs=0.01)
    assert delta_e("#FF0000", "#000000") == pytest.approx(
        (53.24**2 + 80.09**2 + 67.20**2) ** 0.5, abs=0.05
    )
    assert delta_e("#123456", "#123456") == 0


def test_every_series_colour_reads_on_light_and_dark_pages_and_differs_from_the_others():
    for colour in (*SERIES_COLOURS, REFERENCE_GREY):
        for background in (LIGHT_BACKGROUND, DARK_BACKGROUND):
            assert contrast_ratio(colour, background) >= MIN_LINE_CONTRAST, (colour, background)
    for a, b in combinations((*SERIES_COLOURS, REFERENCE_GREY), 2):
        assert delta_e(a, b) >= MIN_DELTA_E, (a, b)


def test_series_styles_never_repeat_a_marker_or_a_colour_within_the_palette():
    styles = series_styles(len(SERIES_COLOURS))
    assert len({colour for colour, _, _ in styles}) == len(styles)
    assert len({marker for _, _, marker in styles}) == len(styles)
    assert len(set(styles)) == len(styles)


# -- every chart's lines -------------------------------------------------------------------------


def line_colours(fig: go.Figure) -> set[str]:
    """Every colour a figure draws a line (or a line's markers) with."""
    colours = {t.line.color for t in fig.data if getattr(t, "line", None) and t.line.color}
    colours |= {s.line.color for s in fig.layout.shapes if s.line.color}
    return colours


def assert_lines_readable(fig: go.Figure) -> None:
    colours = line_colours(fig)
    assert colours
    for colour in colours:
        for background in (LIGHT_BACKGROUND, DARK_BACKGROUND):
            assert contrast_ratio(colour, background) >= MIN_LINE_CONTRAST, (colour, background)


def lesion_pair(resnet_base=0.966, plain_base=0.932):
    names = [f"layer{s}.{b}" for s in (1, 2, 3) for b in range(4) if s == 1 or b > 0]
    resnet = dict(
        zip(names, [0.44, 0.75, 0.95, 0.96, 0.96, 0.96, 0.97, 0.96, 0.96, 0.96], strict=True)
    )
    plain = dict(
        zip(names, [0.11, 0.11, 0.16, 0.11, 0.09, 0.10, 0.14, 0.10, 0.12, 0.18], strict=True)
    )
    return LesionResult(resnet_base, resnet, False, 500), LesionResult(plain_base, plain, True, 500)


def curves(values: dict[str, float]) -> dict[str, Faithfulness]:
    x = np.linspace(0, 1, 5)
    return {n: Faithfulness(x, x * 0 + v, x * 0 + v, v, v, 0, 11) for n, v in values.items()}


def gradient_report(residual: list[float], plain: list[float]):
    names = ["conv1", *[f"layer1.{i}.conv1" for i in range(len(residual) - 2)], "fc"]
    snapshot = SimpleNamespace(
        residual=dict(zip(names, residual, strict=True)),
        plain=dict(zip(names, plain, strict=True)),
        branch_ratio={},
    )
    return SimpleNamespace(shared_layers=lambda: tuple(names), history=[snapshot])


def test_the_degradation_chart_has_no_pale_line():
    """The first depth used to be Plotly Safe's #DDCC77: 1.6:1 on white."""
    fig = degradation_figure(degradation_curves())
    assert_lines_readable(fig)
    # Plain and ResNet of one depth share colour and marker; depths differ in both.
    styles = {t.name: (t.line.color, t.marker.symbol, t.line.dash) for t in fig.data}
    assert styles["plain-20"][:2] == styles["ResNet-20"][:2]
    assert styles["plain-20"][:2] != styles["plain-56"][:2]
    assert delta_e(styles["plain-20"][0], styles["plain-56"][0]) >= MIN_DELTA_E


def test_the_lesion_chart_lines_read_on_both_backgrounds():
    assert_lines_readable(lesion_figure(*lesion_pair(), chance=0.1))


def test_the_faithfulness_chart_tells_every_method_apart():
    """Colour by colour (the old palette gave Grad-CAM, XGrad-CAM and LayerCAM look-alike
    pastels), and by dash and marker without colour."""
    fig = faithfulness_figure(
        curves(dict.fromkeys(CAM_METHODS, 0.5)), curves({"random": 0.4, "inverted": 0.3}), "cat"
    )
    assert_lines_readable(fig)
    legend = [t for t in fig.data if t.showlegend]
    assert len(legend) == len(CAM_METHODS) + 2
    methods = [t for t in legend if t.legendgroup in CAM_METHODS]
    for a, b in combinations(methods, 2):
        assert delta_e(a.line.color, b.line.color) >= MIN_DELTA_E, (a.name, b.name)
    for method in methods:
        assert delta_e(method.line.color, REFERENCE_GREY) >= MIN_DELTA_E
    assert all("markers" in t.mode for t in legend)
    assert len({t.marker.symbol for t in legend}) == len(legend)
    assert len({(t.line.dash, t.marker.symbol) for t in legend}) == len(legend)


def test_the_sanity_and_gradient_charts_lines_read_on_both_backgrounds():
    check = SimpleNamespace(
        method="gradcam", layer="layer4",
        steps=[SimpleNamespace(randomized="fc", label="fc", rank_correlation=0.5, ssim=0.4)],
    )  # fmt: skip
    assert_lines_readable(sanity_figure(check))
    report = gradient_report([1e-3, 1e-2, 1e-1, 1.0], [1e-4, 1e-2, 1.0, 1e2])
    assert_lines_readable(gradient_norms_figure(report))


# -- the lesion chart's labels -------------------------------------------------------------------


def label_bands(fig: go.Figure) -> dict[str, tuple[float, float]]:
    """Annotation text -> the y band it covers (LABEL_BAND tall, above or below its line)."""
    bands = {}
    for note in fig.layout.annotations:
        band = LABEL_BAND
        low, high = (note.y, note.y + band) if note.yanchor == "bottom" else (note.y - band, note.y)
        bands[note.text] = (low, high)
    return bands


@pytest.mark.parametrize(
    ("resnet_base", "plain_base"),
    [(0.966, 0.932), (0.93, 0.966), (0.9, 0.5), (0.99, 0.97), (0.3, 0.08), (0.5, 0.5)],
)
def test_no_other_line_crosses_a_lesion_label(resnet_base, plain_base):
    """The shipped pair (96.6 % and 93.2 %) put "ResNet, intact" under its line, where the plain
    twin's dashed line at 93.2 % struck it through. (Three lines within one label's height of
    each other leave no free side: label_side then takes the less crossed one.)"""
    fig = lesion_figure(*lesion_pair(resnet_base, plain_base), chance=0.1)
    levels = {s.y0: s for s in fig.layout.shapes}
    assert sorted(levels) == sorted({resnet_base, plain_base, 0.1})
    for text, (low, high) in label_bands(fig).items():
        own = next(n.y for n in fig.layout.annotations if n.text == text)
        others = [y for y in levels if y != own]
        assert not any(low <= y <= high for y in others), (text, low, high, others)
        assert low >= 0


def test_label_side_picks_the_free_side():
    assert label_side(0.5, [0.45]) == "top"
    assert label_side(0.5, [0.55]) == "bottom"
    assert label_side(0.5, [], points=[0.52, 0.53]) == "bottom"
    assert label_side(1.0, []) == "bottom"  # no room above 100 %
    assert label_side(0.02, []) == "top"  # nor below 0


# -- the 3-D landscape's z axis ------------------------------------------------------------------


def shipped_surfaces():
    record = landscape_record()
    grids = {n: np.array(g["loss"]) for n, g in record["grids"].items()}
    return grids, record["alphas"], record["betas"]


def test_the_3d_landscape_titles_its_z_axis_and_labels_few_decades():
    grids, alphas, betas = shipped_surfaces()
    fig = landscape_figure(grids, alphas, betas, view="surface")
    scenes = [fig.layout[k] for k in fig.layout if k.startswith("scene")]
    assert len(scenes) == len(grids)
    for scene in scenes:
        assert scene.zaxis.title.text == "training loss"
        ticks = list(scene.zaxis.tickvals)
        assert len(ticks) <= MAX_Z_LABELS
        assert ticks[-1] == 4  # the cap, 10^4, always labelled
        assert min(ticks) >= scene.zaxis.range[0] + 1  # none in the crowded corner
        assert list(scene.zaxis.ticktext) == [f"{10.0**d:g}" for d in ticks]
        assert scene.camera.eye.x > 1.25  # farther than Plotly's default, which clips labels
    assert fig.layout.coloraxis.colorbar.title.text == "training loss"


# -- the gradient chart's log axis ---------------------------------------------------------------


def test_the_gradient_chart_labels_decades_only():
    report = gradient_report([1e-3, 2e-2, 3e-1, 4.0], [1e-4, 1e-2, 1.0, 1e3])
    axis = gradient_norms_figure(report).layout.yaxis
    assert axis.type == "log"
    assert axis.dtick == 1
    assert axis.exponentformat == "power"


def test_a_log_axis_within_one_decade_keeps_plotlys_ticks():
    """Decades only would leave 2 to 9 with no label at all, and 0.5 to 9 with one (10^0)."""
    assert "dtick" not in log_axis_ticks([2.0, 9.0])
    assert "dtick" not in log_axis_ticks([0.5, 9.0])
    assert log_axis_ticks([0.05, 9.0])["dtick"] == 1  # 10^-1 and 10^0
    assert "dtick" not in log_axis_ticks([0.0, float("nan"), -1.0])


# -- lecture mode --------------------------------------------------------------------------------


def test_lecture_mode_scales_every_axis_and_the_legend():
    """Streamlit's theme sizes ticks itself, so the layout's font alone left them small."""
    from plotly.subplots import make_subplots

    from resnet_viz.ui.lecture import LECTURE_CHART_FONT, scale_for_lecture

    fig = make_subplots(rows=1, cols=2)
    fig.update_layout(height=400)
    scale_for_lecture(fig)
    for axis in ("xaxis", "xaxis2", "yaxis", "yaxis2"):
        assert fig.layout[axis].tickfont.size == LECTURE_CHART_FONT
    assert fig.layout.legend.font.size == LECTURE_CHART_FONT
    assert fig.layout.font.size == LECTURE_CHART_FONT
    assert fig.layout.height == 500
