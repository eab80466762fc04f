"""Tests for resnet_viz.data.images: safe decoding of untrusted bytes and ImageNet preprocessing.

Every fixture is built here, in memory, with Pillow, numpy or a few lines of PNG writing; no
binary file is committed.
"""

from __future__ import annotations

import ast
import contextlib
import gzip
import io
import pickle
import struct
import threading
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile
from torchvision.models import ResNet50_Weights
from torchvision.transforms.v2 import functional as TF  # noqa: N812 (torchvision convention)

from resnet_viz.data import images
from resnet_viz.data.images import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MAX_ASPECT,
    MAX_BYTES,
    MAX_PIXELS,
    MAX_SIDE,
    ImageError,
    center_crop_for_display,
    describe_format,
    load_image,
    preprocess,
    to_rgb,
)

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255,) * 3, (0,) * 3
NOT_AN_IMAGE = "not an image this app can read"
CORRUPT = "truncated or corrupt"


# --------------------------------------------------------------------------------------------
# Fixture factories
# --------------------------------------------------------------------------------------------


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    """``image`` saved as ``fmt`` into bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def solid(color, size=(16, 16), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def quadrants(size=32) -> Image.Image:
    """Red, green / blue, white quadrants: flat blocks survive JPEG almost exactly."""
    array = np.zeros((size, size, 3), dtype=np.uint8)
    half = size // 2
    array[:half, :half] = RED
    array[:half, half:] = GREEN
    array[half:, :half] = BLUE
    array[half:, half:] = WHITE
    return Image.fromarray(array)


def _chunk(tag: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))


def raw_png(array: np.ndarray, *, color_type: int, bit_depth: int, chunks=()) -> bytes:
    """A PNG written by hand, for what Pillow cannot save (16-bit RGB, 16-bit grey + tRNS).

    ``array`` holds big-endian samples, shape (height, width[, channels]); filter type 0.
    """
    height, width = array.shape[:2]
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    scanlines = b"".join(b"\x00" + row.tobytes() for row in array)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + b"".join(_chunk(tag, body) for tag, body in chunks)
        + _chunk(b"IDAT", zlib.compress(scanlines))
        + _chunk(b"IEND", b"")
    )


def raw_rgb16_tiff(array: np.ndarray) -> bytes:
    """A baseline little-endian TIFF with 16-bit RGB samples (Pillow cannot write one)."""
    height, width, _ = array.shape
    pixels = array.astype("<u2").tobytes()
    short, long_ = 3, 4
    entries = [  # (tag, type, count, value or offset)
        (256, long_, 1, width),
        (257, long_, 1, height),
        (258, short, 3, 134),  # BitsPerSample: three values, stored after the IFD
        (259, short, 1, 1),  # no compression
        (262, short, 1, 2),  # RGB
        (273, long_, 1, 140),  # strip offset
        (277, short, 1, 3),
        (278, long_, 1, height),
        (279, long_, 1, len(pixels)),
        (284, short, 1, 1),  # chunky
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries)
    ifd += struct.pack("<I", 0)
    assert 8 + len(ifd) == 134
    return b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<HHH", 16, 16, 16) + pixels


def blank_1bit_png(width: int, height: int) -> bytes:
    """A 1-bit all-black PNG of any size, streamed so that no pixel buffer is allocated."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


def rgb_at(image: Image.Image, xy) -> tuple[int, int, int]:
    assert image.mode == "RGB"
    return tuple(image.getpixel(xy))


def assert_near(actual, expected, tol=2):
    assert all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True)), (actual, expected)


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """A real 10,000 x 10,000 PNG written by Pillow (1-bit, optimize): about 12 KB on disk."""
    return encode(Image.new("1", (10_000, 10_000)), "PNG", optimize=True)


def forbid_pixel_decoding(monkeypatch) -> None:
    """From now on, fail the test if any image's pixels get decoded (ImageFile.load allocates
    them). Proves a refusal came from the header alone, without a timed assertion."""

    def refuse(self):
        raise AssertionError(f"pixels of a {self.size} image were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.fixture
def no_pixel_decoding(monkeypatch):
    forbid_pixel_decoding(monkeypatch)


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "kwargs", "tol"),
    [
        ("PNG", {}, 0),
        ("WEBP", {"lossless": True}, 0),
        ("BMP", {}, 0),
        ("TIFF", {}, 0),
        ("TIFF", {"compression": "tiff_lzw"}, 0),
        ("TIFF", {"compression": "tiff_adobe_deflate"}, 0),
        ("JPEG", {"quality": 95}, 4),
        ("JPEG", {"quality": 95, "progressive": True}, 4),
        ("WEBP", {"quality": 90}, 12),
        ("GIF", {}, 0),
    ],
)
def test_each_accepted_format_decodes_to_exact_rgb(fmt, kwargs, tol):
    image = load_image(encode(quadrants(), fmt, **kwargs))
    assert (image.mode, image.size) == ("RGB", (32, 32))
    for xy, color in [((4, 4), RED), ((28, 4), GREEN), ((4, 28), BLUE), ((28, 28), WHITE)]:
        assert_near(rgb_at(image, xy), color, tol)


def test_result_is_a_plain_loaded_image_detached_from_the_bytes():
    data = bytearray(encode(quadrants(), "PNG", exif=_exif(1)))
    image = load_image(data)
    data[:] = bytes(len(data))  # the caller's buffer may be reused
    assert type(image) is Image.Image  # not a lazy ImageFile with a file behind it
    assert image.info == {}
    image.load()
    image.putpixel((0, 0), BLACK)  # writable
    assert rgb_at(image, (0, 0)) == BLACK
    assert rgb_at(image, (28, 28)) == WHITE


def test_accepts_bytearray_and_memoryview():
    data = encode(solid(GREEN), "PNG")
    assert rgb_at(load_image(bytearray(data)), (0, 0)) == GREEN
    assert rgb_at(load_image(memoryview(data)), (0, 0)) == GREEN


def test_multi_picture_jpeg_from_a_camera_gives_its_first_picture():
    data = encode(solid(RED), "MPO", save_all=True, append_images=[solid(BLUE)])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert_near(rgb_at(load_image(data), (8, 8)), RED, 3)


@pytest.mark.parametrize(
    ("fmt", "kwargs"), [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})]
)
def test_animation_gives_its_first_frame(fmt, kwargs):
    data = encode(solid(RED), fmt, save_all=True, append_images=[solid(BLUE)], **kwargs)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert rgb_at(load_image(data), (8, 8)) == RED


def test_multi_page_tiff_gives_its_first_page():
    data = encode(solid(GREEN), "TIFF", save_all=True, append_images=[solid(BLUE)])
    assert rgb_at(load_image(data), (8, 8)) == GREEN


# --------------------------------------------------------------------------------------------
# Colour modes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "GIF"])
def test_bilevel_1_bit(fmt):
    image = Image.new("1", (2, 1), 0)
    image.putpixel((1, 0), 1)
    out = load_image(encode(image, fmt))
    assert (rgb_at(out, (0, 0)), rgb_at(out, (1, 0))) == (BLACK, WHITE)


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "TIFF", "WEBP", "JPEG"])
def test_grey_L(fmt):
    data = encode(solid(77, mode="L"), fmt, **({"lossless": True} if fmt == "WEBP" else {}))
    assert_near(rgb_at(load_image(data), (8, 8)), (77, 77, 77), 1)


SIXTEEN_BIT = np.array([[0, 128, 129, 257, 32768, 65535]], dtype=np.uint16)
SIXTEEN_BIT_AS_8 = [0, 0, 1, 1, 128, 255]  # round(v / 257): scaled, not clipped


@pytest.mark.parametrize(("fmt", "mode"), [("PNG", "I;16"), ("TIFF", "I;16"), ("TIFF", "I;16B")])
def test_16_bit_grey_is_scaled_not_clipped(fmt, mode):
    # Built with frombytes: Pillow's convert("I;16") -> "I;16B" clips to 255 (another quirk).
    dtype = ">u2" if mode == "I;16B" else "<u2"
    source = Image.frombytes(mode, (6, 1), SIXTEEN_BIT.astype(dtype).tobytes())
    data = encode(source, fmt)
    assert Image.open(io.BytesIO(data)).mode == mode
    out = np.asarray(load_image(data))
    assert out[0, :, 0].tolist() == SIXTEEN_BIT_AS_8
    assert (out[..., 0] == out[..., 1]).all()
    assert (out[..., 1] == out[..., 2]).all()


def test_pillow_itself_clips_16_bit_grey():
    """The quirk that _grey_to_8bit exists for: convert("L") clips I;16 to 0..255 (and so,
    surprisingly, does converting between the 16-bit modes I;16 and I;16B)."""
    sixteen = Image.fromarray(SIXTEEN_BIT)
    assert np.asarray(sixteen.convert("L"))[0].tolist() == [0, 128, 129, 255, 255, 255]
    assert np.asarray(sixteen.convert("I;16B"))[0].tolist() == [0, 128, 129, 255, 255, 255]


def test_16_bit_rgb_png():
    pixels = np.array([[[65535, 32768, 0], [257, 65280, 4660]]], dtype=">u2")
    data = raw_png(pixels, color_type=2, bit_depth=16)
    out = load_image(data)
    assert rgb_at(out, (0, 0)) == (255, 128, 0)  # Pillow keeps the high byte: v >> 8
    assert rgb_at(out, (1, 0)) == (1, 255, 18)


def test_16_bit_rgb_tiff():
    pixels = np.array([[[65535, 32768, 0], [257, 65280, 4660]]], dtype=np.uint16)
    data = raw_rgb16_tiff(pixels)
    assert Image.open(io.BytesIO(data)).mode == "RGB"
    out = load_image(data)
    assert rgb_at(out, (0, 0)) == (255, 128, 0)
    assert rgb_at(out, (1, 0)) == (1, 255, 18)


def test_16_bit_grey_png_with_a_transparent_grey_level():
    pixels = np.array([[1000, 65535]], dtype=">u2")
    data = raw_png(pixels, color_type=0, bit_depth=16, chunks=[(b"tRNS", struct.pack(">H", 1000))])
    out = load_image(data)
    assert (rgb_at(out, (0, 0)), rgb_at(out, (1, 0))) == (WHITE, WHITE)
    data = raw_png(pixels[:, ::-1], color_type=0, bit_depth=16, chunks=[(b"tRNS", b"\xff\xff")])
    assert (rgb_at(load_image(data), (0, 0)), rgb_at(load_image(data), (1, 0))) == (WHITE, (4,) * 3)


def test_32_bit_integer_grey_is_stretched():
    data = encode(Image.fromarray(np.array([[-1000, 0, 1000]], dtype=np.int32)), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "I"
    assert np.asarray(load_image(data))[0, :, 0].tolist() == [0, 128, 255]


def test_float_grey_is_stretched_and_nan_is_black():
    values = np.array([[0.0, 0.25, 1.0, np.nan, np.inf]], dtype=np.float32)
    data = encode(Image.fromarray(values), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "F"
    assert np.asarray(load_image(data))[0, :, 0].tolist() == [0, 64, 255, 0, 255]


def test_flat_high_bit_depth_images_keep_a_valid_level():
    flat = Image.fromarray(np.full((2, 2), 200, dtype=np.int32))
    assert rgb_at(to_rgb(flat), (0, 0)) == (200, 200, 200)
    nan = Image.fromarray(np.full((2, 2), np.nan, dtype=np.float32))
    assert rgb_at(to_rgb(nan), (0, 0)) == BLACK


def _palette_image() -> Image.Image:
    image = Image.new("P", (3, 1))
    image.putpalette([*RED, *GREEN, *BLUE])
    for x in range(3):
        image.putpixel((x, 0), x)
    return image


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "BMP", "TIFF"])
def test_palette(fmt):
    out = load_image(encode(_palette_image(), fmt))
    assert [rgb_at(out, (x, 0)) for x in range(3)] == [RED, GREEN, BLUE]


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_a_transparent_index_is_white(fmt):
    data = encode(_palette_image(), fmt, transparency=1)
    out = load_image(data)
    assert [rgb_at(out, (x, 0)) for x in range(3)] == [RED, WHITE, BLUE]


def test_palette_with_per_entry_alpha_png():
    data = encode(_palette_image(), "PNG", transparency=bytes([255, 0, 128]))
    out = load_image(data)
    assert rgb_at(out, (0, 0)) == RED
    assert rgb_at(out, (1, 0)) == WHITE
    assert_near(rgb_at(out, (2, 0)), (127, 127, 255), 1)


def test_palette_with_alpha_PA_tiff():
    image = Image.new("PA", (2, 1))
    image.putpalette([*RED, *BLUE])
    image.putpixel((0, 0), (0, 0))
    image.putpixel((1, 0), (1, 255))
    data = encode(image, "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "PA"
    out = load_image(data)
    assert (rgb_at(out, (0, 0)), rgb_at(out, (1, 0))) == (WHITE, BLUE)


@pytest.mark.parametrize(
    ("fmt", "kwargs"), [("PNG", {}), ("TIFF", {}), ("WEBP", {"lossless": True, "exact": True})]
)
def test_rgba_is_composited_on_white(fmt, kwargs):
    image = Image.new("RGBA", (4, 1))
    for x, pixel in enumerate([(255, 0, 0, 0), (255, 0, 0, 128), (0, 0, 255, 255), (0, 0, 0, 64)]):
        image.putpixel((x, 0), pixel)
    out = load_image(encode(image, fmt, **kwargs))
    assert rgb_at(out, (0, 0)) == WHITE  # fully transparent: the colour does not matter
    assert_near(rgb_at(out, (1, 0)), (255, 128, 128), 1)  # half-transparent red
    assert rgb_at(out, (2, 0)) == BLUE
    assert_near(rgb_at(out, (3, 0)), (191, 191, 191), 1)  # a quarter black


def test_grey_with_alpha_LA_png():
    image = Image.new("LA", (3, 1))
    for x, pixel in enumerate([(0, 0), (0, 255), (0, 128)]):
        image.putpixel((x, 0), pixel)
    out = load_image(encode(image, "PNG"))
    assert [rgb_at(out, (x, 0)) for x in range(2)] == [WHITE, BLACK]
    assert_near(rgb_at(out, (2, 0)), (127, 127, 127), 1)


@pytest.mark.parametrize(("fmt", "key"), [("PNG", 0), ("PNG", (1, 2, 3))])
def test_colour_key_transparency(fmt, key):
    mode = "L" if isinstance(key, int) else "RGB"
    image = Image.new(mode, (2, 1), key)
    image.putpixel((1, 0), 90 if mode == "L" else (90, 90, 90))
    out = load_image(encode(image, fmt, transparency=key))
    assert (rgb_at(out, (0, 0)), rgb_at(out, (1, 0))) == (WHITE, (90, 90, 90))


@pytest.mark.parametrize("mode", ["La", "RGBa"])
def test_premultiplied_alpha(mode):
    """TIFF can carry premultiplied alpha; Pillow 13 cannot convert "La" to RGBA directly."""
    image = Image.new(mode, (2, 1), (0, 0) if mode == "La" else (0, 0, 0, 0))
    image.putpixel((1, 0), (60, 255) if mode == "La" else (60, 60, 60, 255))
    out = to_rgb(image)
    assert (rgb_at(out, (0, 0)), rgb_at(out, (1, 0))) == (WHITE, (60, 60, 60))


@pytest.mark.parametrize(("fmt", "tol"), [("JPEG", 3), ("TIFF", 0)])
def test_cmyk_pure_cyan(fmt, tol):
    data = encode(
        solid((255, 0, 0, 0), mode="CMYK"), fmt, **({"quality": 100} if fmt == "JPEG" else {})
    )
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert_near(rgb_at(load_image(data), (8, 8)), (0, 255, 255), tol)


def test_lab_tiff_white():
    data = encode(solid((255, 128, 128), mode="LAB"), "TIFF")
    assert Image.open(io.BytesIO(data)).mode == "LAB"
    assert_near(rgb_at(load_image(data), (0, 0)), WHITE, 2)


@pytest.mark.parametrize("mode", ["HSV", "YCbCr", "RGBX", "I;16L", "I;16N"])
def test_to_rgb_handles_other_modes(mode):
    assert to_rgb(Image.new(mode, (2, 2))).mode == "RGB"


def test_to_rgb_returns_a_new_image():
    image = solid(RED)
    out = to_rgb(image)
    out.putpixel((0, 0), BLUE)
    assert rgb_at(image, (0, 0)) == RED


# --------------------------------------------------------------------------------------------
# EXIF orientation
# --------------------------------------------------------------------------------------------


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


def _marked(width=30, height=20) -> Image.Image:
    """Black, with a red 10 x 10 block in the top-left corner."""
    array = np.zeros((height, width, 3), dtype=np.uint8)
    array[:10, :10] = RED
    return Image.fromarray(array)


# orientation -> where the top-left block ends up in the 20 x 30 upright image (its centre)
ORIENTED = {6: (15, 5), 8: (5, 25), 3: (25, 15), 1: (5, 5)}


@pytest.mark.parametrize("orientation", [6, 8, 3, 1])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
def test_exif_orientation_is_applied(fmt, orientation):
    data = encode(
        _marked(), fmt, exif=_exif(orientation), **({"quality": 95} if fmt == "JPEG" else {})
    )
    out = load_image(data)
    assert out.size == ((20, 30) if orientation in (6, 8) else (30, 20))
    x, y = ORIENTED[orientation]
    assert_near(rgb_at(out, (x, y)), RED, 8)
    # ... and the mirror position along the long side stays black
    mirror = (x, out.height - 1 - y) if orientation in (6, 8) else (out.width - 1 - x, y)
    assert_near(rgb_at(out, mirror), BLACK, 8)


# --------------------------------------------------------------------------------------------
# Refusals: not bytes, empty, too big, not an image, other formats
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["a string", None, 42, [1, 2, 3], Path("x.png")])
def test_non_bytes_are_refused(data):
    with pytest.raises(ImageError, match="Expected the bytes"):
        load_image(data)


@pytest.mark.parametrize("data", [b"", bytearray(), memoryview(b"")])
def test_empty_is_refused(data):
    with pytest.raises(ImageError, match=r"^This file is empty\.$"):
        load_image(data)


def test_too_many_bytes_is_refused_before_parsing(no_pixel_decoding, monkeypatch):
    def no_open(*args, **kwargs):
        raise AssertionError("Image.open was called")

    monkeypatch.setattr(Image, "open", no_open)
    with pytest.raises(ImageError, match=r"^This file is 25\.1 MB; the limit is 25 MB\.$"):
        load_image(b"\x89PNG" + bytes(MAX_BYTES))  # just over: the size is rounded up
    with pytest.raises(ImageError, match=r"^This file is 30 MB; the limit is 25 MB\.$"):
        load_image(bytes(30_000_000))
    with pytest.raises(ImageError, match=r"is 0\.1 MB; the limit is 0\.0001 MB"):
        load_image(bytes(101), max_bytes=100)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cat.png", b"not really")
    return buffer.getvalue()


HOSTILE = {
    "text": (b"Hello, I am a cat.\nMeow.\n", "plain text"),
    "utf8-text": ("Grüße, 猫 🐈\n".encode(), "plain text"),
    "html": (b"\n  <!DOCTYPE html><html><body>cat</body></html>", "an HTML page"),
    "html-fragment": (b"<head><title>x</title></head><html>", "an HTML page"),
    "svg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "an SVG drawing"),
    "xml": (b'<?xml version="1.0"?><cat/>', "an XML document"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF document"),
    "zip": (_zip_bytes(), "a ZIP archive"),
    "gzip": (gzip.compress(b"cat"), "a gzip-compressed file"),
    "pickle": (pickle.dumps({"cat": [1, 2, 3]}), "a Python pickle"),
    "pickle-2": (pickle.dumps("cat", protocol=2), "a Python pickle"),
    "npy": (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4'", "a NumPy array file"),
    "heic": (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "a HEIC photo"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_non_images_are_refused_with_what_they_look_like(name):
    data, looks_like = HOSTILE[name]
    assert describe_format(data).startswith(looks_like)
    with pytest.raises(ImageError) as info:
        load_image(data)
    message = str(info.value)
    assert NOT_AN_IMAGE in message
    assert f"(it looks like {looks_like}" in message
    assert "Please upload a JPEG, PNG, WebP, GIF, BMP or TIFF image." in message
    assert isinstance(info.value.__cause__, Image.UnidentifiedImageError)


def test_unrecognised_binary_is_refused_without_a_guess():
    data = bytes(range(256)) * 4
    assert describe_format(data) is None
    with pytest.raises(ImageError, match=rf"^This file is {NOT_AN_IMAGE}\. Please upload"):
        load_image(data)


OTHER_FORMATS = {  # Pillow reads all of these; the allow-list must refuse them
    "ICO": ("ICO", {}, "a Windows icon (ICO)"),
    "XBM": ("XBM", {}, "plain text"),  # XBM is C source code
    "EPS": ("EPS", {}, "a PostScript or EPS file"),
    "PPM": ("PPM", {}, None),
    "TGA": ("TGA", {}, None),
    "PCX": ("PCX", {}, None),
    "QOI": ("QOI", {}, "a QOI image"),
    "SGI": ("SGI", {}, None),
    "AVIF": ("AVIF", {}, "an AVIF image"),
    "JPEG2000": ("JPEG2000", {}, "a JPEG 2000 image"),
    "DDS": ("DDS", {}, None),
    "BLP": ("BLP", {}, None),
}


@pytest.mark.parametrize("name", list(OTHER_FORMATS))
def test_formats_outside_the_allow_list_are_refused(name, monkeypatch):
    fmt, kwargs, looks_like = OTHER_FORMATS[name]
    source = solid(RED).convert("1" if fmt == "XBM" else "P" if fmt == "BLP" else "RGB")
    data = encode(source, fmt, **kwargs)
    assert Image.open(io.BytesIO(data)).format == fmt  # Pillow itself would read it
    forbid_pixel_decoding(monkeypatch)  # the allow-list refuses it before any plugin decodes
    with pytest.raises(ImageError, match=NOT_AN_IMAGE) as info:
        load_image(data)
    if looks_like is not None:
        assert f"(it looks like {looks_like})" in str(info.value)


# --------------------------------------------------------------------------------------------
# Refusals: truncated and corrupt
# --------------------------------------------------------------------------------------------

TRUNCATABLE = [
    ("PNG", {}),
    ("JPEG", {"quality": 90}),
    ("JPEG", {"quality": 90, "progressive": True}),
    ("GIF", {}),
    ("WEBP", {}),
    ("WEBP", {"lossless": True}),
    ("BMP", {}),
    ("TIFF", {}),
    ("TIFF", {"compression": "tiff_lzw"}),
]


def _noise(width=80, height=64, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize(("fmt", "kwargs"), TRUNCATABLE)
def test_cut_in_half_is_refused_not_padded_with_grey(fmt, kwargs):
    source = _noise().convert("P") if fmt == "GIF" else _noise()
    data = encode(source, fmt, **kwargs)
    with pytest.raises(ImageError, match=CORRUPT):
        load_image(data[: len(data) // 2])


@pytest.mark.parametrize("missing", [1, 2, 100])
def test_jpeg_missing_its_last_bytes_is_refused(missing):
    data = encode(_noise(), "JPEG", quality=90)
    with pytest.raises(ImageError, match=r"^This image is truncated or corrupt: image file is"):
        load_image(data[:-missing])


def test_png_cut_in_half_message():
    data = encode(_noise(), "PNG")
    with pytest.raises(ImageError, match=r"^This image is truncated or corrupt: image file is"):
        load_image(data[: len(data) // 2])


def test_png_missing_only_its_end_marker_still_has_all_pixels():
    """IEND carries no data; losing it loses no pixel, so the image is complete."""
    data = encode(quadrants(), "PNG")
    assert data.endswith(_chunk(b"IEND", b""))
    assert rgb_at(load_image(data[:-12]), (28, 28)) == WHITE


@pytest.mark.parametrize("cut", [8, 12, 16, 30])
def test_accepted_format_with_a_broken_header(cut):
    data = encode(_noise(), "PNG")[:cut]
    with pytest.raises(ImageError, match=CORRUPT):
        load_image(data)


def test_accepted_format_that_pillow_cannot_identify():
    data = b"\x89PNG\r\n\x1a\n" + bytes(30)
    with pytest.raises(ImageError, match=r"^This file starts like a PNG image but is truncated"):
        load_image(data)


def test_load_truncated_images_is_false_while_decoding(monkeypatch):
    seen = []
    original = ImageFile.ImageFile.load

    def spy(self):
        seen.append(ImageFile.LOAD_TRUNCATED_IMAGES)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    load_image(encode(quadrants(), "PNG"))
    assert seen  # load() ran (more than once: exif_transpose and convert call it too)
    assert not any(seen)


def test_refuses_to_run_if_truncated_images_are_allowed(monkeypatch):
    data = encode(_noise(), "PNG")
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    # What load_image guards against: Pillow then "succeeds" on half a file.
    padded = Image.open(io.BytesIO(data[: len(data) // 2]))
    padded.load()
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        load_image(data)


def test_corrupt_messages_contain_no_raw_bytes():
    data = bytearray(encode(quadrants(), "PNG"))
    data[37:41] = b"\x00\xff\x1b["  # garble the chunk after IHDR: tag, escape codes
    with pytest.raises(ImageError) as info:
        load_image(bytes(data))
    assert all(32 <= ord(c) < 127 for c in str(info.value))


# --------------------------------------------------------------------------------------------
# Refusals: sizes (checked on the header, before any pixel is decoded)
# --------------------------------------------------------------------------------------------


def test_decompression_bomb_png_is_refused_from_its_header(bomb_png, no_pixel_decoding):
    assert len(bomb_png) < 100_000  # 10,000 x 10,000 pixels in about 12 KB
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        assert Image.open(io.BytesIO(bomb_png)).size == (10_000, 10_000)
    with pytest.raises(ImageError) as info:
        load_image(bomb_png)
    assert str(info.value) == (
        "This image is 10,000 x 10,000 pixels (100 megapixels); the limit is 40 megapixels."
    )
    assert isinstance(info.value.__cause__, Image.DecompressionBombWarning)


def test_pillow_only_warns_about_the_bomb(bomb_png):
    """The quirk: by default Image.open accepts 100 megapixels with a warning."""
    with pytest.warns(Image.DecompressionBombWarning):
        assert Image.open(io.BytesIO(bomb_png)).size == (10_000, 10_000)


def test_bomb_beyond_pillows_hard_limit_is_refused(no_pixel_decoding):
    data = blank_1bit_png(12_000, 16_000)  # 192 MP: Pillow raises DecompressionBombError
    with pytest.raises(
        ImageError, match=r"^This image has more than 179 megapixels; the limit is 40"
    ):
        load_image(data)


def test_images_between_our_limit_and_pillows_are_refused_by_our_check(no_pixel_decoding):
    data = blank_1bit_png(8_000, 6_000)  # 48 MP: Pillow says nothing, we refuse
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Image.open(io.BytesIO(data))
        with pytest.raises(ImageError, match=r"^This image is 8,000 x 6,000 pixels \(48 mega"):
            load_image(data)


def test_webp_header_declaring_a_huge_canvas_is_refused(no_pixel_decoding):
    data = bytearray(encode(solid(RED), "WEBP", lossless=True))
    assert data[12:16] == b"VP8L"
    bits = struct.unpack("<I", data[21:25])[0]
    bits = (bits & ~((1 << 28) - 1)) | (11_999 | (5_999 << 14))  # 12,000 x 6,000
    data[21:25] = struct.pack("<I", bits)
    with pytest.raises(ImageError, match=r"is 12,000 x 6,000 pixels \(72 megapixels\)"):
        load_image(bytes(data))


@pytest.mark.parametrize(
    ("size", "side"), [((1, 100_000), "1 x 100,000"), ((12_001, 1), "12,001 x 1")]
)
def test_absurd_side_is_refused(size, side, no_pixel_decoding):
    data = blank_1bit_png(*size)
    with pytest.raises(
        ImageError, match=rf"^This image is {side} pixels; no side may be longer than 12,000"
    ):
        load_image(data)


def test_custom_limits():
    data = encode(solid(RED, size=(100, 50)), "PNG")
    with pytest.raises(ImageError) as info:
        load_image(data, max_pixels=4_000)
    assert str(info.value) == (
        "This image is 100 x 50 pixels (0.005 megapixels); the limit is 0.004 megapixels."
    )
    with pytest.raises(ImageError, match="no side may be longer than 99 pixels"):
        load_image(data, max_side=99)
    with pytest.raises(ImageError, match="too elongated"):
        load_image(data, max_aspect=1.5)
    assert load_image(data, max_pixels=5_000, max_side=100, max_aspect=2).size == (100, 50)


def test_too_elongated_is_refused():
    data = encode(solid(RED, size=(MAX_ASPECT * 10 + 1, 10)), "PNG")
    with pytest.raises(ImageError, match=r"201 x 10 pixels: too elongated .* at most 20 times"):
        load_image(data)
    assert load_image(encode(solid(RED, size=(200, 10)), "PNG")).size == (200, 10)


def test_defaults():
    assert (MAX_PIXELS, MAX_SIDE, MAX_BYTES, MAX_ASPECT) == (40_000_000, 12_000, 25_000_000, 20)
    assert IMAGENET_MEAN == (0.485, 0.456, 0.406)
    assert IMAGENET_STD == (0.229, 0.224, 0.225)


def test_global_pillow_and_warning_state_is_left_alone(bomb_png):
    filters, max_pixels = list(warnings.filters), Image.MAX_IMAGE_PIXELS
    for data in [bomb_png, b"junk", encode(quadrants(), "PNG")]:
        with contextlib.suppress(ImageError):
            load_image(data)
    assert warnings.filters == filters
    assert max_pixels == Image.MAX_IMAGE_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_concurrent_loads_from_threads(bomb_png):
    """Streamlit serves each session from its own thread."""
    good = encode(quadrants(), "PNG")
    results: list[object] = []

    def work(data):
        for _ in range(20):
            try:
                results.append(rgb_at(load_image(data), (28, 28)))
            except ImageError as exc:
                results.append(str(exc)[:22])

    threads = [threading.Thread(target=work, args=(d,)) for d in [good, bomb_png] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(WHITE) == 80
    assert results.count("This image is 10,000 x") == 80


# --------------------------------------------------------------------------------------------
# describe_format
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff\xe0", "a JPEG image"),
        (b"GIF89a", "a GIF image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "a WebP image"),
        (b"II*\x00", "a TIFF image"),
        (b"8BPS\x00\x01", "a Photoshop document (PSD)"),
        (b"\xef\xbb\xbfplain words", "plain text"),
        ("é".encode() * 600, "plain text"),  # a character cut by the 1 KB window
        (b"text with a NUL\x00", None),
        (b"\xff\xfe\xfd", None),
        (b"", None),
        ("not bytes", None),
    ],
)
def test_describe_format(data, expected):
    assert describe_format(data) == expected


# --------------------------------------------------------------------------------------------
# Fuzzing: any bytes give an RGB image or an ImageError, never another exception
# --------------------------------------------------------------------------------------------


def assert_rgb_or_image_error(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's UserWarnings about corrupt EXIF/TIFF tags
        try:
            image = load_image(data)
        except ImageError as exc:
            image, message = None, str(exc)
    if image is None:
        assert message.startswith("This ")
    else:
        assert image.mode == "RGB"
        assert min(image.size) >= 1


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=2_048))
def test_fuzz_arbitrary_bytes(data):
    assert_rgb_or_image_error(data)


MAGIC = [magic for offset, magic, _, _ in images._SIGNATURES if offset == 0]


@FUZZ
@given(st.sampled_from(MAGIC), st.binary(max_size=512))
def test_fuzz_known_magic_followed_by_junk(magic, tail):
    assert_rgb_or_image_error(magic + tail)


def _valid_files() -> dict[str, bytes]:
    small = _noise(24, 16, seed=1)
    return {
        "png": encode(small, "PNG"),
        "png-rgba": encode(small.convert("RGBA"), "PNG"),
        "png-16": raw_png(
            np.arange(96, dtype=">u2").reshape(8, 12) * 600, color_type=0, bit_depth=16
        ),
        "jpeg": encode(small, "JPEG", quality=80, exif=_exif(6)),
        "jpeg-progressive": encode(small, "JPEG", progressive=True),
        "gif": encode(small.convert("P"), "GIF", save_all=True, append_images=[small.convert("P")]),
        "webp": encode(small, "WEBP"),
        "webp-lossless": encode(small.convert("RGBA"), "WEBP", lossless=True),
        "tiff": encode(small, "TIFF"),
        "tiff-lzw": encode(small, "TIFF", compression="tiff_lzw"),
        "bmp": encode(small.convert("P"), "BMP"),
    }


VALID = _valid_files()


@FUZZ
@given(
    st.sampled_from(sorted(VALID)),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
)
def test_fuzz_flipped_bytes_in_valid_files(name, flips):
    data = bytearray(VALID[name])
    for where, value in flips:
        data[int(where * len(data))] = value
    assert_rgb_or_image_error(bytes(data))


@FUZZ
@given(st.sampled_from(sorted(VALID)), st.floats(0, 1), st.booleans())
def test_fuzz_cut_valid_files(name, where, keep_head):
    data = VALID[name]
    cut = int(where * len(data))
    assert_rgb_or_image_error(data[:cut] if keep_head else data[cut:])


@pytest.mark.parametrize("name", sorted(VALID))
def test_fuzz_seeds_are_valid(name):
    assert load_image(VALID[name]).mode == "RGB"


# --------------------------------------------------------------------------------------------
# preprocess and center_crop_for_display
# --------------------------------------------------------------------------------------------


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """Smooth colour gradients plus noise, like a photo (pure noise would make a poor test)."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8))
    smooth = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), dtype=np.int16)
    noisy = smooth + rng.integers(-12, 13, smooth.shape)
    return Image.fromarray(noisy.clip(0, 255).astype(np.uint8))


SHAPES = [(500, 375), (375, 500), (640, 480), (233, 1000), (300, 300), (1001, 999), (120, 90)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("weights", "resize"),
    [(ResNet50_Weights.IMAGENET1K_V1, 256), (ResNet50_Weights.IMAGENET1K_V2, 232)],
)
def test_preprocess_equals_torchvision_weights_transforms(shape, weights, resize):
    image = photo_like(*shape)
    expected = weights.transforms()(image)
    actual = preprocess(image, resize=resize)
    assert actual.shape == (1, 3, 224, 224)
    assert actual.dtype == torch.float32
    torch.testing.assert_close(actual[0], expected, rtol=0, atol=0)  # bit for bit


def test_preprocess_known_values_of_a_flat_image():
    out = preprocess(solid((255, 128, 0), size=(300, 200)))
    for channel, value in enumerate((255, 128, 0)):
        expected = (value / 255 - IMAGENET_MEAN[channel]) / IMAGENET_STD[channel]
        torch.testing.assert_close(out[0, channel], torch.full((224, 224), expected))


def test_preprocess_without_resize_squashes_the_whole_image():
    image = photo_like(64, 40)
    out = preprocess(image, size=32, resize=None, mean=(0, 0, 0), std=(1, 1, 1))
    assert out.shape == (1, 3, 32, 32)
    squashed = TF.pil_to_tensor(image.resize((32, 32), Image.Resampling.BILINEAR))
    torch.testing.assert_close(out[0], squashed.float() / 255, rtol=0, atol=0)


def test_preprocess_converts_other_modes():
    rgba = Image.new("RGBA", (50, 50), (255, 0, 0, 0))
    out = preprocess(rgba, size=32, resize=40, mean=(0, 0, 0), std=(1, 1, 1))
    torch.testing.assert_close(out, torch.ones(1, 3, 32, 32))  # transparent -> white
    assert preprocess(solid(7, size=(50, 50), mode="L"), size=32, resize=40).shape == (1, 3, 32, 32)


@pytest.mark.parametrize(("size", "resize"), [(224, 256), (224, 232), (32, None), (100, 100)])
def test_display_crop_is_exactly_what_the_model_sees(size, resize):
    image = photo_like(333, 250, seed=3)
    shown = center_crop_for_display(image, size=size, resize=resize)
    assert (shown.mode, shown.size) == ("RGB", (size, size))
    seen = preprocess(image, size=size, resize=resize, mean=(0, 0, 0), std=(1, 1, 1))[0]
    torch.testing.assert_close((seen * 255).round().to(torch.uint8), TF.pil_to_tensor(shown))


def test_display_crop_is_centred():
    image = Image.new("RGB", (400, 200), BLACK)
    image.paste(Image.new("RGB", (20, 20), RED), (190, 90))
    shown = center_crop_for_display(image, size=100, resize=100)
    assert rgb_at(shown, (50, 50)) == RED
    assert rgb_at(shown, (5, 50)) == BLACK


def test_preprocess_refuses_too_elongated_images():
    strip = Image.new("RGB", (1, 12_000))  # within MAX_SIDE and MAX_PIXELS: 256 x 3,072,000
    with pytest.raises(ImageError, match="too elongated"):
        preprocess(strip)
    assert preprocess(strip, size=8, resize=None).shape == (1, 3, 8, 8)  # squashing is cheap


@pytest.mark.parametrize(("size", "resize"), [(0, 256), (-1, None), (224, 200)])
def test_preprocess_rejects_bad_arguments(size, resize):
    with pytest.raises(ValueError, match="size") as info:
        preprocess(solid(RED), size=size, resize=resize)
    assert not isinstance(info.value, ImageError)


def test_module_does_not_import_streamlit():
    tree = ast.parse(Path(images.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert "streamlit" not in imported
    assert {"PIL", "numpy", "torch", "torchvision"} <= imported
