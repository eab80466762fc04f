"""Deletion and insertion AUC per layer: every row equals faithfulness() called on grad_cam's
map at that layer (and on the fused map), stages share their last block's measurement, the
progress count, errors and the model left as found."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_viz.analysis.attribution.cam import grad_cam, target_layers
from resnet_viz.analysis.attribution.faithfulness import faithfulness
from resnet_viz.analysis.attribution.fused import FusionError, fused_cam
from resnet_viz.analysis.attribution.layer_faithfulness import (
    FUSED,
    layer_faithfulness,
    measured_maps,
)
from tests.unit.analysis.attribution.test_cam import (
    assert_unchanged,
    image_for,
    snapshot,
    tiny_model,
)

# One intra-op thread (see tests/conftest.py).
pytestmark = pytest.mark.usefixtures("one_intra_op_thread")

STEPS = 4


def test_every_row_equals_faithfulness_called_directly():
    model = tiny_model().eval()
    x = image_for(model.spec, side=32)
    before = snapshot(model)
    calls = []
    report = layer_faithfulness(
        model, x, method="gradcam", target_class=2, steps=STEPS,
        progress=lambda done, total: calls.append((done, total)),
    )  # fmt: skip
    names = target_layers(model.spec)
    assert [r.layer for r in report.rows] == [*names, FUSED]
    for row in report.layers:
        cam = grad_cam(model, x, target_layer=row.layer, target_class=2, method="gradcam")
        direct = faithfulness(model, x, cam.heatmap, target_class=2, steps=STEPS)
        assert row.map_size == cam.raw.shape
        np.testing.assert_array_equal(row.faithfulness.deletion, direct.deletion)
        np.testing.assert_array_equal(row.faithfulness.insertion, direct.insertion)
        assert row.deletion_auc == direct.deletion_auc
        assert row.insertion_auc == direct.insertion_auc
    fused = fused_cam(model, x, target_class=2, method="gradcam")
    np.testing.assert_array_equal(report.fused.heatmap, fused.heatmap)
    direct = faithfulness(model, x, fused.heatmap, target_class=2, steps=STEPS)
    assert report.fused_row.deletion_auc == direct.deletion_auc
    assert report.fused_row.insertion_auc == direct.insertion_auc
    assert report.fused_row.map_size == (32, 32)
    # ResNet (1, 2, 1, 1): 5 blocks, each stage is its last block's tensor: 5 maps + the fused
    distinct = sum(model.spec.layers) + 1
    assert measured_maps(model.spec) == distinct
    assert calls == [(i, distinct) for i in range(1, distinct + 1)]
    assert report.forward_passes == distinct * (2 * (STEPS + 1) + 1)
    rows = {r.layer: r for r in report.rows}
    assert rows["layer2"].faithfulness is rows["layer2.1"].faithfulness
    # target_layers order: each stage (its last block), then its blocks
    assert [r.depth for r in report.rows] == [0, 0, 2, 1, 2, 3, 3, 4, 4, 5]
    assert report.target_class == 2
    assert_unchanged(model, before)


def test_the_top_class_is_followed_when_none_is_asked():
    model = tiny_model().eval()
    x = image_for(model.spec, side=32)
    report = layer_faithfulness(model, x, steps=2)
    top = int(model(x).argmax())
    assert report.target_class == top
    assert {r.faithfulness.target_class for r in report.rows} == {top}


def test_a_method_without_gradients_is_refused_before_any_work():
    model = tiny_model().eval()
    with pytest.raises(FusionError, match="gradient method"):
        layer_faithfulness(model, image_for(model.spec), method="eigencam")
