"""The alternating slots that make the browser draw a changed graph from scratch."""

from resnet_viz.ui.graphviz import slot_for


def test_first_graph_goes_to_the_first_slot():
    assert slot_for(None, "a") == 0


def test_same_graph_stays_where_it_is():
    assert slot_for(("a", 0), "a") == 0
    assert slot_for(("a", 1), "a") == 1


def test_changed_graph_moves_to_the_other_slot():
    assert slot_for(("a", 0), "b") == 1
    assert slot_for(("b", 1), "c") == 0
