"""`unseen review` end to end in a real browser: Playwright driving Debian's chromium.

A person drags a mask over a face the detector missed, removes a false mask from a poster,
peeks at an original, undoes a mistake and exports; the exported files are then checked pixel by
pixel. Skips when playwright or chromium is absent. With UNSEEN_SCREENSHOTS=FOLDER set it also
saves the README's screenshots there (only the public-domain astronaut and generated pictures).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from unseen.detect import FakeDetector
from unseen.detect.base import iou_matrix
from unseen.edits import Edits, sidecar_for
from unseen.models import default_detector
from unseen.settings import Settings
from unseen.types import Detections
from unseen.types import Image as Pixels
from unseen.web import ReviewServer, serve

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path(os.environ.get("UNSEEN_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
pytestmark = pytest.mark.slow

SIZE = (360, 480)  # height, width of the generated street scene
MISSED = (296, 96, 386, 206)  # a face behind blinds: the detector does not see it
POSTER = (40, 200, 120, 300)  # a face-like poster: the (stand-in) detector fires on it
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip


class PosterDetector:
    """The real detector, plus a false positive on the poster of the street scene, minus the face
    behind the blinds: a miss for the person to mask by hand (today's detector finds that face)."""

    def __init__(self) -> None:
        self.real = default_detector(Settings())
        self.poster = FakeDetector([POSTER])

    def detect(self, image: Pixels) -> Detections:
        found = self.real.detect(image)
        if image.shape[:2] == SIZE:
            if len(found):
                missed = np.array([MISSED], np.float32)
                found = found[iou_matrix(found.boxes, missed)[:, 0] < 0.3]
            found = Detections.merge([found, self.poster.detect(image)])
        return found


def street(astronaut: np.ndarray) -> np.ndarray:
    """A drawn street: houses, a poster with a face-like circle, and a face behind blinds.

    The test's detector misses the face behind the blinds (checked in the fixture).
    """
    import cv2

    height, width = SIZE
    fade = np.linspace(0, 1, height)[:, None, None]
    sky = np.array([120, 160, 210]) * (1 - fade) + np.array([200, 210, 225]) * fade
    canvas = np.broadcast_to(sky, (height, width, 3)).astype(np.uint8).copy()
    rng = np.random.default_rng(3)
    for x in range(0, width, 60):
        tall = int(rng.integers(120, 260))
        cv2.rectangle(
            canvas, (x, height - tall), (x + 55, height), [int(v) for v in rng.integers(70, 150, 3)], -1
        )
        for wy in range(height - tall + 10, height - 10, 24):
            for wx in (x + 8, x + 30):
                cv2.rectangle(canvas, (wx, wy), (wx + 14, wy + 12), (230, 220, 150), -1)
    x1, y1, x2, y2 = POSTER
    cv2.rectangle(canvas, (x1, y1), (x2, y2), (200, 60, 60), -1)
    cv2.circle(canvas, ((x1 + x2) // 2, y1 + 40), 22, (240, 200, 170), -1)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 1)
    face = cv2.resize(astronaut[45:185, 165:275], (82, 105))
    face[::6] = face[1::6] = face[2::6] = 128
    canvas[100:205, 300:382] = face
    return canvas


@pytest.fixture
def review(tmp_path: Path, astronaut: np.ndarray) -> Iterator[ReviewServer]:
    from unseen.demo import write_sample

    folder = tmp_path / "photos"
    write_sample(folder)
    Image.fromarray(street(astronaut)).save(folder / "street.png")
    Image.fromarray(np.tile(np.linspace(40, 220, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))).save(
        folder / "sky.png"
    )
    srv = serve(folder, tmp_path / "out", Settings(), detector=PosterDetector())
    assert srv.catalog.detector is not None
    found = srv.catalog.detector.detect(street(astronaut))
    assert not (len(found) and (iou_matrix(found.boxes, np.array([MISSED], np.float32)) > 0.3).any())
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.exporter.wait(60)


@pytest.fixture
def page(review: ReviewServer) -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 760})
        page = context.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


LOADED = "img => img.complete && img.naturalWidth > 0"  # evaluated as a function: the CSP forbids eval


def until(check: Callable[[], bool], seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def screenshot(page: Any, path: Path) -> None:
    """A small PNG for the README: 64 colours are plenty for a user interface."""
    page.mouse.move(0, 0)
    page.screenshot(path=str(path))
    Image.open(path).convert("RGB").quantize(64).save(path, optimize=True)


def drag(page: Any, item: dict[str, int], box: tuple[int, int, int, int]) -> None:
    """Drag across `box` (photo pixels) on the editor's picture."""
    until(lambda: page.locator("#picture").evaluate(LOADED))
    where = page.locator("#picture").bounding_box()
    sx, sy = where["width"] / item["width"], where["height"] / item["height"]
    x1, y1, x2, y2 = box
    with page.expect_response(lambda r: r.url.endswith("/edits") and r.ok):
        page.mouse.move(where["x"] + x1 * sx, where["y"] + y1 * sy)
        page.mouse.down()
        page.mouse.move(where["x"] + x2 * sx, where["y"] + y2 * sy, steps=8)
        page.mouse.up()


def watch(page: Any) -> tuple[list[str], list[str], str | None]:
    """What the page requests, the errors on its console, and where to save screenshots."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    return requests, errors, os.environ.get("UNSEEN_SCREENSHOTS")


def test_review_in_the_browser(review: ReviewServer, page: Any) -> None:
    requests, errors, shots = watch(page)

    page.goto(review.url)
    cards = page.locator(".card")
    sync_api.expect(cards).to_have_count(3)
    until(lambda: all(cards.nth(i).locator("img").evaluate(LOADED) for i in range(3)))
    assert not [u for u in requests if "/original" in u], "no original unless asked"
    sync_api.expect(page.locator('.card[data-id="0"] .faces')).to_have_text("1 face")  # the astronaut
    assert all(u.startswith(f"http://127.0.0.1:{review.server_port}/") for u in requests)
    if shots:
        screenshot(page, Path(shots) / "review-grid.png")

    street_id = next(i.id for i in review.catalog.items if i.name == "street.png")
    page.locator(f'.card[data-id="{street_id}"] a').click()
    sync_api.expect(page.locator("#overlay .mask.detected")).to_have_count(1)  # the poster only
    item = {"width": SIZE[1], "height": SIZE[0]}

    drag(page, item, MISSED)
    sync_api.expect(page.locator("#overlay .mask.added")).to_have_count(1)
    drag(page, item, (20, 20, 80, 80))  # a slip of the hand ...
    sync_api.expect(page.locator("#overlay .mask.added")).to_have_count(2)
    with page.expect_response(lambda r: r.url.endswith("/edits")):
        page.keyboard.press("z")  # ... undone
    sync_api.expect(page.locator("#overlay .mask.added")).to_have_count(1)

    with page.expect_response(lambda r: r.url.endswith("/edits")):
        page.locator("#overlay .mask.detected").click()
    sync_api.expect(page.locator("#overlay .mask.removed")).to_have_count(1)
    saved = Edits.load(sidecar_for(review.catalog.items[street_id].output))
    assert saved.removed == [POSTER] and len(saved.added) == 1, "saved as it was made"
    with page.expect_response(lambda r: r.url.endswith("/edits")):
        page.locator("#overlay .mask.removed").click()  # restored ...
    sync_api.expect(page.locator("#overlay .mask.detected")).to_have_count(1)
    page.locator("#overlay .mask.detected").hover()
    with page.expect_response(lambda r: r.url.endswith("/edits")):
        page.keyboard.press("Delete")  # ... and removed again, by keyboard
    sync_api.expect(page.locator("#overlay .mask.removed")).to_have_count(1)
    until(lambda: page.locator("#picture").evaluate(LOADED))
    if shots:
        screenshot(page, Path(shots) / "review-editor.png")

    assert not [u for u in requests if "/original" in u]
    page.keyboard.press("o")
    sync_api.expect(page.locator("#peek-label")).to_be_visible()
    assert "/original" in (page.locator("#picture").get_attribute("src") or "")
    page.keyboard.press("o")
    sync_api.expect(page.locator("#peek-label")).to_be_hidden()
    page.keyboard.press("p")
    sync_api.expect(page.locator("#title")).to_contain_text("sky.png")
    with page.expect_response(lambda r: r.url.endswith("/edits") and r.ok):
        page.select_option("#style", "noise")
    sky = next(i for i in review.catalog.items if i.name == "sky.png")
    assert Edits.load(sidecar_for(sky.output)).mask == "noise"
    page.keyboard.press("n")
    sync_api.expect(page.locator("#title")).to_contain_text("street.png \u00b7 1 face")

    page.locator("#export").click()
    results = page.locator("#results-list li")
    sync_api.expect(results).to_have_count(3, timeout=90_000)
    verdicts = {results.nth(i).get_attribute("data-verdict") for i in range(3)}
    assert verdicts == {"verified"}, page.locator("#results").inner_text()
    sync_api.expect(page.locator("#results-summary")).to_have_text("3 written, 0 refused, 0 failed")
    assert not errors

    source = np.asarray(Image.open(review.catalog.folder / "street.png")).astype(int)
    out = np.asarray(Image.open(review.catalog.out / "street.unseen.png")).astype(int)
    x1, y1, x2, y2 = MISSED
    assert (out[y1 + 15 : y2 - 15, x1 + 15 : x2 - 15] == 0).all(), "the dragged region is masked"
    x1, y1, x2, y2 = POSTER
    assert (out[y1 - 10 : y2 + 10, x1 - 10 : x2 + 10] == source[y1 - 10 : y2 + 10, x1 - 10 : x2 + 10]).all()
    assert (out[20:80, 20:80] == source[20:80, 20:80]).all(), "the undone mask is not in the output"
    astronaut = np.asarray(Image.open(review.catalog.out / "astronaut.unseen.jpg")).astype(int)
    assert astronaut[80:160, 190:260].mean() < 30
