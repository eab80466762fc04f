"""Hostile students in a real browser: odd files, a 300 MB upload, impossible specs in the URL.
Each gets a clear message where it happened; nothing shows a traceback."""

import io
import tomllib
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from bench.drivers.browser import REPO, wait_until_idle
from resnet_viz.data.synthetic_shapes import sample_image
from tests.app_support import marker_pickle

pytestmark = pytest.mark.browser


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def odd_files(marker: Path) -> dict[str, bytes]:
    good = png(sample_image("star", size=128, seed=5)[0])
    return {
        "good.png": good,
        "empty.png": b"",
        "notes.jpg": b"lecture notes, not a picture\n" * 20,
        "half.png": good[: len(good) // 2],
        "bomb.png": png(Image.new("1", (10_000, 10_000))),
        "payload.png": marker_pickle(marker),  # the server would create ``marker``
        "page.webp": b"<!DOCTYPE html><html><body>hi</body></html>",
    }


def uploader(page):
    return page.locator("[data-testid='stFileUploaderDropzoneInput']").first


def test_every_odd_file_gets_its_message_next_to_it(live_server, page, screenshots, tmp_path):
    marker = tmp_path / "pwned"
    page.goto(f"{live_server.url}/grad_cam")
    wait_until_idle(page, timeout_ms=180_000)
    expect(page.get_by_text("Explaining “circle”")).to_be_visible(timeout=180_000)  # drawn
    files = odd_files(marker)
    uploader(page).set_input_files(
        files=[{"name": n, "mimeType": "image/png", "buffer": b} for n, b in files.items()]
    )
    expect(page.get_by_role("heading", name="page.webp")).to_be_visible(timeout=180_000)
    wait_until_idle(page, timeout_ms=180_000)
    alerts = page.get_by_test_id("stAlertContentError")
    expect(alerts).to_have_count(len(files) - 1, timeout=60_000)
    text = " ".join(alerts.all_inner_texts())
    for fragment in ("empty", "plain text", "truncated", "10,000 x 10,000", "pickle", "HTML"):
        assert fragment in text, fragment
    expect(page.get_by_text("Explaining “")).to_have_count(1)  # good.png still works
    expect(page.get_by_text("Traceback")).to_have_count(0)
    assert not marker.exists()
    page.screenshot(path=screenshots / "grad_cam-hostile.png", full_page=True)


def test_a_300_mb_upload_is_refused_with_a_message(live_server, page, tmp_path):
    big = tmp_path / "huge.png"
    with big.open("wb") as f:
        f.truncate(300 * 1024 * 1024)  # sparse: costs no disk
    page.goto(f"{live_server.url}/grad_cam")
    wait_until_idle(page, timeout_ms=180_000)
    uploader(page).set_input_files(str(big))
    expect(page.get_by_text("File must be 20.0MB or smaller")).to_be_visible(timeout=30_000)
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] < 300  # the server refuses it too (HTTP 413)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("mode=Depth&depth=51", "Nearest valid depths: 50 or 53"),
        ("mode=Custom&layers=3,0,2,2", "Stage 2 has 0 blocks"),
        ("h=3&w=3", "is too small for this network"),
    ],
)
def test_impossible_specs_in_the_url_show_the_message(live_server, page, query, message):
    page.goto(f"{live_server.url}/architecture?{query}")
    wait_until_idle(page)
    expect(page.get_by_text(message)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Traceback")).to_have_count(0)
