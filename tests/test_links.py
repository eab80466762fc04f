"""Links people type: short lower-case values open the same view as the labels the app writes,
and the URL is rewritten to the one canonical form."""

import pytest

from resnet_viz.present.choice import FAMILY_LABELS, MODE_LABELS, SHORTCUT_LABELS, canonical_query
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
