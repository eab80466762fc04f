"""Links people type: short lower-case values open the same view as the labels the app writes,
and the URL is rewritten to the one canonical form."""

import pytest

from resnet_viz.ui.choice import FAMILY_LABELS, MODE_LABELS, SHORTCUT_LABELS, canonical_query
from tests.app_support import assert_clean, metric, open_page


def test_short_values_map_to_the_labels_the_controls_read():
    typed = {"mode": "depth", "family": "cifar", "depth": "1202", "preset": "resnet-101",
             "shortcut": "a", "skip": "False", "stem": "CIFAR", "version": "v1",
             "se": "on"}  # fmt: skip
    assert canonical_query(typed) == {
        "mode": MODE_LABELS["depth"],
        "family": FAMILY_LABELS["cifar"],
        "preset": "ResNet-101",
        "shortcut": SHORTCUT_LABELS["A"],
        "skip": "false",
        "stem": "cifar",
        "version": "V1",
        "se": "true",
    }


def test_canonical_links_and_unknown_values_are_left_alone():
    canonical = {"mode": "Depth", "family": FAMILY_LABELS["cifar"], "preset": "ResNet-50"}
    assert canonical_query(canonical) == {}
    assert canonical_query({"preset": "vgg16", "tab": "Stages", "h": "512"}) == {}


@pytest.mark.parametrize(
    ("query", "params"),
    [
        ({"mode": "depth", "family": "cifar", "depth": "1202"}, "19,421,274"),
        ({"preset": "resnet101"}, "44,549,160"),
        ({"preset": "seresnet50"}, "28,088,024"),
        ({"mode": "CUSTOM", "block": "basic", "layers": "3,3,3", "widths": "16,32,64",
          "stem": "cifar", "shortcut": "b", "classes": "10"}, "272,474"),
    ],
    ids=["cifar-1202", "preset", "timm-preset", "custom-option-b"],
)  # fmt: skip
def test_hand_typed_links_open_the_view(query, params):
    at = open_page("pages/architecture.py", **query)
    assert_clean(at)
    assert metric(at, "Parameters") == params
    for key, value in canonical_query(query).items():
        # The URL now holds the canonical form (a control at its default leaves the URL).
        assert at.query_params.get(key) in (value, None), key
    assert canonical_query(dict(at.query_params)) == {}


# Links with values the controls cannot use ------------------------------------------------------


def _link_warning(at) -> str:
    return next(w.value for w in at.warning if w.value.startswith("This link holds values"))


def test_a_link_with_unusable_values_says_what_it_ignored_and_what_is_shown():
    at = open_page("pages/architecture.py", preset="resnet9999", h="-5")
    assert_clean(at)
    warning = _link_warning(at)
    assert "preset 'resnet9999' is not a preset this app knows; showing ResNet-50." in warning
    assert "height -5 is below 1, the least this app takes" in warning
    assert warning.endswith("Shown instead: ResNet-50 at 3×224×224.")
    assert metric(at, "Parameters") == "25,557,032"
    assert dict(at.query_params) == {}  # dropped from the URL
    at.run()  # any rerun with the same network keeps the warning
    assert _link_warning(at)
    at.number_input(key="h").set_value(64).run()  # a new network: the warning has done its job
    assert not [w for w in at.warning if w.value.startswith("This link holds values")]


@pytest.mark.parametrize(
    ("query", "key", "default"),
    [
        ({"h": "inf"}, "h", None),  # Streamlit's own reading raises on it
        ({"mode": "Depth", "depth": "30000"}, "depth", 50),
        ({"channels": "0"}, "channels", None),
        ({"mode": "Custom", "groups": "abc"}, "groups", 1),
        ({"skip": "maybe"}, "skip", True),
        ({"mode": "Custom", "block": "triple"}, "block", "bottleneck"),
        ({"mode": "Depth", "family": "mnist"}, "family", "imagenet"),
    ],
)  # fmt: skip
def test_each_dropped_value_is_named_and_the_control_shows_its_default(query, key, default):
    at = open_page("pages/architecture.py", **query)
    assert_clean(at)
    widgets = [*at.number_input, *at.toggle, *at.selectbox, *at.radio]
    assert next(w.value for w in widgets if w.key == key) == default
    assert f" {query[key]!r} " in _link_warning(at) or f" {query[key]} " in _link_warning(at)


def test_a_bad_tab_is_named_and_the_first_tab_shown():
    at = open_page("pages/architecture.py", tab="Nope")
    assert_clean(at)
    assert "tab 'Nope' is not one of Stages, Layers, Diagram, Compare, Code; showing Stages." in (
        _link_warning(at)
    )
    assert any('class="stage-table"' in m.value for m in at.markdown)


def test_a_good_link_has_no_warning():
    at = open_page("pages/architecture.py", preset="ResNet-152", h="512", w="512", tab="Stages")
    assert_clean(at)
    assert not at.warning


def test_compare_shows_no_arrow_for_an_equal_depth():
    """The plain twin has the same depth: "= same as", no arrow; more parameters: up."""
    at = open_page("pages/architecture.py", skip="false", tab="Compare")
    assert_clean(at)
    metrics = {m.label: m for m in at.metric}
    depth = metrics["Depth: ResNet-50"]
    assert depth.delta == "= same as Plain-50"
    assert depth.proto.direction == depth.proto.MetricDirection.NONE
    params = metrics["Parameters: ResNet-50"]
    assert params.delta == "+2,776,576 vs Plain-50"
    assert params.proto.direction == params.proto.MetricDirection.UP


def test_the_gradient_page_says_which_link_values_it_ignored():
    at = open_page("pages/gradients.py", preset="resnet9999", h="-5", batch="4")
    assert_clean(at)
    warning = _link_warning(at)
    shown = "ResNet-56 (CIFAR)"  # the page's own default, not the architecture page's
    assert f"preset 'resnet9999' is not a preset this app knows; showing {shown}." in warning
    assert "height -5 is below 1, the least this app takes" in warning
    assert warning.endswith(f"Shown instead: {shown} at 3×32×32.")
    assert dict(at.query_params) == {"batch": "4"}  # the bad values left the URL
    assert metric(at, "First/last ratio, ResNet")  # the study ran on the network shown


@pytest.mark.parametrize(
    ("page", "query", "notes"),
    [
        (
            "pages/block_anatomy.py",
            {"an_block": "layer9.9"},
            [
                "The link asks for the block “layer9.9”, which is not one of the choices here "
                "(layer1.0 to layer3.1): showing layer2.0."
            ],
        ),
        (
            "pages/receptive_field.py",
            {"erf_layer": "nope", "erf_side": "7"},
            [
                "The link asks for an input side “7”, which is not one of the choices here "
                "(32 to 224): showing 128.",
                "The link asks for the layer “nope”, which is not one of the choices here "
                "(layer1 to layer3.3): showing layer3.",
            ],
        ),
        (
            "pages/landscape.py",
            {"ls_deep": "999", "ls_view": "4-D"},
            [
                "The link asks for a depth for the deep networks “999”, which is not one of the "
                "choices here (8 to 110): showing 56.",
                "The link asks for a view “4-D”, which is not one of the choices here (Contour, "
                "3-D surface): showing Contour.",
            ],
        ),
        (
            "pages/degradation.py",
            {"shallow": "3"},
            [
                "The link asks for a depth for the shallow networks “3”, which is not one of the "
                "choices here (8 to 110): showing 20."
            ],
        ),
    ],
)
def test_teaching_lab_pages_say_which_link_values_they_ignored(page, query, notes):
    """A bound menu drops a value it does not have silently; the page says so in its main
    area (seen with the sidebar collapsed), and the rest of the page still works."""
    at = open_page(page, **query)
    assert_clean(at)
    assert [w.value for w in at.main.warning] == notes
    assert not at.sidebar.warning
    assert at.get("plotly_chart") or at.get("image")  # the page drew its results
    clean = open_page(page)
    assert not clean.main.warning
