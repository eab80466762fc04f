"""Safe decoding of uploaded image bytes, and the ImageNet preprocessing.

Students upload files through the browser; the uploader's ``type=`` filter only looks at the
file *name*, so every byte here is untrusted. :func:`load_image` turns bytes into a plain RGB
:class:`PIL.Image.Image` or raises :class:`ImageError` with a sentence a student can act on.
It never lets another exception type escape for any input (one deliberate exception: a
:class:`RuntimeError` when the process is misconfigured, see :func:`load_image`).

Defences, in the order they run:

1. a byte-size limit (``max_bytes``) before anything is parsed;
2. an allow-list of formats passed to ``Image.open(formats=...)``, so Pillow's rarer plugins
   (EPS, PSD, ICO, XBM, ...) never see the bytes;
3. a size check on the *header* (``im.size`` right after ``Image.open``, which is lazy), before
   a single pixel is decoded. Pillow's own guard only *warns* (``DecompressionBombWarning``)
   between ``Image.MAX_IMAGE_PIXELS`` (about 89.5 MP) and twice that, and a 10,000 x 10,000 PNG
   is 12 KB on disk, so that warning is also turned into an error while the header is read,
   with ``warnings.simplefilter("error", Image.DecompressionBombWarning)`` as the Pillow docs
   suggest (``PIL.Image.open``, https://pillow.readthedocs.io/en/stable/reference/Image.html).
   ``Image.MAX_IMAGE_PIXELS`` itself is left alone: it is process-wide;
4. strict truncation: ``ImageFile.LOAD_TRUNCATED_IMAGES`` must be ``False`` (Pillow's default),
   so a PNG or JPEG cut in half raises instead of coming back half grey.

:func:`preprocess` is torchvision's ImageNet evaluation transform
(``torchvision.transforms._presets.ImageClassification``, the object that
``ResNet50_Weights.IMAGENET1K_V1.transforms()`` returns); the tests check that the two agree
bit for bit. :func:`center_crop_for_display` returns the same crop as a PIL image so that an
overlay drawn on it lines up with what the model saw.

This module does not import streamlit.
"""

from __future__ import annotations

import contextlib
import io
import math
import string
import threading
import warnings
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from PIL import Image, ImageFile, ImageOps
from torchvision.transforms.v2 import functional as F  # noqa: N812 (torchvision convention)

from ..errors import ImageError

MAX_BYTES = 25_000_000
"""Largest upload accepted, in bytes (25 MB). A 40-megapixel JPEG from a camera is 10 to 20 MB;
anything bigger is not a photo a student took, and refusing it before parsing bounds the work."""

MAX_PIXELS = 40_000_000
"""Largest image accepted, in pixels (40 MP). Phones save 12 to 24 MP photos and most cameras
stay at or below 40 MP. Decoded RGB takes 3 to 4 bytes a pixel in Pillow, so the limit caps one
upload at about 160 MB of pixels, and twice that while a mode is being converted. It is well
below Pillow's own ``Image.MAX_IMAGE_PIXELS`` (89.5 MP), which only warns."""

MAX_SIDE = 12_000
"""Longest side accepted, in pixels. The pixel budget alone would let through a 1 x 40,000,000
strip; no real photo has a side this long (a 100 MP medium-format sensor is 11,648 x 8,736)."""

MAX_ASPECT = 20
"""Most elongated image accepted (long side / short side). Resizing the *shorter* side to 256
multiplies the longer one by the same factor: a 1 x 12,000 image (within both limits above)
would become 256 x 3,072,000 pixels, 3 GB, before the 224 x 224 centre crop. At 20:1 that
intermediate is at most 256 x 5,120; phone panoramas are about 4:1 to 8:1."""

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
"""Pillow format identifiers handed to ``Image.open(formats=...)``. A camera's multi-picture
JPEG (MPO) opens through the JPEG plugin and is accepted as a JPEG (first picture)."""

ACCEPTED_NAMES = "a JPEG, PNG, WebP, GIF, BMP or TIFF image"

# Per-channel ImageNet statistics used by every torchvision classification weight
# (the defaults of torchvision.transforms._presets.ImageClassification).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_BILINEAR = F.InterpolationMode.BILINEAR

# warnings.catch_warnings() replaces the *process-wide* filter list and "is not thread-safe"
# (Python docs, warnings.catch_warnings; CPython #50896; only 3.14's opt-in context-aware
# warnings change that). Streamlit runs each session in its own thread, so our own uses are
# serialised and kept short: header parsing only, never pixel decoding.
_WARNINGS_LOCK = threading.Lock()


# --------------------------------------------------------------------------------------------
# Sniffing what a refused file probably is
# --------------------------------------------------------------------------------------------

# (offset, magic bytes, description, is one of ACCEPTED_FORMATS)
_SIGNATURES: tuple[tuple[int, bytes, str, bool], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image", True),
    (0, b"\xff\xd8\xff", "a JPEG image", True),
    (0, b"GIF87a", "a GIF image", True),
    (0, b"GIF89a", "a GIF image", True),
    (8, b"WEBP", "a WebP image", True),  # after b"RIFF" and a 4-byte length
    (0, b"BM", "a BMP image", True),
    (0, b"II*\x00", "a TIFF image", True),
    (0, b"MM\x00*", "a TIFF image", True),
    (0, b"%PDF-", "a PDF document", False),
    (0, b"PK\x03\x04", "a ZIP archive (such as .zip, .docx or a PyTorch .pt file)", False),
    (0, b"PK\x05\x06", "a ZIP archive", False),
    (0, b"\x1f\x8b", "a gzip-compressed file", False),
    (0, b"\x93NUMPY", "a NumPy array file (.npy)", False),
    (0, b"%!PS", "a PostScript or EPS file", False),
    (0, b"\xc5\xd0\xd3\xc6", "a PostScript or EPS file", False),
    (0, b"8BPS", "a Photoshop document (PSD)", False),
    (0, b"\x00\x00\x01\x00", "a Windows icon (ICO)", False),
    (0, b"\x00\x00\x02\x00", "a Windows cursor (CUR)", False),
    (0, b"icns", "a macOS icon (ICNS)", False),
    (0, b"qoif", "a QOI image", False),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image", False),
    (0, b"\xff\x4f\xff\x51", "a JPEG 2000 image", False),
    (4, b"ftypavif", "an AVIF image", False),
    (4, b"ftypheic", "a HEIC photo (the iPhone format)", False),
    (4, b"ftypheix", "a HEIC photo (the iPhone format)", False),
    (4, b"ftypmif1", "a HEIF image", False),
)

_TEXT_CHARACTERS = frozenset(string.whitespace)


def describe_format(data: bytes) -> str | None:
    """Guess from its first bytes what a file is, as a phrase ("a PDF document").

    Used only to make :class:`ImageError` messages helpful ("This file is not an image this app
    can read (it looks like a PDF document)"). Returns ``None`` when nothing is recognised.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        return None
    head = bytes(data[:1024])
    for offset, magic, description, _accepted in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return description
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle"
    text = _as_text(head)
    if text is None:
        return None
    return _describe_text(text)


def _as_text(head: bytes) -> str | None:
    """The UTF-8 text of ``head`` if it reads as printable text, else ``None``."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the 1 KB window is still text.
        if exc.start < len(head) - 3:
            return None
        text = head[: exc.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    if not text or not all(c.isprintable() or c in _TEXT_CHARACTERS for c in text):
        return None
    return text


def _describe_text(text: str) -> str:
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")) or "<html" in lowered:
        return "an HTML page"
    if "<svg" in lowered:
        return "an SVG drawing"
    if lowered.startswith("<?xml"):
        return "an XML document"
    return "plain text"


def _looks_accepted(data: bytes) -> str | None:
    """The description if ``data`` starts like one of the accepted formats, else ``None``."""
    for offset, magic, description, accepted in _SIGNATURES:
        if accepted and data[offset : offset + len(magic)] == magic:
            return description
    return None


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.4g}"  # 100, 48, 40.01, 0.005


def _megabytes(size: int) -> str:
    return f"{math.ceil(size / 1e5) / 10:g}"  # rounded up: a file just over 25 MB says 25.1


def _too_many_pixels(size: tuple[int, int] | None, limit: int) -> str:
    if size is None:  # Pillow refused even to report the size: more than 2 x its limit
        too_many = 2 * (Image.MAX_IMAGE_PIXELS or 0)
        return (
            f"This image has more than {_megapixels(too_many)} megapixels; "
            f"the limit is {_megapixels(limit)} megapixels."
        )
    width, height = size
    return (
        f"This image is {width:,} x {height:,} pixels ({_megapixels(width * height)} "
        f"megapixels); the limit is {_megapixels(limit)} megapixels."
    )


def _unreadable(data: bytes) -> str:
    accepted = _looks_accepted(data)
    if accepted is not None:
        return (
            f"This file starts like {accepted} but is truncated or corrupt, so it cannot be read."
        )
    what = describe_format(data)
    looks = f" (it looks like {what})" if what else ""
    return f"This file is not an image this app can read{looks}. Please upload {ACCEPTED_NAMES}."


def _corrupt(exc: BaseException) -> str:
    """Pillow's reason, shortened and restricted to printable ASCII (never raw file bytes)."""
    reason = "".join(c for c in str(exc) if c in string.printable and c not in "\r\n\t\x0b\x0c")
    reason = reason[:120] or type(exc).__name__
    return f"This image is truncated or corrupt: {reason}."


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


def load_image(
    data: bytes,
    *,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    max_bytes: int = MAX_BYTES,
    max_aspect: float = MAX_ASPECT,
) -> Image.Image:
    """Decode untrusted ``data`` into a fully loaded RGB image.

    Accepts the formats in :data:`ACCEPTED_FORMATS` (first frame of an animation or first page
    of a TIFF), applies the EXIF orientation (``ImageOps.exif_transpose``), and converts every
    colour mode to 8-bit RGB with :func:`to_rgb` (alpha composited on white, 16-bit scaled).
    The result is a new image with no file behind it and no metadata (``info`` is empty).

    Raises:
        ImageError: for anything that is not a readable, reasonably sized image in an accepted
            format; ``str(error)`` is a sentence for the student. The original exception, if
            any, is chained as ``__cause__`` for the server log.
        RuntimeError: if ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` has been set to ``True``
            somewhere in the process: truncated uploads could then not be detected. This is a
            server bug, not a bad upload.
    """
    data = _as_bytes(data)
    if len(data) > max_bytes:
        raise ImageError(
            f"This file is {_megabytes(len(data))} MB; the limit is {max_bytes / 1e6:g} MB."
        )
    _require_strict_truncation()
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    image = _open(data, limit)
    try:
        _check_size(image.size, max_pixels=max_pixels, max_side=max_side, max_aspect=max_aspect)
        upright = _decode(image)
    finally:
        image.close()
    rgb = _convert(upright)
    rgb.info.clear()
    return rgb


def _as_bytes(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ImageError(f"Expected the bytes of an uploaded file, got {type(data).__name__}.")
    data = bytes(data)
    if not data:
        raise ImageError("This file is empty.")
    return data


def _require_strict_truncation() -> None:
    """Refuse to decode if someone in the process asked Pillow to pad truncated images.

    With ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` Pillow fills the missing part of a cut
    file with grey and returns success; there is no per-call override, so we check the global.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True in this process; "
            "resnet_viz.data.images.load_image needs it False to detect truncated uploads."
        )


@contextlib.contextmanager
def _bomb_warnings(action: str) -> Iterator[None]:
    """Apply ``action`` ("error" or "ignore") to Pillow's DecompressionBombWarning in a block."""
    with _WARNINGS_LOCK, warnings.catch_warnings():
        warnings.simplefilter(action, Image.DecompressionBombWarning)
        yield


def _open(data: bytes, pixel_limit: int) -> ImageFile.ImageFile:
    """``Image.open`` restricted to the accepted formats; reads the header, not the pixels."""
    try:
        with _bomb_warnings("error"):
            return Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageError(_too_many_pixels(_header_size(data), pixel_limit)) from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageError(_unreadable(data)) from exc
    except MemoryError as exc:
        raise ImageError("This image is too large to open on this server.") from exc
    except Exception as exc:  # any Pillow parser error: OSError, SyntaxError, struct.error, ...
        raise ImageError(_corrupt(exc)) from exc


def _header_size(data: bytes) -> tuple[int, int] | None:
    """The size a header declares, for the error message only (None if Pillow won't say)."""
    try:
        with _bomb_warnings("ignore"), Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as im:
            return im.size
    except Exception:  # DecompressionBombError past 2 x MAX_IMAGE_PIXELS raises regardless
        return None


def _check_size(
    size: tuple[int, int], *, max_pixels: int, max_side: int, max_aspect: float
) -> None:
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(f"This image is {width:,} x {height:,} pixels: it has no pixels.")
    if max(width, height) > max_side:
        raise ImageError(
            f"This image is {width:,} x {height:,} pixels; "
            f"no side may be longer than {max_side:,} pixels."
        )
    if width * height > max_pixels:
        raise ImageError(_too_many_pixels(size, max_pixels))
    _check_aspect(size, max_aspect)


def _check_aspect(size: tuple[int, int], max_aspect: float) -> None:
    width, height = size
    if max(width, height) > max_aspect * max(1, min(width, height)):
        raise ImageError(
            f"This image is {width:,} x {height:,} pixels: too elongated to resize and crop "
            f"for the model (the long side may be at most {max_aspect:g} times the short side)."
        )


def _decode(image: ImageFile.ImageFile) -> Image.Image:
    """Decode the pixels (strictly) and apply the EXIF orientation."""
    try:
        image.load()
        return ImageOps.exif_transpose(image)
    except MemoryError as exc:
        raise ImageError("This image is too large to decode on this server.") from exc
    except Exception as exc:  # OSError("image file is truncated"), SyntaxError, EOFError, ...
        raise ImageError(_corrupt(exc)) from exc


def _convert(image: Image.Image) -> Image.Image:
    try:
        return to_rgb(image)
    except MemoryError as exc:
        raise ImageError("This image is too large to convert on this server.") from exc
    except Exception as exc:
        raise ImageError(
            f"This image uses a colour mode this app cannot convert ({image.mode})."
        ) from exc


# --------------------------------------------------------------------------------------------
# Colour modes
# --------------------------------------------------------------------------------------------

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_NO_NOMINAL_RANGE_MODES = frozenset({"I", "F"})


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit ``"RGB"``; always returns a new image.

    * transparency (an alpha band, a palette with transparent entries, or a ``transparency``
      colour key) is composited on white, as a browser shows it on a white page;
    * 16-bit grey (``"I;16"``, from 16-bit PNG and TIFF) is scaled by 255/65535 with rounding,
      so 65535 -> 255 and 32768 -> 128. Pillow's own ``convert("L")`` *clips* instead
      (32768 -> 255). (16-bit RGB PNG/TIFF already arrive as 8-bit ``"RGB"``: Pillow keeps the
      high byte.);
    * 32-bit integer (``"I"``) and float (``"F"``) grey have no nominal range, so their finite
      minimum..maximum is stretched to 0..255, as ImageJ displays 32-bit data (NaN -> black);
    * everything else (``"1"``, ``"L"``, ``"P"``, ``"CMYK"``, ``"YCbCr"``, ``"LAB"``, ...)
      uses Pillow's ``convert("RGB")``. CMYK uses Pillow's naive formula (no ICC profile), as
      torchvision's pretrained weights saw ImageNet decoded by Pillow without colour management.
    """
    if image.mode in _SIXTEEN_BIT_MODES or image.mode in _NO_NOMINAL_RANGE_MODES:
        image = _grey_to_8bit(image)
    elif image.mode == "La":  # premultiplied; Pillow 13 cannot convert "La" to "RGBA" directly
        image = image.convert("LA")
    if image.has_transparency_data:
        return _composite_on_white(image)
    return image.convert("RGB")


def _grey_to_8bit(image: Image.Image) -> Image.Image:
    """``"I;16*"``, ``"I"`` or ``"F"`` -> ``"L"`` (or ``"LA"`` when a colour key is set)."""
    values = np.asarray(image)
    if image.mode in _SIXTEEN_BIT_MODES:
        # round(v * 255 / 65535) == round(v / 257); 257 is odd, so there are no ties.
        grey = ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)
    else:
        grey = _stretch_to_8bit(values)
    result = Image.fromarray(grey)
    key = image.info.get("transparency")
    if isinstance(key, int | float):  # e.g. a 16-bit PNG's tRNS grey level
        alpha = np.where(values == key, 0, 255).astype(np.uint8)
        result = Image.merge("LA", (result, Image.fromarray(alpha)))
    return result


def _stretch_to_8bit(values: np.ndarray) -> np.ndarray:
    values = values.astype(np.float32)
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(values.shape, dtype=np.uint8)
    low = float(values[finite].min())
    high = float(values[finite].max())
    values = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
    if high == low:  # a flat image: keep its value if it is a valid 8-bit level
        return np.full(values.shape, min(max(round(low), 0), 255), dtype=np.uint8)
    scaled = (values - low) * (255.0 / (high - low))
    return np.rint(scaled).clip(0, 255).astype(np.uint8)


def _composite_on_white(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


# --------------------------------------------------------------------------------------------
# Preprocessing
# --------------------------------------------------------------------------------------------


def center_crop_for_display(
    image: Image.Image, *, size: int = 224, resize: int | None = 256
) -> Image.Image:
    """The RGB image exactly as the model sees it, before normalisation.

    With ``resize`` set: the shorter side is resized to ``resize`` (bilinear, antialiased; the
    longer side is floored as torchvision does), then the centre ``size`` x ``size`` square is
    cropped. With ``resize=None`` the whole image is squashed to ``size`` x ``size`` (the small
    demo models). Draw overlays on this image so they line up with the model's input.

    Raises:
        ImageError: if the image is more than :data:`MAX_ASPECT` times longer than wide (or the
            reverse) and ``resize`` is set: the intermediate image would not fit in memory.
        ValueError: for a non-positive ``size`` or a ``resize`` smaller than ``size``.
    """
    _check_transform_args(size, resize)
    rgb = image if image.mode == "RGB" else to_rgb(image)
    if resize is None:
        return F.resize(rgb, [size, size], interpolation=_BILINEAR, antialias=True)
    _check_aspect(rgb.size, MAX_ASPECT)
    resized = F.resize(rgb, [resize], interpolation=_BILINEAR, antialias=True)
    return F.center_crop(resized, [size])


def preprocess(
    image: Image.Image,
    *,
    size: int = 224,
    resize: int | None = 256,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> torch.Tensor:
    """The torchvision ImageNet evaluation transform: a ``(1, 3, size, size)`` float32 batch.

    Resize the shorter side to ``resize`` (bilinear, antialiased), centre-crop ``size``, scale
    to [0, 1], normalise with ``mean``/``std``. This is what
    ``ResNet50_Weights.IMAGENET1K_V1.transforms()`` does (``resize=256``); the V2 weights use
    ``resize=232`` (torchvision ``models/resnet.py``, ``ImageClassification(crop_size=224,
    resize_size=232)``). ``resize=None`` squashes the whole image to ``size`` x ``size``.
    Non-RGB images go through :func:`to_rgb` first. Errors: as :func:`center_crop_for_display`.
    """
    crop = center_crop_for_display(image, size=size, resize=resize)
    # Divide by 255 as torchvision's v1 convert_image_dtype does: v2 to_dtype(scale=True)
    # multiplies by 1/255 instead, which differs in the last bit for some values.
    pixels = F.pil_to_tensor(crop).to(torch.float32).div(255)
    return F.normalize(pixels, mean=list(mean), std=list(std)).unsqueeze(0)


def _check_transform_args(size: int, resize: int | None) -> None:
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    if resize is not None and resize < size:
        raise ValueError(f"resize ({resize}) must be at least size ({size}), or None")
