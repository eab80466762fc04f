"""The zip of class folders: every bad input of a lecture hall refused or counted, never written to
disk, and the good images decoded with their labels."""

import io
import os
import zipfile

import numpy as np
import pytest
from PIL import Image

from resnet_viz.data import image_folder as folder_module
from resnet_viz.data.image_folder import KEEP_SIDE, MAX_MEMBERS, image_folder
from resnet_viz.errors import DatasetError, UserError


def png(colour=(255, 0, 0), size=(32, 24), mode="RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def zipped(members: dict[str, bytes | None]) -> bytes:
    """A zip of ``members`` (None: a folder entry)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if data is None:
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


TWO_CLASSES = {
    "dogs/1.png": png((255, 0, 0)),
    "dogs/2.png": png((250, 0, 0)),
    "cats/1.png": png((0, 0, 255)),
}


def test_class_folders_give_sorted_classes_and_labels():
    data = image_folder(zipped(TWO_CLASSES))
    assert data.classes == ("cats", "dogs")
    assert sorted(data.labels) == [0, 1, 1]
    assert data.counts() == {"cats": 1, "dogs": 2}
    assert all(image.mode == "RGB" and image.size == (32, 24) for image in data.images)
    # Labels follow the images: the blue one is the cat.
    blue = [label for label, image in zip(data.labels, data.images, strict=True)
            if image.getpixel((0, 0)) == (0, 0, 255)]  # fmt: skip
    assert blue == [0]
    assert data.skipped == ()


def test_a_path_reads_the_same_as_the_bytes(tmp_path):
    path = tmp_path / "set.zip"
    path.write_bytes(zipped(TWO_CLASSES))
    assert image_folder(path).counts() == image_folder(str(path)).counts() == {"cats": 1, "dogs": 2}


def test_one_wrapping_folder_is_looked_through():
    data = image_folder(zipped({f"pets/{name}": b for name, b in TWO_CLASSES.items()}))
    assert data.classes == ("cats", "dogs")


def test_nested_folders_belong_to_their_top_class():
    members = {**TWO_CLASSES, "dogs/puppies/3.png": png((200, 10, 10))}
    assert image_folder(zipped(members)).counts() == {"cats": 1, "dogs": 3}


@pytest.mark.parametrize(
    "members",
    [{"dogs/1.png": png(), "dogs/2.png": png((1, 2, 3))}, {"1.png": png()}, {}],
    ids=["one class", "no class folder", "empty zip"],
)
def test_fewer_than_two_classes_is_refused(members):
    with pytest.raises(DatasetError, match="at least two classes"):
        image_folder(zipped(members))


def test_an_empty_class_folder_is_named_and_the_rest_kept():
    data = image_folder(zipped({**TWO_CLASSES, "birds/": None}))
    assert data.classes == ("cats", "dogs")
    assert [(s.name, s.reason) for s in data.skipped] == [
        ("birds/", "the folder holds no usable image")
    ]


def test_files_that_are_not_images_are_skipped_with_the_loaders_reason():
    data = image_folder(
        zipped({**TWO_CLASSES, "dogs/notes.txt": b"hello", "cats/x.png": b"\x89PNG"})
    )
    assert data.counts() == {"cats": 1, "dogs": 2}
    reasons = {s.name: s.reason for s in data.skipped}
    assert set(reasons) == {"dogs/notes.txt", "cats/x.png"}
    assert all(reason for reason in reasons.values())


def test_macos_metadata_and_hidden_files_are_ignored():
    members = {**TWO_CLASSES, "__MACOSX/dogs/._1.png": b"x", "dogs/.DS_Store": b"x"}
    data = image_folder(zipped(members))
    assert data.counts() == {"cats": 1, "dogs": 2}
    assert data.skipped == ()


def test_names_that_climb_out_are_skipped_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inner").mkdir()
    monkeypatch.chdir(tmp_path / "inner")
    members = {**TWO_CLASSES, "../x.png": png(), "/etc/evil.png": png((9, 9, 9)),
               "dogs/../../y.png": png((8, 8, 8))}  # fmt: skip
    data = image_folder(zipped(members))
    assert data.counts() == {"cats": 1, "dogs": 2}
    assert {s.reason for s in data.skipped} == {"its name points outside the zip"}
    assert len(data.skipped) == 3
    assert sorted(os.listdir(tmp_path)) == ["inner"]
    assert os.listdir(tmp_path / "inner") == []


def test_ten_thousand_files_are_refused_before_any_is_read():
    members = {f"c{i % 2}/{i}.png": b"" for i in range(10_000)}
    with pytest.raises(DatasetError, match=f"limit is {MAX_MEMBERS:,}"):
        image_folder(zipped(members))


def test_more_images_than_the_limit_are_refused():
    members = {f"c{i % 2}/{i}.png": png((i, 0, 0)) for i in range(12)}
    with pytest.raises(DatasetError, match="limit is 10 images"):
        image_folder(zipped(members), max_images=10)


def test_more_classes_than_the_limit_are_refused():
    members = {f"c{i}/1.png": png((i, 0, 0)) for i in range(4)}
    with pytest.raises(DatasetError, match="4 classes; the limit is 3"):
        image_folder(zipped(members), max_classes=3)


def test_a_member_that_inflates_past_the_limit_is_skipped():
    bomb = bytes(folder_module.MAX_MEMBER_BYTES + 1)  # deflates to ~25 kB
    data = image_folder(zipped({**TWO_CLASSES, "dogs/bomb.png": bomb}))
    assert data.counts() == {"cats": 1, "dogs": 2}
    assert [s.name for s in data.skipped] == ["dogs/bomb.png"]
    assert "larger than 25 MB" in data.skipped[0].reason


def test_a_lying_header_cannot_inflate_past_the_cap(monkeypatch):
    """zipfile stops at the size a member declares; the cap holds even if the header lies."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("dogs/1.png", bytes(1000))
    archive = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    assert folder_module._read_capped(archive, archive.infolist()[0], 999) is None
    assert folder_module._read_capped(archive, archive.infolist()[0], 1000) == bytes(1000)


def test_a_zip_that_inflates_past_the_total_is_refused(monkeypatch):
    monkeypatch.setattr(folder_module, "MAX_TOTAL_BYTES", 100_000)
    members = {f"c{i % 2}/{i}.bin": bytes(40_000) + bytes([i]) for i in range(3)}
    with pytest.raises(DatasetError, match="limit is 0 MB"):
        image_folder(zipped(members))


def test_an_image_under_two_classes_is_left_out_everywhere_a_copy_in_one_kept_once():
    same = png((1, 2, 3))
    members = {**TWO_CLASSES, "dogs/x.png": same, "cats/x.png": same, "cats/2.png": png((0, 9, 9)),
               "cats/3.png": png((0, 9, 9))}  # fmt: skip
    data = image_folder(zipped(members))
    assert data.counts() == {"cats": 2, "dogs": 2}
    reasons = {s.name: s.reason for s in data.skipped}
    assert reasons == {
        "dogs/x.png": "the same image is also under cats",
        "cats/x.png": "the same image is also under dogs",
        "cats/3.png": "it is a copy of another image in this class",
    }


def test_grey_and_16_bit_images_become_8_bit_rgb():
    grey16 = Image.fromarray(np.full((20, 20), 40_000, dtype=np.uint16))
    buffer = io.BytesIO()
    grey16.save(buffer, format="PNG")
    members = {"a/grey.png": png(128, mode="L"), "b/deep.png": buffer.getvalue()}
    data = image_folder(zipped(members))
    assert [image.mode for image in data.images] == ["RGB", "RGB"]


def test_large_images_are_shrunk_to_the_kept_side():
    members = {"a/1.png": png(size=(2000, 1000)), "b/1.png": png(size=(100, 50))}
    sizes = sorted(image.size for image in image_folder(zipped(members)).images)
    assert sizes == [(100, 50), (KEEP_SIDE, KEEP_SIDE // 2)]


@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken", b""])
def test_bytes_that_are_not_a_zip_are_refused(data):
    with pytest.raises(DatasetError, match="not a zip archive"):
        image_folder(data)


def test_a_missing_path_and_a_wrong_type_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="no file"):
        image_folder(tmp_path / "missing.zip")
    with pytest.raises(DatasetError, match="got int"):
        image_folder(3)


def test_images_grouped_by_class_in_the_page():
    data = image_folder({"mug": [png((1, 1, 1)), png((2, 2, 2))], "pen": [png((3, 3, 3)), b"x"]})
    assert data.counts() == {"mug": 2, "pen": 1}
    assert [s.name for s in data.skipped] == ["pen/2"]
    assert isinstance(DatasetError("x"), UserError)
