"""The Grad-CAM page's lecture inputs in AppTest: the camera (off by default, a bad frame named
beside it) and several images in one grid (the layout in the URL, a row per image, the batch
metrics as a table on request)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from resnet_viz.ui import batch_view
from resnet_viz.ui.batch_view import GRID, SECTIONS
from tests.app_support import assert_clean, open_page

#: Each test loads its models anew (tests/conftest.py, fresh_streamlit_caches).
pytestmark = pytest.mark.usefixtures("fresh_streamlit_caches")

SAMPLES = ["circle (synthetic shape)", "crescent (synthetic shape)"]


def image_captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buffer, format="JPEG")
    return buffer.getvalue()


def test_the_camera_is_off_until_asked_and_a_bad_frame_is_named_beside_it():
    at = open_page("pages/grad_cam.py")
    assert at.toggle(key="camera").value is False
    assert not at.camera_input  # no permission prompt on load
    at = open_page("pages/grad_cam.py", camera="true")
    assert_clean(at)
    assert at.toggle(key="camera").value is True
    assert len(at.camera_input) == 1
    at.camera_input(key="camera_frame").set_value(("shot.jpg", b"not a picture\n" * 20,
                                                   "image/jpeg")).run()  # fmt: skip
    assert_clean(at)
    assert [e.value for e in at.error] == [
        "This file is not an image this app can read (it looks like plain text). Please upload "
        "a JPEG, PNG, WebP, GIF, BMP or TIFF image."
    ]
    assert [s.value for s in at.subheader] == SAMPLES  # the rest of the page still works
    at.camera_input(key="camera_frame").set_value(("shot.jpg", jpeg(), "image/jpeg")).run()
    assert_clean(at)
    assert not at.error
    assert [s.value for s in at.subheader] == [*SAMPLES, "Camera"]


def test_two_samples_in_grid_mode_show_one_row_each_and_the_batch_table():
    at = open_page(
        "pages/grad_cam.py", layout=GRID, methods=["Grad-CAM", "LayerCAM"], pixel="Saliency"
    )
    assert_clean(at)
    assert at.segmented_control(key="layout").value == GRID
    assert not at.subheader  # no per-image sections
    rows = [m.value for m in at.markdown if m.value.startswith("**")]
    assert rows == [f"**{s}**" for s in SAMPLES]
    assert [c.value for c in at.caption if c.value.startswith("Top-1: ")] == [
        "Top-1: “circle” (92%)", "Top-1: “crescent” (97%)",
    ]  # fmt: skip
    texts = image_captions(at)
    for label in ("Grad-CAM", "LayerCAM", "Saliency"):
        assert sum(t.startswith(f"{label}: ") for t in texts) == 2, label
    assert not at.dataframe  # heavy work only on request
    at.button[0].click().run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert list(table["Method"]) == ["Grad-CAM", "LayerCAM", "Saliency"]  # CAMs, then pixels
    assert list(table["Images"]) == [2, 2, 2]
    assert ((table["Deletion AUC mean"] >= 0) & (table["Deletion AUC mean"] <= 1)).all()
    sentence = next(m.value for m in at.markdown if "on average over 2 images" in m.value)
    assert sentence.startswith(("Most faithful on average", "No one method wins on average"))
    assert "Download the table (CSV)" in [b.proto.label for b in at.get("download_button")]


def test_the_layout_comes_from_the_url_and_the_grid_has_a_limit(monkeypatch):
    at = open_page("pages/grad_cam.py")
    assert at.segmented_control(key="layout").value == SECTIONS
    assert [s.value for s in at.subheader] == SAMPLES
    at = open_page("pages/grad_cam.py", layout="a mosaic")  # not a layout: the default
    assert at.segmented_control(key="layout").value == SECTIONS
    monkeypatch.setattr(batch_view, "MAX_GRID_IMAGES", 1)
    at = open_page("pages/grad_cam.py", layout=GRID)
    assert_clean(at)
    assert at.info[0].value == (
        "The grid shows the first 1 of these 2 images; remove some, or show one section per image."
    )
    assert [m.value for m in at.markdown if m.value.startswith("**")] == [f"**{SAMPLES[0]}**"]


def test_a_bad_file_in_the_grid_gets_its_message_in_its_row():
    at = open_page("pages/grad_cam.py", layout=GRID)
    at.file_uploader(key="images").upload("notes.png", b"my notes\n" * 20, "image/png").run()
    assert_clean(at)
    assert [e.value for e in at.error] == [
        "This file is not an image this app can read (it looks like plain text). Please upload "
        "a JPEG, PNG, WebP, GIF, BMP or TIFF image."
    ]
    assert not at.button  # no image explained: nothing to measure
