"""Tables, charts, diagrams, code snippets and the reference check: the data the pages draw."""

import dataclasses
import re

import pytest

from resnet_viz import ResNetSpec, preset, spec_for_depth, summarize
from resnet_viz.core.presets import PRESETS, Preset, spec_label
from resnet_viz.present.codegen import resnet_viz_snippet, torchvision_snippet
from resnet_viz.present.diagram import block_dot, block_formula, network_dot
from resnet_viz.present.formats import format_bytes, format_count, format_si
from resnet_viz.present.reference import check_reference
from resnet_viz.present.stage_table import stage_csv, stage_rows, stage_table_html
from resnet_viz.present.tables import compare_table, layer_table, metric_delta

# ResNet-50's four projection shortcuts, by hand: 1x1 conv (cin*cout) + BN (2*cout).
RESNET50_PROJECTIONS = (
    (64 * 256 + 512) + (256 * 512 + 1024) + (512 * 1024 + 2048) + (1024 * 2048 + 4096)
)


def test_formats():
    assert format_count(44_549_160) == "44,549,160"
    assert format_si(7_801_406_440) == "7.80 G"
    assert format_si(999) == "999"
    assert format_bytes(102_760_448) == "98.0 MiB"
    assert format_bytes(512) == "512 B"


def test_stage_table_resnet101_at_512():
    summary = summarize(preset("resnet101"), (3, 512, 512))
    rows = {row["Stage"]: row for row in stage_rows(summary)}
    stage3 = rows["Stage 3"]
    assert (stage3["Blocks"], stage3["Parameters"], stage3["Output"]) == (
        23,
        26_090_496,
        "1024×32×32",
    )
    assert sum(row["Parameters"] for row in rows.values()) == 44_549_160
    assert sum(row["% params"] for row in rows.values()) == pytest.approx(100, abs=0.05)
    assert sum(row["% MACs"] for row in rows.values()) == pytest.approx(100, abs=0.05)
    assert (rows["Stem"]["Blocks"], rows["Head"]["Blocks"]) == (None, None)


def test_stage_csv_reads_back_as_the_rows():
    """The download: pandas (an independent CSV reader) reads back every row; stem and head
    leave Blocks empty."""
    import io

    import pandas as pd

    summary = summarize(preset("resnet50"))
    text = stage_csv(summary)
    assert text.splitlines()[0].startswith("Stage,Paper,Blocks,Input,Output,Parameters")
    table = pd.read_csv(io.StringIO(text))
    expected = pd.DataFrame(stage_rows(summary)).astype({"Blocks": "float64"})
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    assert table["Parameters"].sum() == 25_557_032


def test_stage_table_html_shows_every_row_with_separators():
    summary = summarize(preset("resnet50"))
    markup = stage_table_html(summary)
    cells = re.findall(r"<tr>(.*?)</tr>", markup)
    assert len(cells) == len(summary.stages) + 1  # the header and one row per stage
    stage4 = re.findall(r"<td[^>]*>(.*?)</td>", cells[5])
    assert stage4[:6] == ["Stage 4", "conv5_x", "3", "1024×14×14", "2048×7×7", "14,964,736"]
    stem = re.findall(r"<td[^>]*>(.*?)</td>", cells[1])
    assert stem[2] == "–"  # no blocks in the stem
    assert 'title="Receptive field: how many input pixels' in markup


def test_layer_table_levels_and_filters():
    s = summarize(preset("resnet50"))
    assert len(layer_table(s, 3)) == len(s.layers)
    assert len(layer_table(s, 1)) == 6  # stem, 4 stages, head
    blocks = layer_table(s, 2)
    # stem conv/bn/relu/maxpool, 16 blocks, avgpool and fc, in forward order
    assert len(blocks) == 4 + 16 + 2
    assert list(blocks["Layer"][:6]) == ["conv1", "bn1", "relu", "maxpool", "layer1.0", "layer1.1"]
    one_block = layer_table(s, 3, stage="layer2", block=0)
    assert list(one_block["Layer"]) == [r.name for r in s.layers if r.name.startswith("layer2.0.")]
    assert layer_table(s, 2, stage="layer3")["Parameters"].sum() == s.stages[3].params


def test_compare_resnet50_with_its_plain_twin():
    a = summarize(preset("resnet50"))
    b = summarize(preset("resnet50").plain_twin())
    table = compare_table(a, b, "ResNet-50", "Plain-50").set_index("Stage")
    assert table.loc["Total", "Δ params"] == -RESNET50_PROJECTIONS == -2_776_576
    assert table.loc["Stem", "Δ params"] == 0
    assert table["Δ params"].iloc[:-1].sum() == table.loc["Total", "Δ params"]


def test_metric_deltas_show_an_arrow_only_for_a_difference():
    assert metric_delta(50, 50, str, "ResNet-50") == ("= same as ResNet-50", "off")
    assert metric_delta(50, 101, str, "ResNet-50") == ("+51 vs ResNet-50", "up")
    assert metric_delta(101, 50, str, "ResNet-101") == ("-51 vs ResNet-101", "down")
    assert metric_delta(0, 0, format_count, "A") == ("= same as A", "off")


def test_compare_different_stage_counts():
    a = summarize(preset("resnet56"))
    b = summarize(preset("resnet50"), (3, 32, 32))
    table = compare_table(a, b, "A", "B").set_index("Stage")
    assert table.loc["Stage 4", "Params A"] == 0
    assert table.loc["Stage 4", "Output A"] == "—"
    assert list(table.index) == [
        "Stem",
        "Stage 1",
        "Stage 2",
        "Stage 3",
        "Stage 4",
        "Head",
        "Total",
    ]


def test_network_diagram_collapses_long_stages():
    dot = network_dot(summarize(preset("resnet152")))
    assert "33 more identical blocks" in dot  # stage 3: blocks 1, 2, ..., 36
    assert "5 more identical blocks" in dot  # stage 2: 8 blocks
    assert dot.count("style=dashed, label") == 4  # one projection per stage
    big = network_dot(summarize(preset("resnet1202")))
    assert big.count("->") < 60
    assert "197 more identical blocks" in big
    assert big.count("style=dotted") == 2  # option A zero-padding into stages 2 and 3


def test_plain_network_diagram_has_no_additions():
    dot = network_dot(summarize(preset("resnet20").plain_twin()))
    assert 'label="+"' not in dot
    assert "identity" not in dot


def test_block_anatomy_lists_every_layer_with_shapes():
    s = summarize(preset("resnet50"))
    dot = block_dot(s, "layer2.0")
    for text in ("1×1, 128 conv", "3×3, 128, /2 conv", "1×1, 512 conv", "1×1, 512, /2 conv"):
        assert text in dot
    assert "F(x): 512×28×28" in dot
    assert re.search(r"x \[label=\"x\\n256×56×56\"", dot)
    assert 'y [label="y\\n512×28×28"' in dot


def test_block_formulas():
    assert block_formula(preset("resnet50"), "identity") == (
        r"y = \mathrm{ReLU}\left(\mathcal{F}(x, \{W_i\}) + x\right)"
    )
    preact = dataclasses.replace(preset("resnet50"), preact=True)
    assert block_formula(preact, "projection") == r"y = \mathcal{F}(x, \{W_i\}) + W_s x"
    assert block_formula(preact, "none") == r"y = \mathcal{F}(x, \{W_i\})"


@pytest.mark.parametrize(
    "spec",
    [
        preset("resnet101"),
        preset("resnet56").plain_twin(),
        spec_for_depth(26),
        ResNetSpec(block="bottleneck", layers=(1, 2), widths=(8, 16), preact=True, num_classes=7),
    ],
)
def test_code_snippet_rebuilds_the_spec(spec):
    namespace: dict = {}
    exec(resnet_viz_snippet(spec, (3, 64, 64)).replace("print(", "str("), namespace)
    assert namespace["spec"] == spec
    assert namespace["summary"].input_size == (3, 64, 64)


def test_torchvision_snippet_only_for_torchvision_presets():
    assert "torchvision.models.resnet101(weights=None)" in torchvision_snippet(preset("resnet101"))
    assert torchvision_snippet(preset("resnet56")) is None
    assert torchvision_snippet(preset("resnet50").plain_twin()) is None


def test_reference_check_names_the_source():
    check = check_reference(summarize(preset("resnet101")))
    assert check.matched
    assert "44,549,160 parameters and 7.801 GMACs at 224×224" in check.message
    assert check_reference(summarize(preset("resnet101").plain_twin())) is None
    cifar = check_reference(summarize(preset("resnet110")))
    assert cifar.matched
    assert "He et al. 2015, Table 6" in cifar.message


def test_reference_check_can_fail(monkeypatch):
    wrong = dataclasses.replace(PRESETS["resnet50"], reference_params=1)
    monkeypatch.setitem(PRESETS, "resnet50", wrong)
    check = check_reference(summarize(preset("resnet50")))
    assert not check.matched
    assert check.message.startswith("Does not match")


def test_labels():
    assert spec_label(preset("resnet101")) == "ResNet-101"
    assert spec_label(preset("resnet56").plain_twin()) == "Plain-56 (CIFAR)"
    assert spec_label(spec_for_depth(200)) == "ResNet-200"
    assert spec_label(dataclasses.replace(preset("resnet50"), num_classes=10)) == (
        "ResNet-50 (custom)"
    )
    assert all(isinstance(p, Preset) for p in PRESETS.values())
