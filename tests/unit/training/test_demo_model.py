"""The bundled demo ResNet: checkpoint format, accuracy, Grad-CAM localisation, sanity checks.

The checkpoint ``resnet_viz/assets/demo_resnet.pt`` was trained by
``python -m resnet_viz.training.demo_model``; these tests only *use* it (no training, except a tiny
determinism smoke test). Every image here comes from seeds at or above ``FRESH_SEED``, which
training and validation never touched.

Grad-CAM is the app's :func:`resnet_viz.grad_cam` at ``layer3`` (16 x 16 cells of 4 x 4 pixels
at 64 x 64 input), for the predicted class (Selvaraju et al. 2017, Eq. 1-2, with the ReLU),
upsampled bilinearly (``align_corners=False``) to the image; a test checks it against captum's
LayerGradCam applied to the whole model.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's own convention)
from captum.attr import LayerGradCam

from resnet_viz import ResNetSpec, build_model, grad_cam
from resnet_viz.data.images import load_image, preprocess
from resnet_viz.data.synthetic_shapes import CLASSES, MEAN, STD, make_batch, sample_image
from resnet_viz.training.demo_model import (
    CHECKPOINT_FORMAT,
    DEFAULT_CHECKPOINT,
    DEMO_SPEC,
    FRESH_SEED,
    INPUT_SIZE,
    TRAIN_SEED,
    VALIDATION_SEED,
    evaluate,
    save_demo_checkpoint,
    size_schedule,
    train_demo_model,
)

SAMPLES = DEFAULT_CHECKPOINT.parent / "samples"
PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg")

# Measured on the committed checkpoint (torch 2.14.1, this project's CPU); each pin leaves a
# margin below the measurement.
MIN_ACCURACY = 0.95  # measured 0.998 on these 1,000 images
POINTING_TOLERANCE = 2  # pixels at 64 x 64: half a layer3 cell
MIN_POINTING = 0.90  # measured 0.935 within 2 px on these 400 images (0.947 on 1,000 others)
MIN_POINTING_STRICT = 0.75  # measured 0.81 (peak on a mask pixel itself)
MAX_RANDOMISED_SPEARMAN = 0.3  # measured 0.05 (-0.02 to 0.17 for 4 other random inits)
MAX_RANDOMISED_SPEARMAN_VARYING = 0.4  # measured 0.09 over 27 maps (up to 0.23 for others)


# ----------------------------------------------------------------------------- helpers


def _load(path: Path = DEFAULT_CHECKPOINT) -> tuple[dict, torch.nn.Module]:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(ResNetSpec(**checkpoint["spec"]))
    model.load_state_dict(checkpoint["state_dict"], strict=True)
    return checkpoint, model.eval()


@pytest.fixture(scope="module")
def demo():
    return _load()


@pytest.fixture(scope="module")
def model(demo):
    return demo[1]


def _tensors(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).to(torch.float32) / 255
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def _grad_cam(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(N, H, W) Grad-CAM at layer3 for ``target``, ReLU'd and upsampled to the input size:
    the app's own :func:`resnet_viz.grad_cam`, one image at a time, as the page calls it."""
    maps = [
        grad_cam(model, image[None], target_layer="layer3", target_class=int(t)).heatmap
        for image, t in zip(x, target, strict=True)
    ]
    return torch.from_numpy(np.stack(maps))


def test_the_apps_grad_cam_equals_captum_on_the_demo_model(model):
    """The localisation tests below use the app's grad_cam; on this model it agrees with
    captum's LayerGradCam on the whole network (ReLU, bilinear upsampling, min-max)."""
    batch = make_batch(8, size=INPUT_SIZE, seed=FRESH_SEED + 4)
    x = _tensors(batch.images)
    with torch.no_grad():
        pred = model(x).argmax(1)
    cam = LayerGradCam(model, model.layer3).attribute(x, target=pred, relu_attributions=True)
    up = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    low = up.flatten(1).min(1).values[:, None, None]
    high = up.flatten(1).max(1).values[:, None, None]
    expected = torch.where(high > low, (up - low) / (high - low), torch.zeros_like(up))
    torch.testing.assert_close(_grad_cam(model, x, pred), expected.detach(), atol=1e-5, rtol=0)


def _dilate(masks: np.ndarray, radius: int) -> np.ndarray:
    """Dilate (N, H, W) bool masks by ``radius`` pixels (square structuring element)."""
    if radius == 0:
        return masks
    t = torch.from_numpy(masks).to(torch.float32)[:, None]
    return (F.max_pool2d(t, 2 * radius + 1, stride=1, padding=radius) > 0)[:, 0].numpy()


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their average rank (as scipy.stats.rankdata - 1)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values))
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return (np.bincount(inverse, weights=ranks) / counts)[inverse]


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _ranks(a.ravel()), _ranks(b.ravel())
    if ra.std() == 0 or rb.std() == 0:
        return 0.0  # a constant map shares no ordering with anything
    return float(np.corrcoef(ra, rb)[0, 1])


# ----------------------------------------------------------------------------- checkpoint


def test_checkpoint_has_the_documented_format(demo):
    checkpoint, _ = demo
    assert set(checkpoint) == {
        "format",
        "spec",
        "classes",
        "input_size",
        "mean",
        "std",
        "state_dict",
    }
    assert checkpoint["format"] == CHECKPOINT_FORMAT == "resnet-viz-demo/1"
    assert checkpoint["classes"] == list(CLASSES)
    assert checkpoint["input_size"] == INPUT_SIZE == 64
    assert checkpoint["mean"] == list(MEAN)
    assert checkpoint["std"] == list(STD)
    spec = checkpoint["spec"]
    assert spec == {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(DEMO_SPEC).items()
    }
    assert ResNetSpec(**spec) == DEMO_SPEC


def test_checkpoint_state_dict_loads_strictly_and_is_small(demo):
    checkpoint, model = demo
    state = checkpoint["state_dict"]
    assert list(state) == list(build_model(DEMO_SPEC).state_dict())
    assert all(t.device.type == "cpu" for t in state.values())
    assert {t.dtype for t in state.values()} == {torch.float32, torch.int64}
    assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())
    # A few hundred thousand float32 weights: well under a megabyte on disk.
    assert DEFAULT_CHECKPOINT.stat().st_size < 1_500_000
    assert sum(p.numel() for p in model.parameters()) < 400_000


def test_save_demo_checkpoint_round_trips(tmp_path, demo):
    checkpoint, model = demo
    path = save_demo_checkpoint(model, tmp_path / "sub" / "copy.pt")
    again, copy = _load(path)
    assert {k: v for k, v in again.items() if k != "state_dict"} == {
        k: v for k, v in checkpoint.items() if k != "state_dict"
    }
    for key, value in checkpoint["state_dict"].items():
        assert torch.equal(again["state_dict"][key], value)
    x = _tensors(make_batch(4, seed=FRESH_SEED + 99).images)
    with torch.no_grad():
        assert torch.equal(copy(x), model(x))


def test_the_trainer_writes_the_one_checkpoint_format():
    from resnet_viz.weights import checkpoint

    assert CHECKPOINT_FORMAT is checkpoint.CHECKPOINT_FORMAT
    assert DEFAULT_CHECKPOINT == checkpoint.DEMO_CHECKPOINT


def test_seed_ranges_do_not_overlap():
    from resnet_viz.training.demo_model import MAX_EPOCHS

    assert TRAIN_SEED + MAX_EPOCHS <= VALIDATION_SEED < FRESH_SEED


# ----------------------------------------------------------------------------- quality


def test_accuracy_on_fresh_images(model):
    batch = make_batch(1_000, size=INPUT_SIZE, seed=FRESH_SEED + 1)
    accuracy = evaluate(model, batch)
    assert accuracy >= MIN_ACCURACY, f"accuracy {accuracy:.4f} on 1,000 fresh images"


def test_grad_cam_points_inside_the_object(model):
    """Pointing game (Zhang et al. 2016): the CAM's peak lies on the object.

    Zhang et al. count a hit within 15 px of the box at ~224 px; here the *mask* (rings have
    holes, crescents a bite) dilated by 2 px at 64 px, half a layer3 cell, is the target.
    """
    batch = make_batch(400, size=INPUT_SIZE, seed=FRESH_SEED + 2)
    x = _tensors(batch.images)
    with torch.no_grad():
        pred = model(x).argmax(1)
    cam = _grad_cam(model, x, pred).flatten(1)
    peak = cam.argmax(1).numpy()
    flat = np.arange(len(peak))
    nonzero = (cam.max(1).values > 0).numpy()
    n = len(batch)
    rates = {
        r: float((_dilate(batch.masks, r).reshape(n, -1)[flat, peak] & nonzero).mean())
        for r in (0, 1, POINTING_TOLERANCE)
    }
    message = ", ".join(f"{r} px: {v:.3f}" for r, v in rates.items())
    assert rates[POINTING_TOLERANCE] >= MIN_POINTING, message
    assert rates[0] >= MIN_POINTING_STRICT, message


def test_grad_cam_passes_the_randomisation_sanity_check(model):
    """Adebayo et al. 2018, "Sanity Checks for Saliency Maps": with random weights the maps
    must change. Spearman rank correlation between the trained and a randomly initialised
    model's CAMs (same 50 images, same target class: the trained model's prediction), as the
    app shows them (ReLU, upsampled). A random model's ReLU'd CAM is often all zero (no
    location votes for the class); such a constant map shares no ordering, so it counts as 0,
    and the mean over the non-constant maps alone is checked too."""
    batch = make_batch(50, size=INPUT_SIZE, seed=FRESH_SEED + 3)
    x = _tensors(batch.images)
    with torch.no_grad():
        pred = model(x).argmax(1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(12345)
        random_model = build_model(DEMO_SPEC)
    trained = _grad_cam(model, x, pred).numpy()
    randomised = _grad_cam(random_model, x, pred).numpy()
    rho = np.array([_spearman(a, b) for a, b in zip(trained, randomised, strict=True)])
    varying = np.array([m.std() > 0 for m in randomised])
    message = f"mean Spearman {rho.mean():.3f}, over {varying.sum()} non-constant maps " + (
        f"{rho[varying].mean():.3f}"
    )
    assert rho.mean() < MAX_RANDOMISED_SPEARMAN, message
    assert varying.sum() >= 10, message
    assert rho[varying].mean() < MAX_RANDOMISED_SPEARMAN_VARYING, message
    # The check has teeth: the trained model's maps against themselves correlate perfectly.
    assert _spearman(trained[0], trained[0]) == pytest.approx(1.0)


def test_spearman_helper_matches_hand_computed_values():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert _spearman(a, a) == pytest.approx(1.0)
    assert _spearman(a, -a) == pytest.approx(-1.0)
    assert _ranks(np.array([0.0, 0.0, 5.0, 1.0])).tolist() == [0.5, 0.5, 3.0, 2.0]
    assert _spearman(a, np.zeros(4)) == 0.0


# ----------------------------------------------------------------------------- training


TINY = ResNetSpec(
    block="basic",
    layers=(1, 1, 1),
    widths=(4, 8, 8),
    stem="cifar",
    shortcut="B",
    num_classes=len(CLASSES),
)


def _tiny_run(seed: int, progress=None):
    return train_demo_model(
        seed=seed,
        train_images=96,
        epochs=2,
        val_images=16,
        spec=TINY,
        image_sizes=(32, 32),
        progress=progress,
    )


def test_training_is_bitwise_deterministic_and_restores_torch_settings():
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    rng = torch.random.get_rng_state()
    seen = []
    first, history = _tiny_run(7, progress=seen.append)
    second, _ = _tiny_run(7)
    other, _ = _tiny_run(8)
    a, b, c = first.state_dict(), second.state_dict(), other.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    assert not first.training
    assert seen == history
    assert [h["epoch"] for h in history] == [1, 2]
    assert [h["image_size"] for h in history] == [32, 32]
    assert all(0 <= h["val_accuracy"] <= 1 and h["train_loss"] > 0 for h in history)
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
    assert torch.equal(torch.random.get_rng_state(), rng)


def test_size_schedule_ends_at_the_input_size():
    assert size_schedule(16) == (32,) * 12 + (48, 48, 64, 64)
    assert size_schedule(1) == (64,)
    assert size_schedule(2) == (48, 64)
    for epochs in range(1, 40):
        sizes = size_schedule(epochs)
        assert len(sizes) == epochs
        assert sizes[-1] == INPUT_SIZE
        assert list(sizes) == sorted(sizes)


def test_training_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epochs"):
        train_demo_model(epochs=0)
    with pytest.raises(ValueError, match="image_sizes"):
        train_demo_model(epochs=2, image_sizes=(32,))
    with pytest.raises(ValueError, match="train_images"):
        train_demo_model(train_images=0)


# ----------------------------------------------------------------------------- samples


def test_sample_images_decode_and_photos_are_licensed():
    files = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".jpg", ".png"})
    assert files, "no sample images"
    for path in files:
        image = load_image(path.read_bytes())
        assert image.mode == "RGB"
        assert min(image.size) >= 224
    licences = (SAMPLES / "LICENSES.md").read_text()
    photos = [p.name for p in files if p.suffix == ".jpg"]
    assert sorted(photos) == sorted(PHOTOS)
    for name in photos:
        assert f"`{name}`" in licences
        assert (SAMPLES / name).stat().st_size < 200_000


def test_shapes_samples_match_their_index_and_the_demo_model_reads_them(model):
    index = json.loads((SAMPLES / "shapes_samples.json").read_text())
    assert index["classes"] == list(CLASSES)
    assert [s["class"] for s in index["samples"]] == list(CLASSES)
    for entry in index["samples"]:
        image = load_image((SAMPLES / entry["file"]).read_bytes())
        expected, mask = sample_image(entry["class"], size=entry["size"], seed=entry["seed"])
        assert np.array_equal(np.asarray(image), np.asarray(expected))
        ys, xs = np.nonzero(mask)
        assert entry["box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        # What the app does with an upload for the demo model: squash to 64 x 64.
        x = preprocess(image, size=INPUT_SIZE, resize=None, mean=MEAN, std=STD)
        with torch.no_grad():
            assert CLASSES[int(model(x).argmax(1))] == entry["class"]
