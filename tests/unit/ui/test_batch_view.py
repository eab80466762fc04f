"""The batch view's logic without a page: its averages are the per-image faithfulness averaged
and Average Drop over the batch (a tiny model), the methods every image has, and the camera's
frame turned into an item (bad bytes refused with the loader's sentence)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_viz.analysis.attribution.confidence import average_drop
from resnet_viz.analysis.attribution.faithfulness import faithfulness
from resnet_viz.errors import ImageError, UserError
from resnet_viz.present.batch import spread
from resnet_viz.ui.batch_view import Row, batch_maps, measure
from resnet_viz.ui.grad_cam import CAMERA, camera_item
from resnet_viz.ui.pixel_workbench import PixelShown
from resnet_viz.ui.workbench_common import Shown
from tests.unit.analysis.attribution.test_cam import SPECS, image_for, tiny_model


def test_the_batch_numbers_are_the_per_image_numbers_averaged():
    model = tiny_model("basic").eval()
    spec = SPECS["basic"]
    tensors = [image_for(spec, seed=s) for s in (1, 2, 3)]
    side = tensors[0].shape[-1]
    rng = np.random.default_rng(0)
    maps = {
        "A": [rng.random((side, side)).astype(np.float32) for _ in tensors],
        "B": [rng.random((4, 4)).astype(np.float32) for _ in tensors],  # upsampled, as CAMs
    }
    targets = {"A": [0, 1, 0], "B": [1, 1, 0]}
    fractions = []
    out = measure(model, tensors, maps, targets, steps=4,
                  progress=lambda f, text: fractions.append(f))  # fmt: skip
    assert [s.label for s in out] == ["A", "B"]
    for scores in out:
        label = scores.label
        each = [
            faithfulness(model, x, heat, target_class=t, steps=4)
            for x, heat, t in zip(tensors, maps[label], targets[label], strict=True)
        ]
        assert scores.deletion == pytest.approx([c.deletion_auc for c in each])
        assert spread(scores.insertion)[0] == pytest.approx(
            np.mean([c.insertion_auc for c in each])
        )
        drop = average_drop(model, torch.cat(tensors), maps[label], targets[label])
        assert np.mean(scores.drop) == pytest.approx(drop.drop)
        assert 100 * np.mean(scores.increased) == pytest.approx(drop.increase)
    # 2 methods x (3 curves + 1 drop) steps; the bar moves before each image's curves.
    assert fractions == [0, 1 / 8, 2 / 8, 4 / 8, 5 / 8, 6 / 8]


def _cam(method: str, target: int = 0) -> Shown:
    return Shown(method, SimpleNamespace(counterfactual=False, target_class=target), 0.01)


def test_a_method_missing_on_one_image_is_left_out_of_the_batch():
    pixel = PixelShown("saliency", SimpleNamespace(target_class=0), 0.01)
    rows = [
        Row("a", None, "d1", (_cam("gradcam"), _cam("layercam")), (pixel,)),
        Row("b", None, "d2", (_cam("gradcam"),), (pixel,)),  # LayerCAM failed here
    ]
    maps = batch_maps(rows)
    assert list(maps) == ["Grad-CAM", "Saliency"]
    assert [s.method for s in maps["Grad-CAM"]] == ["gradcam", "gradcam"]


class Frame:
    """What st.camera_input returns, as far as the page reads it."""

    def __init__(self, data: bytes):
        self.data = data

    def getvalue(self) -> bytes:
        return self.data


def test_a_camera_frame_becomes_the_camera_item():
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), "red").save(buffer, format="JPEG")
    assert camera_item(Frame(buffer.getvalue())) == (CAMERA, buffer.getvalue())


def test_a_frame_that_is_not_an_image_is_refused_with_a_sentence():
    with pytest.raises(ImageError, match="not an image this app can read") as caught:
        camera_item(Frame(b"no picture here\n" * 20))
    assert isinstance(caught.value, UserError)
    with pytest.raises(ImageError, match="empty"):
        camera_item(Frame(b""))
