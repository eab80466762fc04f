"""Pooled features equal the network's own penultimate values; PCA agrees with numpy's SVD."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from resnet_viz import build_model, preset
from resnet_viz.analysis.embedding import embed, pca_2d, pooled_features
from resnet_viz.core.spec import SpecError


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model(
        preset("resnet20").__class__(**{**preset("resnet20").__dict__, "num_classes": 3})
    )


def test_pooled_features_are_what_fc_reads(tiny):
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        expected = torch.flatten(tiny.avgpool(tiny.features(x)), 1)
        logits = tiny(x)
    features = pooled_features(tiny, x, batch_size=2)
    torch.testing.assert_close(features, expected)
    torch.testing.assert_close(tiny.fc(features), logits)


def test_points_on_a_line_have_one_axis_of_variance():
    t = np.linspace(-1, 1, 7)
    features = np.stack([t, 2 * t, np.zeros_like(t)], 1)
    points, explained = pca_2d(features)
    np.testing.assert_allclose(np.abs(points[:, 0]), np.abs(t) * np.sqrt(5), atol=1e-6)
    np.testing.assert_allclose(points[:, 1], 0, atol=1e-6)
    assert explained == pytest.approx((1.0, 0.0), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(3, 12), st.integers(2, 6)),
              elements=st.floats(-100, 100)))  # fmt: skip
def test_pca_matches_numpys_svd_up_to_the_sign_convention(features):
    points, explained = pca_2d(features)
    centred = features - features.mean(0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    if s[0] < 1e-6 * max(1.0, np.abs(features).max()):
        return
    if s[0] - s[1] < 1e-6 * s[0]:
        return  # two equal singular values: any rotation of their plane is a principal pair
    reference = centred @ vt[:2].T
    for axis in range(2):
        if axis == 1 and s[1] < 1e-6 * s[0]:
            continue  # a degenerate second axis has no defined direction
        sign = np.sign(vt[axis][np.argmax(np.abs(vt[axis]))])
        np.testing.assert_allclose(points[:, axis], sign * reference[:, axis], rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(explained, (s[:2] ** 2 / (s**2).sum()), rtol=1e-6, atol=1e-9)


def test_embed_of_pil_images_uses_the_preprocessing(tiny):
    from PIL import Image

    from resnet_viz.weights.common import Preprocessing

    prep = Preprocessing(32, None, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    images = [Image.new("RGB", (40, 30), (i * 40, 0, 0)) for i in range(4)]
    result = embed(tiny, images, preprocessing=prep)
    x = torch.cat([prep.tensor(image) for image in images])
    np.testing.assert_allclose(result.features, pooled_features(tiny, x).numpy())
    assert result.points.shape == (4, 2)
    with pytest.raises(SpecError, match="preprocessing"):
        embed(tiny, images)


def test_a_model_in_train_mode_is_refused(tiny):
    tiny.train()
    try:
        with pytest.raises(SpecError, match="eval mode"):
            pooled_features(tiny, torch.zeros(1, 3, 32, 32))
    finally:
        tiny.eval()
