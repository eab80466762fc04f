"""The architecture page's SVG figure: the numbers it plots, read back out of the SVG, and the
geometry that encodes them (bar heights proportional, the shape flow on a log2 scale)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from resnet_viz import preset, spec_for_depth, summarize
from resnet_viz.present.colours import stage_colour
from resnet_viz.present.stage_figure import (
    DENSE_LAYERS,
    TEXT_DEFAULTS,
    nice_ticks,
    stage_figure_svg,
    standalone_svg,
)

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]


def _font_sizes(markup: str) -> list[float]:
    """Each label's size: its own, or the one it inherits from the figure's group."""
    group = _parse(markup).find(f"{SVG}g")
    inherited = group.get("font-size")
    return [float(t.get("font-size", inherited)) for t in group.iter(f"{SVG}text")]


def _series(root: ET.Element) -> dict[str, list[int]]:
    return {
        p.get("data-name"): [int(v) for v in p.get("data-values").split()]
        for p in root.iter(f"{SVG}polyline")
    }


def test_bars_are_the_stage_parameters_and_macs_to_scale():
    summary = summarize(preset("resnet50"))
    bars = _bars(_parse(stage_figure_svg(summary)))
    stages = len(summary.stages)
    assert len(bars) == 2 * stages
    params, macs = bars[:stages], bars[stages:]
    assert [int(b.get("data-value")) for b in params] == [s.params for s in summary.stages]
    assert [int(b.get("data-value")) for b in macs] == [s.macs for s in summary.stages]
    for panel in (params, macs):
        # one scale per panel: every height is its value times the tallest bar's px per unit
        tallest = max(panel, key=lambda b: int(b.get("data-value")))
        scale = float(tallest.get("height")) / int(tallest.get("data-value"))
        for bar in panel:
            expected = int(bar.get("data-value")) * scale
            assert float(bar.get("height")) == pytest.approx(expected, abs=0.1)  # 0.1 px rounding
    stage4 = params[4].find(f"{SVG}title").text
    assert stage4 == "Stage 4: 14,964,736 parameters (58.6 %)"


def test_shape_flow_is_resnet18s_shapes_on_a_log2_scale():
    summary = summarize(preset("resnet18"))
    root = _parse(stage_figure_svg(summary))
    series = _series(root)
    assert series["height (px)"] == [224, 56, 56, 28, 14, 7]
    assert series["channels"] == [3, 64, 64, 128, 256, 512]
    line = next(p for p in root.iter(f"{SVG}polyline") if p.get("data-name") == "height (px)")
    ys = [float(point.split(",")[1]) for point in line.get("points").split()]
    # 56 -> 28 -> 14 -> 7: each halving moves the line down by the same distance
    steps = [ys[i + 1] - ys[i] for i in range(2, 5)]
    assert max(steps) == pytest.approx(min(steps), abs=0.15)
    # and 224 -> 56 (two halvings) by twice that
    assert ys[1] - ys[0] == pytest.approx(2 * steps[0], abs=0.3)


def test_receptive_field_panel():
    summary = summarize(preset("resnet18"))
    root = _parse(stage_figure_svg(summary))
    rf = _series(root)["receptive field"]
    assert rf[-1] == 435  # ResNet-18's receptive field, Araujo et al. 2019
    assert len(rf) == 1 + 1 + 16  # stem conv, max-pool, 16 block convs
    dots = [c for c in root.iter(f"{SVG}circle") if "receptive field" in c.find(f"{SVG}title").text]
    assert len(dots) == len(rf)
    assert dots[-1].get("fill") == stage_colour("layer4")
    assert dots[-1].find(f"{SVG}title").text == "layer4.1.conv2: receptive field 435 px, stride 32"
    assert "input size (224 px)" in "".join(root.itertext())


def test_dense_networks_draw_the_line_alone():
    summary = summarize(spec_for_depth(1202, "cifar"), (3, 32, 32))
    root = _parse(stage_figure_svg(summary))
    rf = _series(root)["receptive field"]
    assert len(rf) > DENSE_LAYERS
    dots = [c for c in root.iter(f"{SVG}circle") if "receptive field" in c.find(f"{SVG}title").text]
    assert dots == []


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (14_964_736, [0, 5e6, 10e6, 15e6]),
        (1_464_336_384, [0, 0.5e9, 1e9, 1.5e9]),
        (435, [0, 200, 400, 600]),
        (943_718_400, [0, 250e6, 500e6, 750e6, 1e9]),
        (0, [0, 1]),
    ],
)
def test_nice_ticks(top, ticks):
    assert nice_ticks(top) == pytest.approx(ticks)


def test_axis_ticks_and_lecture_scale():
    summary = summarize(preset("resnet50"))
    markup = stage_figure_svg(summary)
    texts = list(_parse(markup).itertext())
    assert {"15M", "10M", "5M", "1.5G", "1G", "500M"} <= set(texts)
    sizes = _font_sizes(markup)
    large = _font_sizes(stage_figure_svg(summary, text_scale=1.3))
    assert large == pytest.approx([1.3 * s for s in sizes])


def test_labels_inherit_the_shared_style_and_write_only_what_differs():
    markup = stage_figure_svg(summarize(preset("resnet50")))
    group = _parse(markup).find(f"{SVG}g")
    assert {name: group.get(name) for name in TEXT_DEFAULTS} == TEXT_DEFAULTS
    labels = list(group.iter(f"{SVG}text"))
    for label in labels:  # no label repeats a value it already inherits
        assert all(label.get(name) != value for name, value in TEXT_DEFAULTS.items())

    def style(label: ET.Element) -> dict[str, str]:
        return {name: label.get(name, value) for name, value in TEXT_DEFAULTS.items()}

    titles = [style(t) for t in labels if t.text == "Parameters per stage"]
    assert titles == [{**TEXT_DEFAULTS, "font-size": "17", "font-weight": "bold"}]
    tick = next(style(t) for t in labels if t.text == "15M")
    assert tick == {**TEXT_DEFAULTS, "text-anchor": "end"}
    assert markup.count("<text") == len(labels) > 40
    assert markup.count('fill="currentColor"') == 1


def test_standalone_file_is_well_formed_with_its_own_colours():
    markup = standalone_svg(summarize(preset("resnet18")))
    assert markup.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = _parse(markup.split("\n", 1)[1])
    assert "background:#ffffff" in root.get("style")
    assert root.get("role") == "img"
