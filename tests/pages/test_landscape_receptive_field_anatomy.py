"""The second teaching lab's pages in AppTest: loss landscape, effective receptive field, a
block opened; the readings; memory refusals before any work; bad uploads."""

import numpy as np
import pytest

from resnet_viz.analysis.anatomy import BlockAnatomy, block_anatomy
from resnet_viz.analysis.landscape import nonconvex_fraction
from resnet_viz.data.images import ImageError, load_image
from resnet_viz.data.samples import bundled_samples
from resnet_viz.experiments.landscape import landscape_record
from resnet_viz.present.anatomy import anatomy_reading
from resnet_viz.present.landscape import landscape_reading
from resnet_viz.runtime import memory
from resnet_viz.weights.checkpoint import load_demo_model
from tests.app_support import assert_clean, open_page

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


@pytest.fixture
def tiny_budget(monkeypatch):
    monkeypatch.setattr(memory, "CPU_MEMORY_BUDGET_BYTES", 1024)


def text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_landscape_reading_names_the_rougher_surface():
    sentences = landscape_reading(
        {"plain-20": 0.374, "plain-56": 0.438, "resnet-20": 0.017, "resnet-56": 0.053},
        {"plain-20": 0.0, "plain-56": 0.502, "resnet-20": 0.0, "resnet-56": 0.006},
        resolution=21,
    )
    assert "ResNet-20 1.7%, plain-20 37.4%; ResNet-56 5.3%, plain-56 43.8%." in sentences[0]
    assert (
        "the 56-layer surface is rougher (43.8% of its points non-convex against 5.3%)"
        in (sentences[1])
    )
    assert "plain-56 50.2%" in sentences[2]
    assert "The rough surface belongs to the network that trains worst, plain-56" in sentences[3]
    calm = landscape_reading(
        {"plain-8": 0.1, "resnet-8": 0.09}, {"plain-8": 0, "resnet-8": 0}, resolution=21
    )
    assert "is not rougher" in calm[1]
    assert not any("trains worst" in s for s in calm)


def test_a_coarse_grid_judges_no_roughness():
    # A 5x5 grid seen on the page: 100 % against 44.4 % is 9 of 9 points against 4 of 9.
    sentences = landscape_reading(
        {"plain-20": 0.333, "plain-56": 1.0, "resnet-20": 0.111, "resnet-56": 0.444},
        {"plain-20": 0.0, "plain-56": 0.502, "resnet-20": 0.0, "resnet-56": 0.006},
        resolution=5,
    )
    assert sentences[1] == (
        "A 5×5 grid is too coarse to judge which surface is rougher: the share counts 9 interior "
        "points, each one 11% of it. Use at least 11 points per axis."
    )
    assert not any("Li et al." in s or "trains worst" in s for s in sentences)


def test_the_rough_surface_is_tied_to_the_worst_training_only_when_the_errors_say_so():
    sentences = landscape_reading(
        {"plain-20": 0.374, "plain-56": 0.438, "resnet-20": 0.017, "resnet-56": 0.053},
        {"plain-20": 0.0, "plain-56": 0.03, "resnet-20": 0.0, "resnet-56": 0.006},
        resolution=21,
    )
    assert sentences[-1] == (
        "The rough surface's network, plain-56, does not train clearly worst here (the threshold "
        "is an error 5 points above every other network's)."
    )


def test_anatomy_reading():
    def anatomy(kind, ratio):
        return BlockAnatomy("layer1.0", *[None] * 4, kind, ratio, None, {}, None)

    assert anatomy_reading(anatomy("identity", 0.2)) == [
        "The shortcut is the identity: x itself is added to F(x).",
        "‖F(x)‖ / ‖x‖ = 0.20: the branch F(x) is a small correction to its input x.",
    ]
    assert "plain block" in anatomy_reading(anatomy("none", 3.0))[0]
    assert "much larger than its input" in anatomy_reading(anatomy("none", 3.0))[1]
    # A block seen on the page: 1.96 is about twice, not "about as large".
    assert anatomy_reading(anatomy("identity", 1.96))[1] == (
        "‖F(x)‖ / ‖x‖ = 1.96: the branch F(x) is about twice as large as its input x."
    )
    assert "about as large as" in anatomy_reading(anatomy("identity", 1.0))[1]
    assert "zero: nothing is added to its input" in anatomy_reading(anatomy("identity", 0.0))[1]


def shipped_roughness() -> dict[str, float]:
    """The library's roughness of each shipped surface: its share of non-convex points."""
    record = landscape_record()
    return {
        name: nonconvex_fraction(np.array(grid["loss"]), record["alphas"], record["betas"])
        for name, grid in record["grids"].items()
    }


def test_landscape_page_shows_the_shipped_surfaces_at_once():
    at = open_page("pages/landscape.py")
    assert_clean(at)
    rough = shipped_roughness()
    for depth in (20, 56):
        shown = f"ResNet-{depth} {rough[f'resnet-{depth}']:.1%}, plain-{depth} "
        assert shown + f"{rough[f'plain-{depth}']:.1%}" in text(at)
    assert "the 56-layer surface is rougher" in text(at)
    # The degradation page's plain-56 is another run of the same recipe: the page says so.
    assert "It ends at 50.2% here and 79.9% there." in text(at)
    assert "the same recipe, measured the same way" in text(at)
    assert any("precomputed" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2  # one per depth
    surface = open_page("pages/landscape.py", ls_view="3-D surface", lecture="true")
    assert_clean(surface)
    assert len(surface.get("plotly_chart")) == 2


def test_landscape_live_run_with_small_settings():
    at = open_page("pages/landscape.py", ls_shallow="8", ls_deep="14", ls_res="5")
    assert "no precomputed grids" in at.info[0].value
    at.button[0].click().run()
    assert_clean(at)
    assert "ResNet-8" in text(at)
    assert "plain-14" in text(at)
    assert "A 5×5 grid is too coarse to judge which surface is rougher" in text(at)
    assert "Li et al." not in text(at)
    assert "here and" not in text(at)  # no shipped-run note for a live run
    assert any("live run, just now" in c.value for c in at.caption)


def test_landscape_over_the_memory_budget_is_refused_before_training(tiny_budget):
    at = open_page("pages/landscape.py", ls_shallow="8", ls_deep="14", ls_res="5")
    at.button[0].click().run()
    assert_clean(at)
    assert "GiB, more than the 0.0 GiB available here" in at.error[0].value
    assert not any("live run" in c.value for c in at.caption)


def test_receptive_field_page():
    at = open_page("pages/receptive_field.py")
    assert_clean(at)
    lines = text(at)
    assert "ResNet-26, trained: 95 % of the gradient's mass lies in a 31×31 px square" in lines
    assert "plain-26, trained: 95 % of the gradient's mass lies in a 41×41 px square" in lines
    assert "of the theoretical 109 px side" in lines
    assert "With skip connections the field is smaller (51 against 61 px, 31 against 41 px)" in (
        lines
    )
    table = at.dataframe[0].value
    assert table["95 % box (px)"].tolist() == [51, 61, 31, 41]
    assert table["theoretical (px)"].tolist() == [109] * 4
    block = open_page("pages/receptive_field.py", erf_layer="layer2.1", erf_side="64")
    assert_clean(block)
    assert "theoretical 33 px side" in text(block)  # 3 + 16 + 2 + 4 + 4 + 4


def test_receptive_field_page_at_the_first_block_says_what_its_numbers_show():
    # A screen seen on the page: every field at 100 % of the theoretical 7 px.
    at = open_page("pages/receptive_field.py", erf_layer="layer1.0", erf_side="32")
    assert_clean(at)
    table = at.dataframe[0].value
    assert table["theoretical (px)"].tolist() == [7] * 4
    lines = " ".join(m.value for m in at.markdown if m.value.startswith("- "))  # the reading
    sides = table["95 % box (px)"].tolist()
    assert "fraction" not in lines
    assert "not always smaller" not in lines
    assert sides == [7] * 4
    assert "Here every field's 95 % box fills all of the theoretical side." in lines
    assert "the field is the same size here (7 against 7 px, 7 against 7 px)" in lines
    assert "Through training the fields did not change here (7 → 7 px, 7 → 7 px)" in lines


def test_receptive_field_over_the_memory_budget(tiny_budget):
    at = open_page("pages/receptive_field.py", erf_n="31")
    assert_clean(at)
    assert "GiB, more than" in at.error[0].value


def demo_branch_ratio(block: str) -> float:
    """The library's ‖F(x)‖ / ‖x‖ at ``block`` of the demo model, for the first bundled
    synthetic shape (the page's default image for that model)."""
    loaded = load_demo_model("cpu")
    sample = next(s for s in bundled_samples() if s.synthetic)
    image = loaded.preprocessing.tensor(load_image(sample.read()))
    return block_anatomy(loaded.model, image, block).branch_ratio


def test_block_anatomy_page_with_the_demo_model():
    at = open_page("pages/block_anatomy.py")
    assert_clean(at)
    assert at.selectbox(key="an_block").value == "layer2.0"
    assert f"‖F(x)‖ / ‖x‖ = {demo_branch_ratio('layer2.0'):.2f}" in text(at)
    assert "the shortcut is a 1×1 convolution" in text(at)
    assert len(at.get("plotly_chart")) == 3  # the maps, per channel, per block
    identity = open_page("pages/block_anatomy.py", an_block="layer1.1", an_channels="4")
    assert_clean(identity)
    assert "The shortcut is the identity" in text(identity)


def test_block_anatomy_bad_upload_gets_the_grad_cam_pages_message():
    data = b"these are my lecture notes, not an image\n" * 10
    with pytest.raises(ImageError) as expected:
        load_image(data)
    at = open_page("pages/block_anatomy.py")
    at.file_uploader(key="an_upload").upload("notes.png", data, "image/png")
    at.run()
    assert_clean(at)
    assert [e.value for e in at.error] == [str(expected.value)]


def test_block_anatomy_falls_back_to_the_demo_model_offline(tmp_path, monkeypatch):
    import urllib.request

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    at = open_page("pages/block_anatomy.py", an_model="ResNet-50, ImageNet (downloads weights)")
    assert_clean(at)
    # Said in the main area, beside what it explains; the sidebar only points to it.
    assert "Showing the bundled demo model instead" in at.main.warning[0].value
    assert not at.sidebar.warning
    assert "bundled demo model" in " ".join(c.value for c in at.caption)
    assert f"‖F(x)‖ / ‖x‖ = {demo_branch_ratio('layer2.0'):.2f}" in text(at)


def test_block_anatomy_over_the_memory_budget(tiny_budget):
    at = open_page("pages/block_anatomy.py")
    assert_clean(at)
    assert "Opening a block of the bundled demo model" in at.error[0].value
    assert "GiB, more than" in at.error[0].value
    assert not at.get("plotly_chart")
