"""The viewer page in a real headless browser: it draws the skeleton, answers the slider and the mouse, and logs
no error.

Needs Chromium (``/usr/bin/chromium``, or ``LIFT2D3D_CHROMIUM``) and the ``playwright`` package (the ``dev``
extra; Playwright drives the system's browser, it downloads none).  Without them the tests skip saying so;
with ``LIFT2D3D_REQUIRE_BROWSER=1`` (CI, which installs Chromium) they fail instead.
"""

import os
import shutil

import numpy as np
import pytest

from clip_support import seen, walking_clip
from lift2d3d.skeletons import BODY15
from lift2d3d.viewer import viewer_html, write_viewer
from lift2d3d.viz import SIDE_COLOURS

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium():
    candidates = [os.environ.get("LIFT2D3D_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                  shutil.which("chromium-browser")]
    return next((c for c in candidates if c and os.path.exists(c)), None)


def _missing(why):
    if os.environ.get("LIFT2D3D_REQUIRE_BROWSER") == "1":
        pytest.fail(f"LIFT2D3D_REQUIRE_BROWSER=1 but {why}")
    pytest.skip(f"{why}: the viewer's browser tests need Chromium and the playwright package "
                "(apt-get install chromium; pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        _missing("no Chromium found (/usr/bin/chromium or LIFT2D3D_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    world = walking_clip(120)
    camera, keypoints, _ = seen(world)
    placed = world - [0.0, 0.0, world[0, 0, 2]]
    path = tmp_path_factory.mktemp("view") / "view.html"
    write_viewer(path, placed, BODY15.joints, frame="world", fps=30.0, keypoints=keypoints,
                 keypoint_names=BODY15.joints, status=["ok"] * 120, title="walk")
    return path


def _open(browser, path):
    page = browser.new_page(viewport={"width": 1000, "height": 600})
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("request", lambda request: problems.append(f"fetched {request.url}")
            if not request.url.startswith(("file:", "data:", "about:")) else None)
    page.goto(path.as_uri())
    page.wait_for_function("window.lift2d3dViewer && window.lift2d3dViewer.ready", timeout=10_000)
    return page, problems


def _pixels(page, selector):
    """The canvas's screenshot as an (h, w, 3) array."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")).astype(int)


def _count(image, colour, tolerance=40):
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(image - rgb).sum(axis=-1) < tolerance).sum())


def test_the_page_draws_the_skeleton_and_the_keypoints(browser, page_file):
    page, problems = _open(browser, page_file)
    three = _pixels(page, "#view3d")
    two = _pixels(page, "#view2d")
    # both sides' bones are drawn, in the 3D view and in the 2D one
    for colour in (SIDE_COLOURS["left"], SIDE_COLOURS["right"]):
        assert _count(three, colour) > 150
        assert _count(two, colour) > 150
    assert "frame 0 " in page.locator("#label").inner_text()
    assert problems == []
    page.close()


def test_the_slider_and_the_mouse_change_the_picture(browser, page_file):
    page, problems = _open(browser, page_file)
    before = _pixels(page, "#view3d")
    slider = page.locator("#slider")
    slider.fill("90")
    assert page.evaluate("window.lift2d3dViewer.frame") == 90
    assert "frame 90 " in page.locator("#label").inner_text()
    moved = _pixels(page, "#view3d")
    assert np.abs(moved - before).sum() > 0
    box = page.locator("#view3d").bounding_box()
    yaw = page.evaluate("window.lift2d3dViewer.yaw")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 120, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert page.evaluate("window.lift2d3dViewer.yaw") != pytest.approx(yaw)
    turned = _pixels(page, "#view3d")
    assert np.abs(turned - moved).sum() > 0
    assert _count(turned, SIDE_COLOURS["left"]) > 100
    # play advances the frames
    page.locator("#play").click()
    page.wait_for_function("window.lift2d3dViewer.frame !== 90", timeout=5_000)
    page.locator("#play").click()
    assert problems == []
    page.close()


def test_a_camera_frame_clip_without_keypoints(browser, tmp_path):
    camera, _, _ = seen(walking_clip(30))
    path = tmp_path / "camera.html"
    path.write_text(viewer_html(camera, BODY15.joints, frame="camera"), encoding="utf-8")
    page, problems = _open(browser, path)
    assert page.locator("#view2d").count() == 0
    assert _count(_pixels(page, "#view3d"), SIDE_COLOURS["right"]) > 100
    assert problems == []
    page.close()
