"""The bundled training sets: balanced, fresh to the demo model, refused when asked for nonsense."""

import pytest

from resnet_viz.data.bundled_sets import BUNDLED_SETS, SHAPES_SEED, bundled_set
from resnet_viz.errors import DatasetError
from resnet_viz.training.demo_model import FRESH_SEED


@pytest.mark.parametrize("name", list(BUNDLED_SETS))
def test_every_class_has_the_asked_number_of_rgb_images(name):
    data = bundled_set(name, 3)
    assert set(data.counts().values()) == {3}
    assert {image.mode for image in data.images} == {"RGB"}


def test_the_shapes_come_from_seeds_the_demo_model_never_saw():
    assert SHAPES_SEED >= FRESH_SEED


def test_the_digits_are_the_files_first_of_each_class():
    from resnet_viz.data.digits import load_digits

    data = bundled_set("digits", 2)
    _, labels = load_digits()
    firsts = sorted(i for c in range(10) for i in (labels == c).nonzero().flatten()[:2].tolist())
    assert list(data.labels) == [int(labels[i]) for i in firsts]


@pytest.mark.parametrize(("name", "per_class"), [("cats", 3), ("shapes", 1), ("digits", 10**4)])
def test_nonsense_is_refused(name, per_class):
    with pytest.raises(DatasetError):
        bundled_set(name, per_class)
