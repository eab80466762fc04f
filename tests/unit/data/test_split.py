"""The stratified split: per class, seeded, every example once."""

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from resnet_viz.data.split import stratified_split
from resnet_viz.errors import DatasetError


def test_each_class_keeps_its_share():
    labels = [0] * 50 + [1] * 10 + [2] * 5
    split = stratified_split(labels, 0.2, seed=0)
    held = Counter(labels[i] for i in split.validation)
    assert held == {0: 10, 1: 2, 2: 1}
    assert len(split.train) == 65 - 13


def test_the_same_seed_gives_the_same_split_another_seed_another():
    labels = [0, 1] * 20
    assert stratified_split(labels, seed=3) == stratified_split(labels, seed=3)
    assert (
        stratified_split(labels, seed=3).validation != stratified_split(labels, seed=4).validation
    )


@given(
    st.lists(st.integers(0, 5), min_size=1, max_size=200),
    st.floats(0.01, 0.99),
    st.integers(0, 2**32 - 1),
)
def test_split_is_a_partition_and_every_class_of_two_is_on_both_sides(labels, fraction, seed):
    split = stratified_split(labels, fraction, seed=seed)
    assert set(split.train).isdisjoint(split.validation)
    assert sorted(split.train + split.validation) == list(range(len(labels)))
    assert list(split.train) == sorted(split.train)
    counts = Counter(labels)
    held = Counter(labels[i] for i in split.validation)
    for label, n in counts.items():
        expected = 0 if n < 2 else min(max(round(n * fraction), 1), n - 1)
        assert held[label] == expected


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 2])
def test_a_share_outside_zero_and_one_is_refused(fraction):
    with pytest.raises(DatasetError, match="between 0 and 1"):
        stratified_split([0, 1], fraction)


def test_no_examples_is_refused():
    with pytest.raises(DatasetError, match="no images"):
        stratified_split([])
