"""The app in Streamlit's AppTest: every page runs, controls change the numbers, bad choices
show messages instead of exceptions, and the URL's query parameters set the controls."""

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from resnet_viz import gradient_norms, preset, summarize
from resnet_viz.data.study_data import study_batch
from resnet_viz.present.formats import format_count, format_shape
from tests.app_support import APP, assert_clean, html_table, metric, open_page, stage_table


def test_home_page_runs_and_links_to_the_pages():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert_clean(at)
    assert at.title[0].value == "Residual networks, explained"
    assert any("Compute device" in c.value for c in at.sidebar.caption)


def test_architecture_page_defaults_to_resnet50():
    at = open_page("pages/architecture.py")
    assert_clean(at)
    assert metric(at, "Parameters") == "25,557,032"
    assert metric(at, "Depth") == "50 layers"
    assert "25,557,032 parameters and 4.089 GMACs at 224×224" in at.success[0].value


def test_choosing_a_preset_updates_the_numbers():
    at = open_page("pages/architecture.py")
    at.selectbox(key="preset").set_value("resnet101").run()
    assert_clean(at)
    assert metric(at, "Parameters") == "44,549,160"
    assert metric(at, "MACs") == "7.80 G"


def test_depth_mode_any_depth():
    at = open_page("pages/architecture.py", mode="Depth")
    at.number_input(key="depth").set_value(152).run()
    assert metric(at, "Parameters") == "60,192,808"
    at.number_input(key="depth").set_value(200).run()
    assert metric(at, "Depth") == "200 layers"
    assert_clean(at)


def test_impossible_depth_shows_the_message_and_keeps_the_page():
    at = open_page("pages/architecture.py", mode="Depth")
    at.number_input(key="depth").set_value(51).run()
    assert_clean(at)
    assert "Nearest valid depths: 50 or 53" in at.error[0].value
    assert "Still showing the last valid network, ResNet-50" in at.info[0].value
    assert metric(at, "Parameters") == "25,557,032"  # the rest of the page still works


def test_impossible_custom_spec_shows_an_error_element():
    at = open_page("pages/architecture.py", mode="Custom", layers="3, 0, 2, 2")
    assert_clean(at)
    assert "Stage 2 has 0 blocks" in at.error[0].value


def test_input_size_changes_the_macs_not_the_parameters():
    at = open_page("pages/architecture.py")
    at.number_input(key="h").set_value(512)
    at.number_input(key="w").set_value(512).run()
    assert metric(at, "Parameters") == "25,557,032"
    assert metric(at, "MACs") == "21.36 G"


def test_switching_to_custom_starts_from_the_network_on_screen():
    at = open_page("pages/architecture.py", preset="ResNet-101")
    at.segmented_control(key="mode").set_value("custom").run()
    assert_clean(at)
    assert at.text_input(key="layers").value == "3, 4, 23, 3"
    assert metric(at, "Parameters") == "44,549,160"


def test_query_params_reopen_resnet152_at_512():
    at = open_page("pages/architecture.py", preset="ResNet-152", h="512", w="512")
    assert_clean(at)
    assert at.selectbox(key="preset").value == "resnet152"
    assert (at.number_input(key="h").value, at.number_input(key="w").value) == (512, 512)
    assert metric(at, "Parameters") == "60,192,808"
    assert stage_table(at)["Stage 4"]["Output"] == "2048×16×16"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"mode": "Depth", "depth": "49"}, "Nearest valid depths: 48 or 50"),
        ({"mode": "Custom", "widths": "64, lots"}, "'lots' is not a whole number"),
        (
            {
                "mode": "Custom",
                "shortcut": "A: zero-padding (no parameters)",
                "widths": "64, 32, 16, 8",
            },
            "option A",
        ),
        ({"h": "4", "w": "4"}, "too small"),
    ],
)
def test_impossible_specs_in_the_url_show_messages(query, message):
    at = open_page("pages/architecture.py", **query)
    assert_clean(at)
    assert message in at.error[0].value


def test_unknown_query_values_are_ignored():
    at = open_page("pages/architecture.py", preset="ResNet-9000", mode="warp")
    assert_clean(at)
    assert metric(at, "Parameters") == "25,557,032"


def test_plain_twin_and_compare():
    """Plain-50 against its residual twin: the Compare table shows every stage's exact counts,
    the ones summarize() gives for each network, and a CSV of them."""
    at = open_page("pages/architecture.py", skip="false", tab="Compare")
    assert_clean(at)
    assert metric(at, "Parameters") == "22,780,456"
    compare = html_table(at, "compare-table")
    plain = summarize(dataclasses.replace(preset("resnet50"), skip=False))
    residual = summarize(preset("resnet50"))
    assert list(compare) == [s.label for s in plain.stages] + ["Total"]
    for a, b in zip(plain.stages, residual.stages, strict=True):
        row = compare[a.label]
        assert row["Params Plain-50"] == format_count(a.params)
        assert row["Params ResNet-50"] == format_count(b.params)
        assert row["MACs Plain-50"] == format_count(a.macs)
        assert row["Output ResNet-50"] == format_shape(b.output_shape)
    total = compare["Total"]
    assert total["Params ResNet-50"] == "25,557,032"
    assert total["Δ params"] == "2,776,576"  # the residual twin adds projections
    assert compare["Stage 1"]["Δ params"] == "16,896"  # one 1x1 projection (64->256) and its BN
    assert "Download CSV" in [b.proto.label for b in at.get("download_button")]


def test_stages_tab_table_figure_and_downloads():
    """The default tab: the stage table, one SVG figure (its type scaled up in lecture mode)
    and the CSV and SVG downloads."""
    at = open_page("pages/architecture.py", preset="ResNet-18")
    assert_clean(at)
    assert stage_table(at)["Stage 4"]["Parameters"] == "8,393,728"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["Download CSV", "Download figure (SVG)"]
    figure = next(m.value for m in at.markdown if "<svg" in m.value)
    assert 'font-size="17"' in figure  # panel titles at their own size
    lecture = open_page("pages/architecture.py", preset="ResNet-18", lecture="true")
    figure = next(m.value for m in lecture.markdown if "<svg" in m.value)
    assert 'font-size="22.1"' in figure  # 17 x 1.3, the lecture font scale
    # The markup is kept per network (ui/architecture.py): another network, another table.
    at.selectbox(key="preset").set_value("resnet50").run()
    assert stage_table(at)["Stage 4"]["Parameters"] == "14,964,736"  # torchvision's layer4


def test_only_the_open_tab_runs():
    at = open_page("pages/architecture.py", tab="Code")
    assert_clean(at)
    assert 'spec = preset("resnet50")' in at.code[0].value
    # the stage table is not built while its tab is closed
    assert not [m for m in at.markdown if 'class="stage-table"' in m.value]


def test_diagram_tab_draws_the_network_and_a_block():
    at = open_page("pages/architecture.py", tab="Diagram", preset="ResNet-1202 (CIFAR)")
    assert_clean(at)
    assert at.selectbox(key="blk").value == "layer2.0"  # first block with a zero-pad shortcut
    assert r"\mathrm{pad}(x)" in at.get("latex")[0].value


def test_diagram_is_redrawn_for_a_new_network_and_drawn_once():
    at = open_page("pages/architecture.py", tab="Diagram", preset="ResNet-18")
    before = [chart.proto.spec for chart in at.get("graphviz_chart")]
    at.selectbox(key="preset").set_value("resnet152").run()
    assert_clean(at)
    after = [chart.proto.spec for chart in at.get("graphviz_chart")]
    assert len(before) == len(after) == 2  # the network and one block, never a stale copy
    assert "more identical" not in before[0]
    assert "33 more identical blocks" in after[0]


def test_layer_drill_down_filters():
    at = open_page("pages/architecture.py", lstage="Stage 3", tab="Layers")
    layers = at.dataframe[0].value
    assert set(layers["Layer"].str.split(".").str[0]) == {"layer3"}
    assert_clean(at)


# Gradient flow page ----------------------------------------------------------------------------

SMALL_STUDY = {"preset": "ResNet-20 (CIFAR)", "batch": "4"}


def library_study(name: str, data: str = "random", batch_norm: bool = True):
    """resnet_viz.gradient_norms for the settings SMALL_STUDY gives the page (its defaults:
    CIFAR input 3x32x32, seed 0, no SGD step, Kaiming init) on ``data``'s batch."""
    spec, size = preset(name), (3, 32, 32)
    batch = study_batch(data, spec, size, 4, 0)
    return gradient_norms(spec, input_size=size, batch_size=4, seed=0, batch_norm=batch_norm,
                          batch=batch)  # fmt: skip


def shown_metrics(at: AppTest) -> dict[str, str]:
    labels = ("First/last ratio, ResNet", "First/last ratio, plain", "Loss, ResNet", "Loss, plain")
    return {label: metric(at, label) for label in labels}


def expected_metrics(report) -> dict[str, str]:
    """The four numbers of ``report`` at step 0, as the page formats them."""
    snapshot = report.history[0]
    return {
        "First/last ratio, ResNet": f"{report.first_last_ratio('residual'):.3g}",
        "First/last ratio, plain": f"{report.first_last_ratio('plain'):.3g}",
        "Loss, ResNet": f"{snapshot.residual_loss:.3f}",
        "Loss, plain": f"{snapshot.plain_loss:.3f}",
    }


def test_gradient_page_shows_both_networks():
    at = open_page("pages/gradients.py", **SMALL_STUDY)
    assert_clean(at)
    assert "plain network's first layer gets" in at.markdown[1].value
    figure = at.get("plotly_chart")[0].proto.spec
    assert "ResNet (with skips)" in figure
    assert "Plain twin (no skips)" in figure
    assert shown_metrics(at) == expected_metrics(library_study("resnet20"))


def test_gradient_page_depth_and_batch_norm_change_the_numbers():
    at = open_page("pages/gradients.py", **SMALL_STUDY)
    at.selectbox(key="preset").set_value("resnet32").run()
    assert_clean(at)
    assert shown_metrics(at) == expected_metrics(library_study("resnet32"))
    at.toggle(key="gbn").set_value(False).run()
    assert_clean(at)
    assert shown_metrics(at) == expected_metrics(library_study("resnet32", batch_norm=False))
    assert any("no BatchNorm (convs with biases)" in c.value for c in at.caption)


def test_gradient_page_refuses_too_heavy_work_with_a_message():
    at = open_page("pages/gradients.py", preset="ResNet-152", h="512", w="512", batch="64")
    assert_clean(at)
    assert "GiB" in at.error[0].value
    assert "Use a smaller batch" in at.error[0].value


def test_gradient_page_on_synthetic_shapes():
    at = open_page("pages/gradients.py", data="Synthetic shapes with their labels", **SMALL_STUDY)
    assert_clean(at)
    assert any("synthetic shapes with their labels" in c.value for c in at.caption)
    assert shown_metrics(at) == expected_metrics(library_study("resnet20", data="shapes"))


def test_shapes_need_a_network_that_can_take_them():
    at = open_page(
        "pages/gradients.py", data="Synthetic shapes with their labels", classes="5", **SMALL_STUDY
    )
    assert_clean(at)
    assert "The shapes have 7 classes but this network has 5 outputs" in at.error[0].value
