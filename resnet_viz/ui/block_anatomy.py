"""The "block opened" page: x, F(x), the shortcut and the output of one residual block on one
image, with the branch's relative size and that block's Grad-CAM."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from ..analysis.anatomy import BlockAnatomy, block_anatomy, block_names
from ..analysis.attribution.cam import CamResult, grad_cam
from ..core.layout import parameter_count
from ..core.spec import BYTES_PER_FLOAT32
from ..core.split import layer_label
from ..core.summary import summarize
from ..data.images import load_image
from ..data.samples import bundled_samples
from ..present.anatomy import (
    anatomy_reading,
    block_ratio_figure,
    channel_ratio_figure,
    feature_grid_figure,
)
from ..present.heatmaps import overlay
from ..runtime.memory import memory_budget_bytes, refuse_over_budget
from ..weights import LoadedModel
from .common import IMAGE_TYPES, MAX_IMAGE_MB, say_unknown_link_value
from .lecture import show_chart
from .models import DEMO
from .shared_results import computed_once, shared_results

BIND = "query-params"
DEFAULT_BLOCK = "layer2.0"


@dataclass(frozen=True)
class AnatomySettings:
    block: str
    channels: int


def anatomy_controls(loaded: LoadedModel, notice=None) -> AnatomySettings:
    """The block and how many channels to show; a link's unknown block is said in
    ``notice``."""
    spec = loaded.spec
    size = (spec.in_channels, loaded.preprocessing.size, loaded.preprocessing.size)
    blocks = block_names(loaded.model)
    default = blocks.index(DEFAULT_BLOCK) if DEFAULT_BLOCK in blocks else 0
    say_unknown_link_value(notice, "an_block", "the block", blocks, blocks[default])
    block = st.selectbox(
        "Block", blocks, index=default,
        key="an_block", bind=BIND, help="layer2.0: stage 2, block 1 (numbered from 0).",
    )  # fmt: skip
    st.caption(layer_label(spec, block, size))
    channels = st.slider(
        "Channels shown", 2, 12, 6, key="an_channels", bind=BIND,
        help="The strongest channels (largest norm) of the block's output; x shows its own.",
    )  # fmt: skip
    return AnatomySettings(block=block, channels=channels)


def image_input(loaded: LoadedModel) -> tuple[str, bytes]:
    """The uploaded image if there is one, otherwise the chosen bundled sample."""
    samples = bundled_samples()
    suits_demo = loaded.name == DEMO
    labels = [s.label for s in samples]
    default = next(i for i, s in enumerate(samples) if s.synthetic == suits_demo)
    key = f"an_sample_{'demo' if suits_demo else 'photo'}"
    label = st.selectbox(
        "Bundled sample", labels, index=default, key=key, bind=BIND,
        help="Photos suit the ImageNet models; synthetic shapes suit the demo model.",
    )  # fmt: skip
    upload = st.file_uploader(
        "…or upload an image", type=IMAGE_TYPES, key="an_upload", max_upload_size=MAX_IMAGE_MB,
        help=f"JPEG, PNG, WebP, GIF, BMP or TIFF, up to {MAX_IMAGE_MB} MB.",
    )  # fmt: skip
    if upload is not None:
        return upload.name, upload.getvalue()
    return label, next(s for s in samples if s.label == label).read()


def check_memory(loaded: LoadedModel) -> None:
    """One image forward (with every block's tensors kept) and Grad-CAM's backward."""
    spec, side = loaded.spec, loaded.preprocessing.size
    activations = summarize(spec, (spec.in_channels, side, side)).total_activation_bytes
    needed = 3 * activations + parameter_count(spec) * BYTES_PER_FLOAT32
    refuse_over_budget(
        needed, memory_budget_bytes(next(loaded.model.parameters()).device),
        f"Opening a block of the {loaded.source}", "Choose a smaller model.",
    )  # fmt: skip


def _open(digest: str, model_key: str, block: str, model, tensor) -> tuple[BlockAnatomy, CamResult]:
    """The block's tensors and its Grad-CAM, shared by the sessions (32 kept, one per image,
    model and block): computed outside ``st.cache_data`` so that a student waiting for a
    heavy-work slot sees its place in the queue (see :mod:`resnet_viz.ui.shared_results`)."""

    def compute(_progress) -> tuple[BlockAnatomy, CamResult]:
        return block_anatomy(model, tensor, block), grad_cam(model, tensor, target_layer=block)

    return computed_once(
        shared_results("opened blocks", 32),
        (digest, model_key, block),
        compute,
        progress_text=None,
        waiting_text="Another session is opening this same block…",
        kind="block anatomy",
    )


def strongest(maps: np.ndarray, k: int) -> list[int]:
    """The ``k`` channels of ``maps`` (C x H x W) with the largest norm, strongest first."""
    norms = np.sqrt((maps.astype(np.float64) ** 2).reshape(len(maps), -1).sum(1))
    return [int(c) for c in np.argsort(-norms, kind="stable")[:k]]


def open_block(name: str, data: bytes, loaded: LoadedModel, settings: AnatomySettings) -> None:
    """Everything below the controls for one image. Raises ImageError for a bad file."""
    image = load_image(data)
    check_memory(loaded)
    crop = loaded.preprocessing.crop(image)
    tensor = loaded.preprocessing.tensor(image)
    digest = hashlib.sha256(data).hexdigest()
    anatomy, cam = _open(digest, loaded.name, settings.block, loaded.model, tensor)
    left, middle, right = st.columns(3)
    left.image(crop, caption=f"{name}, as the model sees it ({crop.width}×{crop.height})",
               width="stretch")  # fmt: skip
    middle.image(
        overlay(crop, cam.heatmap, alpha=0.5),
        caption=f"Grad-CAM at {settings.block} ({cam.raw.shape[0]}×{cam.raw.shape[1]} map) for "
        f"“{loaded.categories[cam.target_class]}”",
        width="stretch",
    )
    with right:
        for sentence in anatomy_reading(anatomy):
            st.markdown(f"- {sentence}")
    out = anatomy.output[0].numpy()
    chosen = strongest(out, settings.channels)
    x = anatomy.input[0].numpy()
    rows = [("x", x, chosen if x.shape[0] == out.shape[0] else strongest(x, settings.channels))]
    rows.append(("F(x)", anatomy.branch[0].numpy(), chosen))
    if anatomy.shortcut is not None:
        rows.append(("shortcut", anatomy.shortcut[0].numpy(), chosen))
    rows.append(("output", out, chosen))
    show_chart(
        feature_grid_figure(
            rows, title=f"{settings.block}: the strongest output channels, one colour scale per row"
        ),
        key=f"anatomy_maps_{settings.block}",
    )
    ratio_left, ratio_right = st.columns(2)
    with ratio_left:
        if anatomy.channel_ratio is not None:
            show_chart(
                channel_ratio_figure(anatomy.channel_ratio, settings.block),
                key="anatomy_channels",
            )
        else:
            st.info("A plain block that changes shape has no per-channel x to compare with.")
    with ratio_right:
        show_chart(
            block_ratio_figure(
                anatomy.block_ratios, settings.block, skip=anatomy.shortcut is not None
            ),
            key="anatomy_blocks",
        )
    st.caption(
        "All four tensors come from one real forward pass of the whole network (hooks on the "
        "block and on its addition, removed afterwards). Red is positive, blue negative; x and "
        "the output of a post-activation block are ReLU outputs, so never negative. "
        "‖F(x)_c‖/‖x_c‖ per channel divides by the shortcut's channel where the shape changes; "
        "channels the zero-padding adds are left out."
    )
