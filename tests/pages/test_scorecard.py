"""The workbench's scorecard and the pixel maps in the faithfulness curves, in AppTest on the
demo model: the curves and sentence name Saliency beside Grad-CAM; the scorecard, run without
ROAD, draws one ranked row per map with the times the grid shows, names the best map (or the
tie) and offers the table as CSV; ROAD's toggle names its cost per map."""

from __future__ import annotations

import math
import re

import pytest

from resnet_viz.present.scorecard import COLUMNS, NOT_RUN
from tests.app_support import assert_clean
from tests.pages.test_attention_workbench import charts, click, one_sample, open_cam

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

SENTENCE = re.compile(
    r"^(?:(Grad-CAM|Saliency) ranks first(?: by a clear margin|, narrowly)|"
    r"No map ranks first on its own: a tie between )"
)


def with_saliency():
    at = one_sample(open_cam())
    return at.multiselect(key="pixel").set_value(["saliency"]).run()


def test_the_faithfulness_curves_include_the_pixel_maps():
    at = click(with_saliency(), "Measure faithfulness")
    assert_clean(at)
    figure = charts(at)[-1]
    names = [trace["name"] for trace in figure["data"] if trace.get("showlegend", True)]
    assert [n.split(" (AUC")[0] for n in names] == [
        "Grad-CAM", "Saliency", "random map", "inverted map",
    ]  # fmt: skip
    assert "Saliency" in " ".join(m.value for m in at.markdown)


def test_the_scorecard_without_road_ranks_every_map_with_a_download():
    at = with_saliency()
    (toggle,) = [t for t in at.toggle if t.label.startswith("Include ROAD (slow: ~")]
    assert re.fullmatch(r"Include ROAD \(slow: ~\d+(\.\d)? s per map\)", toggle.label)
    assert toggle.value is False
    assert "Download the scorecard (CSV)" not in [b.proto.label for b in at.get("download_button")]
    at = click(at, "Score every map")
    assert_clean(at)
    (table,) = [d.value for d in at.dataframe if "insertion − deletion AUC (ranks)" in d.value]
    assert tuple(table.columns) == COLUMNS
    assert sorted(table["method"]) == ["Grad-CAM", "Saliency"]
    assert list(table["rank"]) == sorted(table["rank"])
    assert table["ROAD (higher better)"].isna().all()  # not asked for
    assert list(table["sanity check"]) == [NOT_RUN, NOT_RUN]
    for _, row in table.iterrows():
        assert 0 <= row["deletion AUC (lower better)"] <= 1
        assert 0 <= row["insertion AUC (higher better)"] <= 1
        assert math.isclose(
            row["insertion − deletion AUC (ranks)"],
            row["insertion AUC (higher better)"] - row["deletion AUC (lower better)"],
        )
        assert row["time (s)"] > 0
    best = table["method"][0]
    sentences = [m.value for m in at.markdown if SENTENCE.match(m.value)]
    assert len(sentences) == 1
    if "ranks first" in sentences[0]:
        assert sentences[0].startswith(best)
    assert "Download the scorecard (CSV)" in [b.proto.label for b in at.get("download_button")]
    at.slider(key="alpha").set_value(0.3).run()  # another rerun keeps the result
    assert any("insertion − deletion AUC (ranks)" in d.value for d in at.dataframe)


def test_the_lessons_verdicts_fill_the_sanity_column():
    """Once the sanity-check lesson has run on this image, the scorecard's sanity column reads
    the verdict the lesson wrote beside each of its methods (Grad-CAM, Saliency), word for word."""
    at = click(with_saliency(), "Run the sanity-check lesson")
    at = click(at, "Score every map")
    assert_clean(at)
    written = {}
    for m in at.markdown:
        found = re.fullmatch(r"\*\*(Grad-CAM|Saliency)\*\* (.+)\.", m.value)
        if found:
            written[found[1]] = found[2]
    assert sorted(written) == ["Grad-CAM", "Saliency"]
    (table,) = [d.value for d in at.dataframe if "insertion − deletion AUC (ranks)" in d.value]
    assert dict(zip(table["method"], table["sanity check"], strict=True)) == written
