"""Reviewing a video end to end in a real browser: Playwright driving Debian's chromium.

A batch masks a generated street clip (two "faces": one on every frame, one passing by); in the
review a person switches the passer-by's track off, masks a spot over a range of frames, undoes
a slip and exports through verification; the exported frames are then checked pixel by pixel.
Skips when playwright or chromium is absent. With UNSEEN_SCREENSHOTS=FOLDER set it saves the
README's screenshot of the video editor there (a generated picture, masked).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from unseen.edits import Edits, sidecar_for
from unseen.settings import Settings
from unseen.types import Image as Pixels
from unseen.web import ReviewServer, serve

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path(os.environ.get("UNSEEN_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
pytestmark = pytest.mark.slow

from test_review_browser import ARGS, LOADED, drag, screenshot, until, watch  # noqa: E402
from test_review_video import (  # noqa: E402
    FACE,
    FRAMES,
    PASSER,
    PASSING,
    H,
    Scripted,
    W,
    frame_number,
    write_clip,
)

SPOT = (236, 150, 300, 214)  # a face on a poster the detector never sees: masked by hand, frames 44-50
SPOT_FRAMES = range(44, 51)
SIZE = {"width": W, "height": H}


def street(index: int) -> Pixels:
    """A drawn street: sky, houses, the frame number along the top, skin-coloured ovals as faces."""
    import cv2

    fade = np.linspace(0, 1, H)[:, None, None]
    sky = np.array([120, 160, 210]) * (1 - fade) + np.array([205, 205, 200]) * fade
    image = np.broadcast_to(sky, (H, W, 3)).astype(np.uint8).copy()
    for x, top, colour in [(0, 120, (120, 90, 80)), (140, 90, (90, 110, 130)), (260, 110, (130, 120, 90))]:
        cv2.rectangle(image, (x, top), (x + 110, H), colour, -1)
    x1, y1, x2, y2 = SPOT
    cv2.rectangle(image, (x1 - 6, y1 - 6), (x2 + 6, y2 + 6), (200, 60, 60), -1)
    faces = [FACE, SPOT] + ([PASSER] if index in PASSING else [])
    for x1, y1, x2, y2 in faces:
        cv2.ellipse(image, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360,
                    (235, 195, 165), -1)  # fmt: skip
    for bit in range(8):
        image[:16, bit * 16 : bit * 16 + 16] = 255 if index >> bit & 1 else 0
    return image


@pytest.fixture
def review(tmp_path: Path) -> Iterator[ReviewServer]:
    from unseen.batch import run_batch

    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder / "street.mp4", draw=street)
    Image.fromarray(np.tile(np.linspace(40, 220, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))).save(
        folder / "sky.png"
    )
    out = tmp_path / "out"
    result = run_batch(folder, out, Settings(), workers=1, detector=Scripted())
    assert result.exit_code == 0
    srv = serve(folder, out, Settings(), detector=Scripted())
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.exporter.wait(120)
    srv.catalog.frames.close()


@pytest.fixture
def page(review: ReviewServer) -> Iterator[Any]:
    """Taller than the photo test's window: the timeline sits below the frame."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def go_to(page: Any, frame: int) -> None:
    page.locator("#scrub").fill(str(frame))
    sync_api.expect(page.locator("#frame-info")).to_contain_text(f"frame {frame + 1} of {FRAMES}")
    until(lambda: page.locator("#picture").evaluate(LOADED))


def region(frame: Pixels, box: tuple[int, int, int, int], inset: int = 8) -> Pixels:
    x1, y1, x2, y2 = box
    return frame[y1 + inset : y2 - inset, x1 + inset : x2 - inset].astype(int)


def test_review_a_video_in_the_browser(review: ReviewServer, page: Any) -> None:
    requests, errors, shots = watch(page)
    video = next(i for i in review.catalog.items if i.kind == "video")
    assert len(video.tracks) == 2, "the batch's report gave the tracks"
    passer = next(t for t in video.tracks if t["box"] == list(PASSER))

    page.goto(review.url)
    card = page.locator(f'.card[data-id="{video.id}"]')
    sync_api.expect(card.locator(".badge")).to_have_text("video")
    sync_api.expect(card.locator(".faces")).to_have_text("2 face tracks")
    until(lambda: card.locator("img").evaluate(LOADED))
    card.locator("a").click()

    rows = page.locator("#timeline .row.track")
    sync_api.expect(rows).to_have_count(2)
    sync_api.expect(page.locator("#frame-info")).to_contain_text(f"frame 1 of {FRAMES}")
    page.keyboard.press("ArrowRight")
    sync_api.expect(page.locator("#frame-info")).to_contain_text("frame 2 of")
    page.keyboard.press(" ")  # play ...
    sync_api.expect(page.locator("#play")).to_have_text("Pause")
    until(lambda: int(page.locator("#scrub").input_value()) >= 6)
    page.keyboard.press(" ")  # ... and pause
    sync_api.expect(page.locator("#play")).to_have_text("Play")
    go_to(page, 30)

    with page.expect_response(lambda r: r.url.endswith("/edits") and r.ok):
        page.locator(f'#timeline .row[data-track="{passer["track"]}"] .bar').click()
    sync_api.expect(page.locator("#timeline .row.track.off")).to_have_count(1)
    assert Edits.load(sidecar_for(video.output)).tracks_off == [passer["track"]], "saved as it was made"

    go_to(page, SPOT_FRAMES[0])
    page.locator("#range-from").click()
    go_to(page, SPOT_FRAMES[-1])
    page.keyboard.press("]")
    sync_api.expect(page.locator("#range-info")).to_have_text(
        f"frames {SPOT_FRAMES[0] + 1}\u2013{SPOT_FRAMES[-1] + 1}"
    )
    drag(page, SIZE, SPOT)
    sync_api.expect(page.locator("#timeline .row.range")).to_have_count(1)
    sync_api.expect(page.locator("#overlay .mask.range")).to_have_count(1)
    drag(page, SIZE, (20, 60, 60, 100))  # a slip of the hand ...
    sync_api.expect(page.locator("#timeline .row.range")).to_have_count(2)
    with page.expect_response(lambda r: r.url.endswith("/edits")):
        page.keyboard.press("z")  # ... undone
    sync_api.expect(page.locator("#timeline .row.range")).to_have_count(1)
    saved = Edits.load(sidecar_for(video.output))
    assert [(r["first"], r["last"]) for r in saved.added_ranges] == [(SPOT_FRAMES[0], SPOT_FRAMES[-1])]
    go_to(page, 46)
    sync_api.expect(page.locator("#overlay .mask.range")).to_have_count(1)
    if shots:
        screenshot(page, Path(shots) / "review-video.png")

    assert not [u for u in requests if "/original" in u], "no original unless asked"
    page.keyboard.press("o")
    sync_api.expect(page.locator("#peek-label")).to_be_visible()
    sync_api.expect(page.locator("#picture")).to_have_attribute("src", re.compile(r"/original\?.*&i=46$"))
    page.keyboard.press("o")
    sync_api.expect(page.locator("#peek-label")).to_be_hidden()
    sync_api.expect(page.locator("#picture")).to_have_attribute("src", re.compile(r"/frame\?.*&i=46$"))

    page.locator("#export").click()
    results = page.locator("#results-list li")
    sync_api.expect(results).to_have_count(1, timeout=120_000)
    assert results.nth(0).get_attribute("data-verdict") == "verified", page.locator("#results").inner_text()
    sync_api.expect(page.locator("#results-summary")).to_have_text("1 written, 0 refused, 0 failed")
    sync_api.expect(page.locator("#timeline .row.track.off")).to_have_count(1)  # still listed, to switch on
    assert not errors, errors
    assert all(u.startswith(f"http://127.0.0.1:{review.server_port}/") for u in requests)

    import av

    with av.open(str(video.output)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == FRAMES
    for index, frame in enumerate(frames):
        source = street(index)
        assert frame_number(frame) == index
        assert region(frame, FACE).max() < 40, f"the face is masked on frame {index}"
        if index in PASSING:
            bare = np.abs(region(frame, PASSER) - region(source, PASSER)).mean()
            assert bare < 12, f"the passer-by's track is off, yet masked on frame {index}"
        spot = region(frame, SPOT)
        if index in SPOT_FRAMES:
            assert spot.max() < 40, f"the added mask is missing on frame {index}"
        else:
            assert np.abs(spot - region(source, SPOT)).mean() < 12, (
                f"the added mask spills onto frame {index}"
            )
    report = review.exporter.snapshot()["results"][0]
    assert (report["name"], report["verdict"]) == ("street.mp4", "verified")
    assert any(t["track"] == passer["track"] for t in video.tracks), "the switched-off track stays listed"
