"""The gradient study's data sources."""

import dataclasses

import pytest
import torch

from resnet_viz import SpecError, gradient_norms, preset
from resnet_viz.data.study_data import study_batch
from resnet_viz.data.synthetic_shapes import make_batch


def test_random_means_the_studys_own_batch():
    assert study_batch("random", preset("resnet20"), (3, 32, 32), 4, 0) is None


def test_shapes_batch_is_the_datasets_images_and_labels():
    x, y = study_batch("shapes", preset("resnet20"), (3, 32, 32), 6, seed=7)
    expected_x, expected_y = make_batch(6, size=32, seed=7).to_tensors()
    torch.testing.assert_close(x, expected_x)
    assert torch.equal(y, expected_y)
    report = gradient_norms(preset("resnet20"), batch=(x, y), seed=7)
    assert report.batch_size == 6


@pytest.mark.parametrize(
    ("spec", "size", "message"),
    [
        (preset("resnet20"), (1, 32, 32), "3 input channels and equal height and width"),
        (preset("resnet20"), (3, 32, 48), "equal height and width"),
        (preset("resnet20"), (3, 8, 8), "drawn at 16 to 256 px"),
        (dataclasses.replace(preset("resnet20"), num_classes=5), (3, 32, 32), "7 classes"),
    ],
)
def test_shapes_refuse_what_they_cannot_feed(spec, size, message):
    with pytest.raises(SpecError, match=message):
        study_batch("shapes", spec, size, 4, 0)


def test_unknown_source():
    with pytest.raises(SpecError, match="Unknown data source"):
        study_batch("imagenet", preset("resnet20"), (3, 32, 32), 4, 0)
