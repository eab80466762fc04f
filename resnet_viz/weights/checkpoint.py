"""The app's own checkpoint format, ``"resnet-viz-demo/1"``: its one writer and its one reader.

The bundled demo model (``assets/demo_resnet.pt``) and the lesion page's pair
(``assets/lesion_resnet.pt``, ``assets/lesion_plain.pt``) are such files, so they work offline
and carry everything needed to use them. A file is one ``torch.save`` dict of plain types and
CPU tensors, which ``torch.load(..., weights_only=True)`` reads without running any code::

    {"format": "resnet-viz-demo/1",
     "spec": dataclasses.asdict(spec) with its tuples as lists,
     "classes": ["airplane", ...],          # one name per output of the network
     "input_size": 64,                      # images are squashed to this square, no crop
     "mean": [...], "std": [...],           # one number per input channel
     "state_dict": model.state_dict(),
     ...}                                   # optional extra entries, e.g. "trained": recipe

:func:`write_checkpoint` is the only code that writes the format (the training tools call it);
:func:`read_checkpoint` validates a file and :func:`load_demo_model` turns it into a ready
model. Keys are written in the order above, so the same weights give the same bytes.

This module does not import streamlit.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any

import torch

from ..assets import ASSETS_DIR
from ..core.build import ResNet
from ..core.presets import spec_label
from ..core.spec import ResNetSpec, SpecError
from ..errors import WeightsError
from ..runtime.device import pick_device
from .assemble import assemble
from .common import LoadedModel, Preprocessing, failure_reason

#: The format tag every file of this kind carries under ``"format"``.
CHECKPOINT_FORMAT = "resnet-viz-demo/1"
#: The bundled demo model.
DEMO_CHECKPOINT = ASSETS_DIR / "demo_resnet.pt"
_REQUIRED = ("spec", "classes", "input_size", "mean", "std", "state_dict")


def checkpoint_data(
    model: ResNet,
    *,
    classes: Sequence[str],
    input_size: int,
    mean: Sequence[float],
    std: Sequence[float],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``model`` as a ``"resnet-viz-demo/1"`` dict (plain types and CPU tensors only, so
    ``torch.load(..., weights_only=True)`` reads it back); ``extra`` entries (plain types only)
    are stored after the required ones."""
    spec = {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(model.spec).items()
    }
    return {
        "format": CHECKPOINT_FORMAT,
        "spec": spec,
        "classes": list(classes),
        "input_size": input_size,
        "mean": list(mean),
        "std": list(std),
        "state_dict": {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
        **(extra or {}),
    }


def write_checkpoint(model: ResNet, path: str | Path, **fields: Any) -> Path:
    """Write :func:`checkpoint_data` of ``model`` (the same keyword arguments) at ``path``
    (folders created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint_data(model, **fields), path)
    return path


def checkpoint_bytes(model: ResNet, **fields: Any) -> bytes:
    """:func:`checkpoint_data` of ``model`` (the same keyword arguments) as the bytes of a file."""
    buffer = io.BytesIO()
    torch.save(checkpoint_data(model, **fields), buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Checkpoint:
    """A validated ``"resnet-viz-demo/1"`` file: its network, class names, preprocessing, the
    (not yet checked against the network) state_dict, and the whole dict as read."""

    spec: ResNetSpec
    classes: list[str]
    preprocessing: Preprocessing
    state_dict: Mapping[str, object]
    data: Mapping[str, Any]


def read_checkpoint(path: Path | str) -> Checkpoint:
    """Read and validate the file at ``path`` with ``torch.load(..., weights_only=True)``.

    Raises:
        WeightsError: the file is missing, unreadable, or not in this format (the message says
            which entry is wrong).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(
            f"The bundled demo model is missing: expected {path}. Reinstall the app or "
            "restore that file."
        )
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        why = failure_reason(exc)
        raise WeightsError(f"The demo model {path} cannot be read ({why}).") from exc
    return _validate(data, path)


def _validate(data: object, path: Path) -> Checkpoint:
    def bad(what: str) -> WeightsError:
        return WeightsError(f"The demo model {path} is not a {CHECKPOINT_FORMAT} file: {what}.")

    if not isinstance(data, Mapping) or data.get("format") != CHECKPOINT_FORMAT:
        found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
        raise bad(f"format is {found!r}")
    missing = set(_REQUIRED) - set(data)
    if missing:
        raise bad(f"missing {', '.join(sorted(missing))}")
    try:
        spec = ResNetSpec(**data["spec"])
    except (TypeError, SpecError) as exc:
        raise bad(f"invalid spec ({exc})") from exc
    classes = data["classes"]
    if not _is_list_of(classes, str) or len(classes) != spec.num_classes:
        raise bad(f"classes must be {spec.num_classes} names, one per output of the network")
    size = data["input_size"]
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise bad(f"input_size must be a positive whole number, got {size!r}")
    mean, std = data["mean"], data["std"]
    for name, values in (("mean", mean), ("std", std)):
        if not _is_list_of(values, int | float) or len(values) != spec.in_channels:
            raise bad(f"{name} must hold {spec.in_channels} numbers")
    if any(s <= 0 for s in std):
        raise bad("std must be positive")
    if not isinstance(data["state_dict"], Mapping):
        raise bad("state_dict must be a dict of tensors")
    resize = data.get("resize")  # optional: absent in files written before it existed
    if resize is not None and (not isinstance(resize, int) or isinstance(resize, bool)
                               or resize < size):  # fmt: skip
        raise bad(f"resize must be a whole number of at least input_size, or None; got {resize!r}")
    preprocessing = Preprocessing(size, resize, tuple(map(float, mean)), tuple(map(float, std)))
    return Checkpoint(spec, list(classes), preprocessing, data["state_dict"], data)


def app_fields(
    data: object, spec: ResNetSpec
) -> tuple[tuple[str, ...] | None, Preprocessing | None]:
    """The class names and the preprocessing that a checkpoint dict carries in this format's
    entries (``"classes"``, ``"input_size"``, ``"mean"``, ``"std"``, optional ``"resize"``), for
    the network ``spec`` read from its weights; ``None`` for what it lacks or holds malformed.

    An uploaded file is read leniently: the weights alone make it usable (with numbered classes
    and default statistics), so a missing or wrong entry only drops what it would have told;
    the same rules as :func:`read_checkpoint` decide what is well formed.
    """
    if not isinstance(data, Mapping):
        return None, None
    classes = data.get("classes")
    names = (
        tuple(classes) if _is_list_of(classes, str) and len(classes) == spec.num_classes else None
    )
    size, mean, std = data.get("input_size"), data.get("mean"), data.get("std")
    resize = data.get("resize")
    statistics_ok = all(
        _is_list_of(v, int | float) and len(v) == spec.in_channels for v in (mean, std)
    )
    well_formed = (
        isinstance(size, int) and not isinstance(size, bool) and size >= 1 and statistics_ok
        and all(s > 0 for s in std)
        and (resize is None or (isinstance(resize, int) and not isinstance(resize, bool)
                                and resize >= size))
    )  # fmt: skip
    preprocessing = (
        Preprocessing(size, resize, tuple(map(float, mean)), tuple(map(float, std)))
        if well_formed
        else None
    )
    return names, preprocessing


def _is_list_of(values: object, kind: type | UnionType) -> bool:
    """A list or tuple whose items are all ``kind`` (booleans never count as numbers)."""
    if not isinstance(values, list | tuple):
        return False
    return all(isinstance(v, kind) and not isinstance(v, bool) for v in values)


def load_demo_model(
    device: torch.device | str | None = None, *, path: Path | str | None = None
) -> LoadedModel:
    """The model in a ``"resnet-viz-demo/1"`` file, by default the bundled demo model
    (:data:`DEMO_CHECKPOINT`), which needs no download.

    Images are squashed to ``input_size`` x ``input_size`` (no crop) and normalised with
    ``mean``/``std``; ``device`` ``None`` picks CUDA, then MPS, then the CPU.

    Raises:
        WeightsError: the file is missing, unreadable, not in this format, or its weights do
            not fit its spec.
    """
    path = Path(path) if path is not None else DEMO_CHECKPOINT
    checkpoint = read_checkpoint(path)
    spec, classes = checkpoint.spec, checkpoint.classes
    model = assemble(spec, checkpoint.state_dict, lambda m: WeightsError(f"Demo model: {m}"))
    return LoadedModel(
        model=model.to(pick_device(device)),
        spec=spec,
        categories=classes,
        preprocessing=checkpoint.preprocessing,
        source=f"bundled demo model ({spec_label(spec)}, {len(classes)} classes, {path.name})",
        name="demo",
    )
