"""From what the controls say to a network: plain values in, a spec and an input size out.

The pages' widgets (and the URL's query parameters, which mirror them) produce a
:class:`NetworkChoice`; :func:`resolve` turns it into a :class:`ResNetSpec` and an input size or
raises :class:`SpecError` with a message for the page. Keeping this out of the widgets makes it
testable without Streamlit and shared by every page that lets the user pick a network.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.presets import PRESETS, preset, spec_for_depth
from ..core.spec import BLOCK_TYPES, STEM_TYPES, ResNetSpec, SpecError, default_input_size

MODES = ("preset", "depth", "custom", "checkpoint")
VERSIONS = {"V1.5": False, "V1": True}  # label -> stride_in_1x1
FAMILIES = ("imagenet", "cifar")

# What the selectors show; Streamlit writes a bound selector's label into the URL.
MODE_LABELS = {
    "preset": "Preset",
    "depth": "Depth",
    "custom": "Custom",
    "checkpoint": "Checkpoint",
}
FAMILY_LABELS = {"imagenet": "ImageNet (4 stages, 224 px)", "cifar": "CIFAR (3 stages, 32 px)"}
SHORTCUT_LABELS = {
    "A": "A: zero-padding (no parameters)",
    "B": "B: projection where the shape changes",
    "C": "C: projection on every block",
}


@dataclass(frozen=True)
class NetworkChoice:
    """The network controls' values. ``None`` means "the network's own default"."""

    mode: str = "preset"
    preset: str = "resnet50"
    family: str = "imagenet"
    depth: int = 50
    # Custom mode: the fields of ResNetSpec as the widgets hold them.
    block: str = "bottleneck"
    layers: str = "3, 4, 6, 3"
    widths: str = "64, 128, 256, 512"
    stem: str = "imagenet"
    shortcut: str = "B"
    version: str = "V1.5"
    preact: bool = False
    groups: int = 1
    width_per_group: int = 64
    batch_norm: bool = True
    avg_down: bool = False
    se: bool = False
    # Checkpoint mode: the network read from the checkpoint this session opened, if any.
    checkpoint_spec: ResNetSpec | None = None
    # Every mode.
    skip: bool = True
    channels: int | None = None
    height: int | None = None
    width: int | None = None
    classes: int | None = None


def parse_int_list(text: str, what: str) -> tuple[int, ...]:
    """``"3, 4, 6, 3"`` -> ``(3, 4, 6, 3)``; commas or spaces separate the numbers."""
    parts = text.replace(",", " ").split()
    if not parts:
        raise SpecError(f"{what}: give one whole number per stage, e.g. 3, 4, 6, 3.")
    numbers = []
    for part in parts:
        try:
            numbers.append(int(part))
        except ValueError:
            raise SpecError(f"{what}: {part!r} is not a whole number.") from None
    return tuple(numbers)


def format_int_list(numbers: tuple[int, ...]) -> str:
    return ", ".join(str(n) for n in numbers)


def base_spec(choice: NetworkChoice) -> ResNetSpec:
    """The spec the mode describes, before the every-mode overrides."""
    if choice.mode == "preset":
        return preset(choice.preset)
    if choice.mode == "depth":
        return spec_for_depth(choice.depth, choice.family)  # type: ignore[arg-type]
    if choice.mode == "custom":
        if choice.version not in VERSIONS:
            raise SpecError(f"Version must be V1 or V1.5; got {choice.version!r}.")
        bottleneck = choice.block == "bottleneck"
        return ResNetSpec(
            block=choice.block,  # type: ignore[arg-type]
            layers=parse_int_list(choice.layers, "Blocks per stage"),
            widths=parse_int_list(choice.widths, "Widths"),
            stem=choice.stem,  # type: ignore[arg-type]
            shortcut=choice.shortcut,  # type: ignore[arg-type]
            stride_in_1x1=VERSIONS[choice.version] if bottleneck else False,
            preact=choice.preact,
            groups=choice.groups if bottleneck else 1,
            width_per_group=choice.width_per_group if bottleneck else 64,
            batch_norm=choice.batch_norm,
            avg_down=choice.avg_down and choice.shortcut != "A",
            se=choice.se,
        )
    if choice.mode == "checkpoint":
        if choice.checkpoint_spec is None:
            raise SpecError(
                "No checkpoint is open yet: upload a .pt/.pth file under 'Open a checkpoint'."
            )
        return choice.checkpoint_spec
    raise SpecError(f"Unknown mode {choice.mode!r}: choose one of {', '.join(MODES)}.")


def resolve(choice: NetworkChoice) -> tuple[ResNetSpec, tuple[int, int, int]]:
    """The chosen network and input size (C, H, W). Raises SpecError with a human message."""
    spec = base_spec(choice)
    overrides: dict[str, object] = {"skip": choice.skip}
    if choice.channels is not None:
        overrides["in_channels"] = choice.channels
    if choice.classes is not None:
        overrides["num_classes"] = choice.classes
    spec = dataclasses.replace(spec, **overrides)
    _, default_h, default_w = default_input_size(spec)
    height = default_h if choice.height is None else choice.height
    width = default_w if choice.width is None else choice.width
    return spec, (spec.in_channels, height, width)


def custom_fields(spec: ResNetSpec) -> dict[str, object]:
    """The custom-mode field values that reproduce ``spec`` (to start editing from a preset)."""
    return {
        "block": spec.block,
        "layers": format_int_list(spec.layers),
        "widths": format_int_list(spec.widths),
        "stem": spec.stem,
        "shortcut": spec.shortcut,
        "version": "V1" if spec.stride_in_1x1 else "V1.5",
        "preact": spec.preact,
        "groups": spec.groups,
        "width_per_group": spec.width_per_group,
        "batch_norm": spec.batch_norm,
        "avg_down": spec.avg_down,
        "se": spec.se,
    }


def _folded(text: str) -> str:
    """How a typed value is compared: case and spaces ignored."""
    return text.lower().replace(" ", "")


def _aliases(labels: dict[str, str]) -> dict[str, str]:
    """Folded value or label -> the label the URL holds."""
    return {_folded(k): v for key, v in labels.items() for k in (key, v)}


def _url_aliases() -> dict[str, dict[str, str]]:
    presets = {p.name: p.label for p in PRESETS.values()}
    same = {"true": "true", "false": "false", "1": "true", "0": "false", "yes": "true",
            "no": "false", "on": "true", "off": "false"}  # fmt: skip
    toggles = dict.fromkeys(("skip", "preact", "bn", "avgdown", "se"), same)
    return {
        "mode": _aliases(MODE_LABELS),
        "family": _aliases(FAMILY_LABELS),
        "preset": {
            **_aliases(presets),
            **{v.lower().replace(" ", ""): v for v in presets.values()},
        },
        "shortcut": _aliases(SHORTCUT_LABELS),
        "stem": {s: s for s in STEM_TYPES},
        "block": {b: b for b in BLOCK_TYPES},
        "version": {v.lower(): v for v in VERSIONS},
        **toggles,
    }


def canonical_query(params: Mapping[str, str]) -> dict[str, str]:
    """The URL parameters a hand-typed link needs rewritten to what the controls read.

    People type ``?mode=depth&family=cifar&depth=1202`` or ``?preset=resnet50``; the bound
    selectors read and write their labels (``mode=Depth``, ``preset=ResNet-50``). Each known
    value, raw or label, in any letter case, maps to the label; returns only the parameters
    that change (unknown values are left for the page to report)."""
    aliases = _url_aliases()
    changes = {}
    for key, value in params.items():
        table = aliases.get(key)
        if table is None or not isinstance(value, str):
            continue
        canonical = table.get(_folded(value))
        if canonical is not None and canonical != value:
            changes[key] = canonical
    return changes
