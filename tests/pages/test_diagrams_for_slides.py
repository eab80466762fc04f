"""Diagrams for slides: collapsed deep networks, every shortcut kind and the SE branch drawn,
SVG and DOT downloads, and the stage table's empty Blocks cells."""

from resnet_viz import preset, summarize
from resnet_viz.present.diagram import SHORTCUT_LEGEND, block_dot, network_dot
from resnet_viz.present.svg import render_svg, svg_renderer
from tests.app_support import assert_clean, open_page, stage_table


def test_collapsed_resnet152_is_each_stage_first_block_and_the_repeated_block_times_n():
    summary = summarize(preset("resnet152"))
    dot = network_dot(summary, collapse=True)
    for stage, blocks in zip(range(1, 5), (3, 8, 36, 3), strict=True):
        assert f"blocks 2-{blocks}" in dot, stage
        assert f"× {blocks - 1}" in dot
    assert dot.count("block 1\\n") == 4
    assert "more identical blocks" not in dot
    assert len(dot) < len(network_dot(summary)) < len(network_dot(summary, keep=40))


def test_block_diagram_names_the_shortcut_kind_and_draws_se():
    se = block_dot(summarize(preset("seresnet50")), "layer2.0")
    # SE on 512 channels squeezes to 32 (512 / 16, a multiple of 8), then back to 512.
    assert "SE: global avg-pool\\n1×1 conv, 32, ReLU\\n1×1 conv, 512, sigmoid" in se
    assert "gates: 512×1×1" in se
    d = block_dot(summarize(preset("resnet50d")), "layer2.0")
    assert "2×2 avg-pool, /2" in d
    assert "avg-pool, 1×1 conv W_s" in d
    assert "1×1, 512 conv" in d  # the projection conv itself has stride 1
    zero_pad = block_dot(summarize(preset("resnet20")), "layer2.0")
    assert "zero-pad to 32 channels" in zero_pad
    assert set(SHORTCUT_LEGEND) == {"identity", "projection", "pool-projection", "zero-pad"}


def test_svg_is_rendered_for_the_download():
    assert svg_renderer() is not None  # graphviz-pure is one of the app's requirements
    svg = render_svg(network_dot(summarize(preset("resnet152")), collapse=True))
    assert svg is not None
    assert svg.lstrip().startswith(b"<?xml")
    assert b"<svg" in svg
    assert b"blocks 2&#45;36" in svg
    assert render_svg("digraph { this is not dot") is None


def test_diagram_tab_offers_svg_and_dot_and_stage_table_shows_dashes():
    at = open_page("pages/architecture.py", preset="seresnet50", tab="Diagram", collapse="true")
    assert_clean(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download SVG", "Download DOT"] * 2
    at = open_page("pages/architecture.py", preset="resnet50")
    blocks = [row["Blocks"] for row in stage_table(at).values()]
    assert blocks == ["–", "3", "4", "6", "3", "–"]
