"""From what the controls say to a network: plain values in, a spec and an input size out.

The pages' widgets (and the URL's query parameters, which mirror them) produce a
:class:`NetworkChoice`; :func:`resolve` turns it into a :class:`ResNetSpec` and an input size or
raises :class:`SpecError` with a message for the page. Keeping this out of the widgets makes it
testable without Streamlit and shared by every page that lets the user pick a network.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.presets import PRESETS, preset, spec_for_depth
from ..core.spec import (
    BLOCK_TYPES,
    MAX_CLASSES,
    MAX_IN_CHANNELS,
    STEM_TYPES,
    ResNetSpec,
    SpecError,
    default_input_size,
)
from ..core.summary import MAX_INPUT_SIDE

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


@functools.cache  # constant; read on every rerun of every page with network controls
def _url_aliases() -> dict[str, dict[str, str]]:
    """Per URL parameter: every spelling a link may use (folded) -> the label the URL holds.
    Shared by every caller: read it, never change it."""
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


# What a link may hold --------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberParam:
    """A whole-number control bound to a URL parameter: its bounds, and what is used when the
    link's value is dropped (``None``: the field of :class:`NetworkChoice` named ``field``)."""

    what: str
    low: int
    high: int
    field: str
    modes: tuple[str, ...] | None = None  # drawn only in these modes; None: in every mode


#: Every number control of :func:`resnet_viz.ui.network_controls.network_controls`, by URL key.
NUMBER_PARAMS: dict[str, NumberParam] = {
    "depth": NumberParam("depth", 1, 20_000, "depth", ("depth",)),
    "channels": NumberParam("input channels", 1, MAX_IN_CHANNELS, "channels"),
    "h": NumberParam("height", 1, MAX_INPUT_SIDE, "height"),
    "w": NumberParam("width", 1, MAX_INPUT_SIDE, "width"),
    "classes": NumberParam("classes", 1, MAX_CLASSES, "classes"),
    "groups": NumberParam("groups", 1, 1024, "groups", ("custom",)),
    "wpg": NumberParam("width per group", 1, 4096, "width_per_group", ("custom",)),
}
#: Where a number control without a value leaves the network's own setting.
_OWN_DEFAULT = {
    "channels": "the network's own input channels are used",
    "height": "the network's own input height is used",
    "width": "the network's own input width is used",
    "classes": "the network's own number of classes is used",
}
#: On/off controls by URL key: (what they are, NetworkChoice field, modes drawn in).
TOGGLE_PARAMS: dict[str, tuple[str, str, tuple[str, ...] | None]] = {
    "skip": ("skip connections", "skip", None),
    "preact": ("pre-activation", "preact", ("custom",)),
    "bn": ("batch normalisation", "batch_norm", ("custom",)),
    "avgdown": ("average-pool shortcuts", "avg_down", ("custom",)),
    "se": ("squeeze-and-excitation", "se", ("custom",)),
}


def _selectors(defaults: NetworkChoice) -> dict[str, tuple[str, dict[str, str], str, tuple | None]]:
    """Menus by URL key: (what they are, value -> label, the label shown instead, modes)."""
    presets = {name: p.label for name, p in PRESETS.items()}
    return {
        "mode": ("mode", MODE_LABELS, MODE_LABELS[defaults.mode], None),
        "preset": ("preset", presets, presets[defaults.preset], ("preset",)),
        "family": ("family", FAMILY_LABELS, FAMILY_LABELS[defaults.family], ("depth",)),
        "block": ("block", {b: b for b in BLOCK_TYPES}, defaults.block, ("custom",)),
        "stem": ("stem", {s: s for s in STEM_TYPES}, defaults.stem, ("custom",)),
        "shortcut": (
            "shortcut option", SHORTCUT_LABELS, SHORTCUT_LABELS[defaults.shortcut], ("custom",),
        ),
        "version": ("stride placement", {v: v for v in VERSIONS}, defaults.version, ("custom",)),
    }  # fmt: skip


def ignored_link_values(
    params: Mapping[str, str],
    defaults: NetworkChoice = NetworkChoice(),  # frozen: one shared default is safe
    *,
    show_skip: bool = True,
    page_options: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, str]:
    """The link's values that the network controls will not use, each with why and what is
    used instead: ``{"preset": "preset 'resnet9999' is not a preset this app knows; showing
    ResNet-50.", "h": "height -5 is below 1, the least this app takes; ..."}``.

    It decides as the bound widgets do (Streamlit 1.67): a menu takes one of its labels (a
    hand-typed short value such as ``resnet50`` is first rewritten by :func:`canonical_query`),
    an on/off control ``true`` or ``false`` in any case, a number control any number Python's
    ``float`` reads, cut to a whole number, within its bounds (a fraction is cut, not dropped:
    its entry says so but the key is not in :func:`dropped_keys`). Controls the mode does not
    draw are left out (their values do nothing). ``page_options`` are the page's own menus:
    ``{"tab": ["Stages", ...]}``, the first option being the one shown instead.
    """
    aliases = _url_aliases()
    notes: dict[str, str] = {}
    selectors = _selectors(defaults)

    def known(key: str, value: str, labels: Sequence[str]) -> bool:
        return value in labels or aliases.get(key, {}).get(_folded(value)) in labels

    mode_text = params.get("mode")
    mode = defaults.mode
    if mode_text:
        by_label = {label: name for name, label in MODE_LABELS.items()}
        label = mode_text if mode_text in by_label else aliases["mode"].get(_folded(mode_text))
        mode = by_label.get(label or "", defaults.mode)

    def drawn(modes: tuple[str, ...] | None) -> bool:
        return modes is None or mode in modes

    for key, (what, labels, instead, modes) in selectors.items():
        value = params.get(key)
        if value and drawn(modes) and not known(key, value, list(labels.values())):
            kind = "a preset this app knows" if key == "preset" else _one_of(labels.values())
            notes[key] = f"{what} {value!r} is not {kind}; showing {instead}."
    for key, options in (page_options or {}).items():
        value = params.get(key)
        if value and value not in options:
            notes[key] = f"{key} {value!r} is not {_one_of(options)}; showing {options[0]}."
    for key, (what, field, modes) in TOGGLE_PARAMS.items():
        value = params.get(key) or ""
        if key == "skip" and not show_skip:
            continue
        readable = value.lower() in ("true", "false") or known(key, value, ["true", "false"])
        if value and drawn(modes) and not readable:
            state = "on" if getattr(defaults, field) else "off"
            notes[key] = f"{what} {value!r} is neither true nor false; left {state}."
    for key, number in NUMBER_PARAMS.items():
        value = params.get(key)
        if value and drawn(number.modes):
            note = _number_note(number, value, defaults)
            if note:
                notes[key] = note
    return notes


def dropped_keys(notes: Mapping[str, str], params: Mapping[str, str]) -> list[str]:
    """The keys of ``notes`` whose value the controls drop (not those whose fraction is cut):
    the page removes them from the URL before drawing the controls."""
    return [key for key in notes if not _cut(key, params[key])]


def _cut(key: str, text: str) -> bool:
    """A number control's value the widget keeps, cut to a whole number."""
    number = NUMBER_PARAMS.get(key)
    whole = _whole(text)
    return number is not None and whole is not None and number.low <= whole <= number.high


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _whole(text: str) -> int | None:
    """A number control's reading of ``text``: ``float`` then cut to a whole number; None for
    what it cannot read (not a number, infinite or not a number at all)."""
    if not _is_float(text):
        return None
    value = float(text)
    return int(value) if math.isfinite(value) else None


def _number_note(number: NumberParam, text: str, defaults: NetworkChoice) -> str | None:
    default = getattr(defaults, number.field)
    instead = _OWN_DEFAULT[number.field] if default is None else f"{number.what} {default} is used"
    whole = _whole(text)
    if whole is None:
        kind = "a finite number" if _is_float(text) else "a number"
        return f"{number.what} {text!r} is not {kind}; {instead}."
    if whole < number.low:
        return f"{number.what} {text} is below {number.low}, the least this app takes; {instead}."
    if whole > number.high:
        return f"{number.what} {text} is above {number.high:,}, the most this app takes; {instead}."
    if whole != float(text):
        return f"{number.what} {text} is not a whole number; {whole} is used."
    return None


#: A menu with at most this many options has them all named in :func:`unknown_menu_value`'s
#: note; a longer one, its first and last.
LISTED_CHOICES = 4


def unknown_menu_value(
    what: str, value: str, options: Sequence[object], instead: object
) -> str | None:
    """What a page says when a link's value for a menu is none of its options (the menu
    then drops it silently and shows ``instead``); ``None`` when the value is an option. The
    URL holds an option as its text, so ``"56"`` is the option ``56``."""
    names = [str(o) for o in options]
    if value in names:
        return None
    listed = ", ".join(names) if len(names) <= LISTED_CHOICES else f"{names[0]} to {names[-1]}"
    return (
        f"The link asks for {what} “{value}”, which is not one of the choices here ({listed}): "
        f"showing {instead}."
    )


def _one_of(options: object) -> str:
    names = [str(o) for o in options]  # type: ignore[attr-defined]
    return "one of " + ", ".join(names)
