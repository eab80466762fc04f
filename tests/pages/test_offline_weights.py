"""The Grad-CAM page without ImageNet weights or network, the download's progress bar as the
page draws it, and the warning when a model explains an image outside its training data."""

from __future__ import annotations

import re
import socket
import urllib.request

import pytest
import torch
import torchvision
from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

from resnet_viz.data.samples import bundled_samples
from resnet_viz.ui import models as page_module
from resnet_viz.weights import imagenet as imagenet_module
from resnet_viz.weights import load_demo_model, weights_path
from resnet_viz.weights.domain import bundled_shape_digests, outside_training, trained_on
from tests.app_support import assert_clean, open_page

SAMPLES = {s.label: s for s in bundled_samples()}
PHOTO = "chelsea (photo)"
SHAPE = "star (synthetic shape)"


#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch):
    """No weights anywhere: torch.hub's folder is an empty temporary one."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)  # in case someone called set_dir
    return tmp_path / "torch-home" / "hub" / "checkpoints"


@pytest.fixture
def no_network(monkeypatch):
    """Every DNS lookup and connection fails (a file:// URL still works)."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def main_warnings(at) -> list[str]:
    return [w.value for w in at.main.warning]


def image_captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


# The rule ------------------------------------------------------------------------------------


def test_the_demo_model_knows_only_the_bundled_shapes():
    demo = load_demo_model(device="cpu")
    assert trained_on(demo).synthetic
    shapes = [s for s in SAMPLES.values() if s.synthetic]
    photos = [s for s in SAMPLES.values() if not s.synthetic]
    assert len(bundled_shape_digests()) == len(shapes) == 7
    for sample in shapes:
        assert outside_training(demo, sample.read()) is None, sample.label
    for sample in photos:
        assert "not one of the bundled shape samples" in outside_training(demo, sample.read())
    # Any other bytes, even a shape sample re-encoded, are an upload the app cannot vouch for.
    assert outside_training(demo, SAMPLES[SHAPE].read() + b"\0") is not None


def test_a_checkpoint_of_unknown_training_data_gets_no_claim():
    demo = load_demo_model(device="cpu")
    mine = page_module.LoadedModel(
        demo.model, demo.spec, demo.categories, demo.preprocessing, "checkpoint x.pt", "ckpt-1"
    )
    assert trained_on(mine) is None
    assert outside_training(mine, SAMPLES[PHOTO].read()) is None


# Offline ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_offline_the_main_area_says_the_demo_model_runs_and_warns_on_a_photo(
    empty_torch_home, no_network
):
    at = open_page("pages/grad_cam.py", model="ResNet-50, ImageNet (downloads weights)")
    assert_clean(at)
    assert at.selectbox(key="model").value == "resnet50"  # the menu keeps the choice...
    notice = main_warnings(at)[0]  # ...and the main area says what runs instead
    assert notice.startswith("**ResNet-50 is not available here.**")
    assert weights_path("resnet50").name in notice
    assert str(empty_torch_home) in notice
    assert "Showing the bundled demo model instead (the demo shapes ResNet)" in notice
    assert "synthetic shapes only (7 classes: circle, square" in notice
    # The demo's own samples are inside its training data: no second warning.
    assert len(main_warnings(at)) == 1
    assert any(c.startswith("The demo shapes ResNet explaining “") for c in image_captions(at))

    at.file_uploader(key="images").upload("my_cat.jpg", SAMPLES[PHOTO].read(), "image/jpeg")
    at.run()
    assert_clean(at)
    assert [s.value for s in at.subheader] == ["my_cat.jpg"]  # the defaults give way
    warnings = main_warnings(at)
    assert len(warnings) == 2
    assert warnings[1].startswith("The demo shapes ResNet was trained on synthetic shapes only")
    assert "not one of the bundled shape samples" in warnings[1]
    assert any(c.startswith("The demo shapes ResNet explaining “") for c in image_captions(at))


def test_the_demo_model_on_a_bundled_photo_is_warned_about(empty_torch_home, no_network):
    at = open_page("pages/grad_cam.py")
    at.multiselect(key="samples_demo").set_value([PHOTO, SHAPE])
    at.run()
    assert_clean(at)
    assert [s.value for s in at.subheader] == [PHOTO, SHAPE]
    warnings = main_warnings(at)
    assert len(warnings) == 1  # the photo's, not the shape's
    assert "not one of the bundled shape samples" in warnings[0]


@pytest.mark.slow
def test_an_imagenet_model_on_a_synthetic_shape_is_warned_about(empty_torch_home, no_network):
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    at = open_page("pages/grad_cam.py", model="ResNet-18, ImageNet (weights cached)")
    at.multiselect(key="samples_photo").set_value([SHAPE, PHOTO])
    at.run()
    assert_clean(at)
    warnings = main_warnings(at)
    assert len(warnings) == 1  # the shape's; of a photo the app cannot tell
    assert warnings[0].startswith("ResNet-18 (ImageNet) was trained on ImageNet photographs")
    assert sum(c.startswith("The ResNet-18 (ImageNet) explaining “") for c in image_captions(at))


# The download's progress bar -------------------------------------------------------------------


@pytest.mark.slow
def test_the_download_draws_a_progress_bar_that_fills_with_its_text(
    empty_torch_home, no_network, tmp_path, monkeypatch
):
    """A real download (from a file:// URL, so offline) through the page: every progress
    element the page sends is recorded, in order, before Streamlit coalesces them."""
    source = tmp_path / "served" / "resnet18.pth"
    source.parent.mkdir()
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), source)
    size = source.stat().st_size
    monkeypatch.setattr(page_module, "weights_url", lambda key: source.as_uri())
    # The random file cannot match the hash in torchvision's file name: skip that check only.
    monkeypatch.setattr(imagenet_module, "HASH_REGEX", re.compile(r"(?!)"))
    bars: list[tuple[int, str]] = []

    def record(msg):
        if msg.HasField("delta") and msg.delta.new_element.WhichOneof("type") == "progress":
            bars.append((msg.delta.new_element.progress.value, msg.delta.new_element.progress.text))

    monkeypatch.setattr(ForwardMsgQueue, "_before_enqueue_msg", record)
    at = open_page("pages/grad_cam.py", model="ResNet-18, ImageNet (downloads weights)")
    monkeypatch.setattr(ForwardMsgQueue, "_before_enqueue_msg", None)
    assert_clean(at)
    assert weights_path("resnet18").read_bytes() == source.read_bytes()
    assert "torchvision ResNet18_Weights.IMAGENET1K_V1" in " ".join(c.value for c in at.caption)
    assert not at.get("progress")  # the bar is gone once the model is loaded

    name = weights_path("resnet18").name
    assert bars[0] == (0, f"Downloading {name}…")
    values = [value for value, _ in bars]
    assert values == sorted(values)
    assert values[-1] == 100
    chunks = -(-size // imagenet_module.DOWNLOAD_CHUNK)
    assert len(set(values)) >= min(chunks, 20)  # it moves, not only empty then full
    total = f"{size / 1e6:.0f}"
    texts = [text for _, text in bars[1:]]
    pattern = re.compile(rf"Downloading {re.escape(name)}: (\d+) of {total} MB")
    done = [int(pattern.fullmatch(text).group(1)) for text in texts]
    assert done == sorted(done)
    assert done[-1] == int(total)
    assert texts[-1] == f"Downloading {name}: {total} of {total} MB"


def test_urlopen_serves_file_urls_with_a_length(tmp_path):
    """What the progress test relies on: urllib reports a file's size as Content-Length."""
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1234)
    with urllib.request.urlopen(path.as_uri()) as response:
        assert int(response.headers["Content-Length"]) == 1234
