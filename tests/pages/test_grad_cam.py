"""The Grad-CAM page in AppTest: samples, uploads (good and hostile), the ImageNet weights path
from a local torch cache, the offline fallback, and checkpoint uploads."""

import io
import urllib.request
from pathlib import Path

import pytest
import torch
import torchvision
from PIL import Image
from streamlit.testing.v1 import AppTest

from resnet_viz.data.synthetic_shapes import sample_image
from resnet_viz.ui import models as page_module
from resnet_viz.weights import weights_path
from tests.app_support import assert_clean, marker_pickle, open_page

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")


def open_cam_page(**query: str) -> AppTest:
    return open_page("pages/grad_cam.py", **query)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def shape_png(name: str = "star", seed: int = 3) -> bytes:
    return png(sample_image(name, size=128, seed=seed)[0])


def test_demo_model_explains_the_bundled_samples():
    at = open_cam_page()
    assert_clean(at)
    assert [s.value for s in at.subheader][:2] == [
        "circle (synthetic shape)",
        "crescent (synthetic shape)",
    ]
    assert "bundled demo model" in " ".join(c.value for c in at.caption)
    assert not at.error


HOSTILE = {
    "empty.png": b"",
    "notes.png": b"these are my lecture notes, not an image\n" * 10,
    "truncated.png": shape_png()[:300],
    "bomb.png": None,  # built below: 10,000 x 10,000 pixels, a few KB
    "pickle.jpg": None,  # built below: a pickle that leaves a marker file under tmp_path
}


def bomb_png() -> bytes:
    return png(Image.new("1", (10_000, 10_000)))


def test_each_bad_file_gets_its_own_message_and_the_good_one_works(tmp_path):
    marker = tmp_path / "pwned"
    built = {"bomb.png": bomb_png(), "pickle.jpg": marker_pickle(marker)}
    at = open_cam_page()
    uploader = at.file_uploader(key="images")
    uploader.upload("good.png", shape_png(), "image/png")
    for name, data in HOSTILE.items():
        uploader.upload(name, data if data is not None else built[name], "image/png")
    at.run()
    assert_clean(at)
    assert [s.value for s in at.subheader] == ["good.png", *HOSTILE]
    errors = [e.value for e in at.error]
    assert len(errors) == len(HOSTILE)  # one message per bad file, none for the good one
    assert "empty" in errors[0]
    assert "plain text" in errors[1]
    assert "truncated or corrupt" in errors[2]
    assert "10,000 x 10,000" in errors[3]
    assert "pickle" in errors[4].lower()
    assert sum("Ran on" in c.value for c in at.caption) == 1  # only good.png was explained
    assert not marker.exists()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def test_cached_torchvision_weights_load_offline_with_imagenet_classes(torch_home, no_network):
    path = weights_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    at = open_cam_page(model="ResNet-18, ImageNet (weights cached)")
    assert_clean(at)
    assert at.selectbox(key="model").value == "resnet18"
    assert "torchvision ResNet18_Weights.IMAGENET1K_V1" in " ".join(c.value for c in at.caption)
    classes = at.selectbox(key="cls")
    assert classes.format_func(0) == "tench"  # ImageNet class 0, from weights.meta
    assert not at.warning


def test_a_missing_weights_file_is_downloaded_once_with_a_progress_bar(torch_home, monkeypatch):
    downloads, reports = [], []

    def fake_download(url, dest, *, progress=None, label=None):
        downloads.append(Path(dest))
        for done in (0, 1_000_000, 2_000_000):
            progress(done, 2_000_000)  # draws on the page's bar
            reports.append(done)
        dest.parent.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save(torchvision.models.resnet18().state_dict(), dest)
        return dest

    monkeypatch.setattr(page_module, "download_weights", fake_download)
    at = open_cam_page(model="ResNet-18, ImageNet (downloads weights)")
    assert_clean(at)
    assert downloads == [weights_path("resnet18")]
    assert reports == [0, 1_000_000, 2_000_000]
    assert "torchvision ResNet18_Weights.IMAGENET1K_V1" in " ".join(c.value for c in at.caption)
    assert not at.warning

    def no_second_load(*args, **kwargs):
        raise AssertionError("the model should come from the cache")

    # Another session: the shared model comes from the cache (no download, no load, and no
    # cached element replayed).
    monkeypatch.setattr(page_module, "load_imagenet_model", no_second_load)
    again = open_cam_page(model="ResNet-18, ImageNet (weights cached)")
    assert_clean(again)
    assert not again.error
    assert len(downloads) == 1
    assert "torchvision ResNet18_Weights.IMAGENET1K_V1" in " ".join(c.value for c in again.caption)


def test_without_weights_or_network_the_page_says_where_to_put_the_file(torch_home, no_network):
    at = open_cam_page(model="ResNet-50, ImageNet (downloads weights)")
    assert_clean(at)
    warning = at.warning[0].value
    assert weights_path("resnet50").name in warning
    assert str(weights_path("resnet50").parent) in warning
    assert "Showing the bundled demo model instead" in warning
    assert "bundled demo model" in " ".join(c.value for c in at.caption)


def test_checkpoint_upload_for_a_ten_class_resnet18():
    torch.manual_seed(0)
    state = torchvision.models.resnet18(num_classes=10).state_dict()
    buffer = io.BytesIO()
    torch.save({"state_dict": state, "epoch": 3}, buffer)
    at = open_cam_page(model="Upload a checkpoint…")
    at.selectbox(key="ckpt_arch").set_value("resnet18")
    at.number_input(key="ckpt_classes").set_value(10)
    at.file_uploader(key="ckpt_file").upload("finetuned.pt", buffer.getvalue())
    at.run()
    assert_clean(at)
    assert "uploaded checkpoint finetuned.pt" in " ".join(c.value for c in at.caption)
    assert at.selectbox(key="cls").format_func(9) == "class 9"


def test_malicious_checkpoint_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    at = open_cam_page(model="Upload a checkpoint…")
    at.file_uploader(key="ckpt_file").upload("model.pt", marker_pickle(marker))
    at.run()
    assert_clean(at)
    assert at.error
    assert not marker.exists()


def test_mismatched_checkpoint_lists_what_differs():
    buffer = io.BytesIO()
    torch.save(torchvision.models.resnet18(num_classes=10).state_dict(), buffer)
    at = open_cam_page(model="Upload a checkpoint…")
    at.file_uploader(key="ckpt_file").upload("model.pt", buffer.getvalue())  # 1000 classes
    at.run()
    assert_clean(at)
    assert "fc.weight" in at.error[0].value
