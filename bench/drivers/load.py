"""Many simulated students on one server: each opens pages, changes a control, uploads its own
image and waits for its Grad-CAM, in its own browser context (its own Streamlit session).

Used by bench/load_test.py (10-30 users, figures in bench/README.md) and by
tests/operational/test_load.py (3 users in CI, so a regression in session isolation shows).

Cross-talk check: every user downloads its overlay PNG and compares it with a direct
``grad_cam`` call on the same image in this process; a user who sees another user's image,
class or settings fails.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.drivers.browser import APP_IDLE, CHROMIUM_ARGS
from resnet_viz.analysis.attribution.cam import grad_cam
from resnet_viz.core.presets import PRESETS
from resnet_viz.core.summary import summarize
from resnet_viz.data.images import load_image
from resnet_viz.data.synthetic_shapes import CLASSES, sample_image
from resnet_viz.present.heatmaps import overlay
from resnet_viz.ui.grad_cam import container_key
from resnet_viz.weights import load_demo_model

#: Overlay pixels may differ by rounding (thread counts change float summation order).
PIXEL_TOLERANCE = 3
CLIENT_TIMEOUT_MS = 600_000
ARCHITECTURES = ["resnet18", "resnet34", "resnet101", "resnet152", "resnet56", "resnet110"]


@dataclass(frozen=True)
class UserResult:
    user: int
    ok: bool
    cam_seconds: float
    error: str = ""


def user_image(user: int) -> bytes:
    """A different synthetic shape image for every user (class and position vary)."""
    image, _ = sample_image(CLASSES[user % len(CLASSES)], size=224, seed=1000 + user)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def expected_overlay(data: bytes) -> np.ndarray:
    """What the Grad-CAM page must show for ``data`` with its default settings (demo model,
    last stage, top-1 class, opacity 0.5, jet)."""
    loaded = load_demo_model(device="cpu")
    image = load_image(data)
    result = grad_cam(loaded.model, loaded.preprocessing.tensor(image))
    return np.asarray(overlay(loaded.preprocessing.crop(image), result.heatmap, alpha=0.5))


def server_rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kilobytes = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))
    return kilobytes / 1024


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every process on the machine has used so far, over all cores (Linux)."""
    values = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, *rest = map(int, values)
    steal = rest[0] if rest else 0
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def _idle(page, timeout_ms: float = CLIENT_TIMEOUT_MS) -> None:
    await page.wait_for_selector(APP_IDLE, timeout=timeout_ms)


async def run_user(browser, url: str, user: int, download_dir: Path) -> UserResult:
    """One student: architecture page with its own preset, then its own Grad-CAM."""
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    # Thirty simulated students on one 2-core machine each parse Streamlit's JavaScript bundle
    # at once; their browsers, not the server, make a first page load take over 30 s there.
    context.set_default_timeout(CLIENT_TIMEOUT_MS)
    context.set_default_navigation_timeout(CLIENT_TIMEOUT_MS)
    page = await context.new_page()
    try:
        name = ARCHITECTURES[user % len(ARCHITECTURES)]
        label = PRESETS[name].label
        params = f"{summarize(PRESETS[name].spec, PRESETS[name].input_size).total_params:,}"
        await page.goto(f"{url}/architecture?preset={label}", wait_until="commit")
        await _idle(page)
        metric = page.get_by_test_id("stMetricValue").filter(has_text=params)
        await metric.first.wait_for(timeout=CLIENT_TIMEOUT_MS)

        await page.goto(f"{url}/grad_cam", wait_until="commit")
        await _idle(page)
        data = user_image(user)
        start = time.perf_counter()
        uploader = page.locator("[data-testid='stFileUploaderDropzoneInput']").first
        await uploader.set_input_files(
            files=[{"name": f"user{user}.png", "mimeType": "image/png", "buffer": data}]
        )
        section = page.locator(f".st-key-{container_key(data)}")
        button = section.get_by_test_id("stDownloadButton").filter(has_text="Download overlay")
        await button.first.wait_for(timeout=CLIENT_TIMEOUT_MS)
        await _idle(page)
        cam_seconds = time.perf_counter() - start
        async with page.expect_download(timeout=CLIENT_TIMEOUT_MS) as download_info:
            await button.first.click()
        download = await download_info.value
        path = download_dir / f"user{user}.png"
        await download.save_as(path)
        shown = np.asarray(Image.open(path).convert("RGB"))
        expected = await asyncio.to_thread(expected_overlay, data)
        if shown.shape != expected.shape:
            return UserResult(user, False, cam_seconds, f"overlay shape {shown.shape}")
        diff = int(np.abs(shown.astype(int) - expected.astype(int)).max())
        if diff > PIXEL_TOLERANCE:
            return UserResult(user, False, cam_seconds, f"overlay differs by {diff} (cross-talk?)")
        return UserResult(user, True, cam_seconds)
    except Exception as error:  # a failed user is a result, not a crash of the driver
        return UserResult(user, False, float("nan"), f"{type(error).__name__}: {error}"[:300])
    finally:
        await context.close()


async def run_load(url: str, users: int, chromium: str, download_dir: Path) -> list[UserResult]:
    """All users at once, each in its own browser context."""
    from playwright.async_api import async_playwright

    download_dir.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            return list(
                await asyncio.gather(
                    *(run_user(browser, url, user, download_dir) for user in range(users))
                )
            )
        finally:
            await browser.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_line(results: list[UserResult], rss_growth_mb: float) -> str:
    ok = [r for r in results if r.ok]
    times = [r.cam_seconds for r in ok] or [float("nan")]
    return (
        f"users={len(results)} ok={len(ok)} failed={len(results) - len(ok)} "
        f"p50={statistics.median(times):.1f}s p95={percentile(times, 0.95):.1f}s "
        f"rss_growth={rss_growth_mb:.0f}MB"
    )


def count_tracebacks(log: str) -> int:
    return log.count("Traceback (most recent call last)")
