"""Text left on a person, in Chromium with the real models: said on the desk, masked from the keyboard.

A generated photo (the public-domain astronaut's head pasted above a rendered name tag) is dropped
on a desk that runs `--text off`, so the real text detector finds the tag and the run leaves it.
The desk says "1 text region on people left" in the page's language, the summary says what was
left, and the editor shows the tag as a dashed box; Tab to it, Enter: it becomes a mask, the
editor's Export writes it, verified, and the desk no longer says anything was left. The written
pixels are checked. axe-core finds no serious or critical violation on the editor. With
UNSEEN_SCREENSHOTS=FOLDER set it saves review-text-*.png and desk-text-*.png.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from unseen.settings import Settings, TextMode
from unseen.text import text_available
from unseen.web.desk import DeskServer
from unseen.web.desk_files import DeskSpace

sync_api = pytest.importorskip("playwright.sync_api")
from test_desk_browser import CHROMIUM, axe_source, drop, open_page, serious_violations, words  # noqa: E402
from test_review_browser import LOADED, screenshot, until, watch  # noqa: E402
from test_text import FACE, SIGN, TAG, scene  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is absent"),
    pytest.mark.skipif(not text_available(), reason="the text extra is not installed"),
]


@pytest.fixture(scope="module")
def axe() -> str | None:
    return axe_source()


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DeskServer]:
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(space, Settings(text=TextMode.OFF))
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.close()
    assert not space.root.exists()


def flat_scene(astronaut: np.ndarray) -> np.ndarray:
    """test_text's scene on a flat grey ground: the same head, tag and sign; small screenshots."""
    image = scene(astronaut).copy()
    keep = np.zeros(image.shape[:2], bool)
    for x1, y1, x2, y2 in (FACE, TAG, SIGN):
        keep[y1:y2, x1:x2] = True
    image[~keep] = 135
    return image


def plural(text: dict[str, str] | str, n: int, lang: str) -> str:
    """The form the page picks for n (1 here: "one" in all four languages)."""
    assert n == 1
    return (text["one"] if isinstance(text, dict) else text).replace("{n}", str(n))


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_text_on_a_person_is_said_and_masked_from_the_keyboard(
    desk: DeskServer, tmp_path: Path, astronaut: np.ndarray, axe: str | None, lang: str
) -> None:
    photo = tmp_path / "badge.png"
    Image.fromarray(flat_scene(astronaut)).save(photo)
    text = words(lang)
    shots = os.environ.get("UNSEEN_SCREENSHOTS")
    with sync_api.sync_playwright() as p:
        browser, page = open_page(p, lang)
        _, errors, _ = watch(page)
        page.goto(desk.url)
        drop(page, [photo])
        entry = page.locator('#list li[data-id="0"]')
        sync_api.expect(entry).to_have_attribute("data-state", "done", timeout=300_000)
        left = plural(text["done.text_people_left"], 1, lang)
        sync_api.expect(entry.locator(".words")).to_contain_text(left)
        sync_api.expect(page.locator("#summary-rows")).to_contain_text(
            plural(text["summary.text_people_left"], 1, lang)
        )
        until(lambda: entry.locator(".thumb img").evaluate(LOADED))
        if shots:
            entry.scroll_into_view_if_needed()
            screenshot(page, Path(shots) / f"desk-text-{lang}.png")

        entry.locator("a.button").click()
        dashed = page.locator("#overlay .mask.text")
        sync_api.expect(dashed).to_have_count(1, timeout=60_000)
        label = text["editor.text_person"]
        sync_api.expect(dashed).to_have_attribute("aria-label", label)
        sync_api.expect(page.locator("h1")).to_have_text(text["editor.title"])
        until(lambda: page.locator("#picture").evaluate(LOADED))
        if axe:
            assert not serious_violations(page, axe), "axe-core on the editor"
        if shots:
            screenshot(page, Path(shots) / f"review-text-{lang}.png")
        # the keyboard alone: Tab until the dashed box has the focus, then Enter
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.classList.contains('text')"):
                break
        assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == label
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#overlay .mask.added")).to_have_count(1)
        sync_api.expect(dashed).to_have_count(0)
        page.locator("#export-one").click()
        sync_api.expect(page.locator("#results-list li")).to_have_count(1, timeout=300_000)
        assert page.locator("#results-list li").get_attribute("data-verdict") == "verified"
        page.locator("#desk-link").click()
        sync_api.expect(entry).to_have_attribute("data-state", "done", timeout=300_000)
        sync_api.expect(entry.locator(".words")).not_to_contain_text(left)
        sync_api.expect(page.locator("#summary-rows")).to_contain_text(text["summary.not_saved"])
        assert not errors, errors
        browser.close()

    state = desk.queue.entries[0].as_dict()
    assert state["text"]["people"]["left"] == 0 and state["text"]["people"]["masked"] >= 1, state["text"]
    pixels = np.asarray(Image.open(desk.catalog.items[0].output).convert("RGB")).astype(float)
    before = np.asarray(Image.open(photo).convert("RGB")).astype(float)
    (region,) = desk.catalog.items[0].text_left  # what the text detector found on the tag
    x1, y1, x2, y2 = (int(round(v)) for v in region["box"])
    assert TAG[0] - 10 <= x1 < x2 <= TAG[2] + 10 and TAG[1] - 10 <= y1 < y2 <= TAG[3] + 10, region
    assert before[y1:y2, x1:x2].std() > 30, "the words were readable before"
    assert pixels[y1:y2, x1:x2].std() < 6, "the words are under one flat mask in the written file"


class AlwaysFinds:
    """A verifier that finds a face near the top left corner however much is masked: refused."""

    def check(self, original: Any, masked: Any, detections: Any, area: Any, opaque: Any = None) -> Any:
        from unseen.types import Check

        return Check(redetected=1, redetected_boxes=[(10, 10, 60, 60)])


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_refused_clip_says_when_and_the_editor_goes_there(
    tmp_path: Path, axe: str | None, lang: str
) -> None:
    from support.clips import write_clip
    from unseen.detect import FakeDetector

    clip = tmp_path / "walk.mp4"
    write_clip(clip, frames=30)
    srv = DeskServer(
        DeskSpace(tmp_path / "base"), Settings(), detector=FakeDetector([]), verifier=AlwaysFinds()
    )
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    text = words(lang)
    shots = os.environ.get("UNSEEN_SCREENSHOTS")
    try:
        with sync_api.sync_playwright() as p:
            browser, page = open_page(p, lang)
            _, errors, _ = watch(page)
            page.goto(srv.url)
            drop(page, [clip])
            entry = page.locator('#list li[data-id="0"]')
            sync_api.expect(entry).to_have_attribute("data-state", "refused", timeout=120_000)
            reasons = srv.queue.entries[0].reasons
            first = next(r["frames"][0] for r in reasons if r.get("frames"))
            seconds = first["seconds"]
            stamp = f"{int(seconds // 60):02d}:{seconds % 60:04.1f}"
            said = (
                text["refused.at_frame"].replace("{frame}", str(first["frame"] + 1)).replace("{time}", stamp)
            )
            sync_api.expect(entry.locator(".words")).to_contain_text(said)
            if shots:
                screenshot(page, Path(shots) / f"desk-refused-video-{lang}.png")

            entry.locator("a.button").click()
            jumps = page.locator("#refusal button.jump")
            sync_api.expect(jumps.first).to_have_text(
                text["editor.at_frame"].replace("{frame}", str(first["frame"] + 1)).replace("{time}", stamp)
            )
            last = jumps.last
            frame = int(last.inner_text().split()[1])
            last.focus()
            page.keyboard.press("Enter")
            shown = text["editor.frame_info"].split("{frame}")[0] + str(frame)
            sync_api.expect(page.locator("#frame-info")).to_contain_text(shown)
            sync_api.expect(page.locator("#range-info")).to_have_text(
                text["editor.frame"].replace("{frame}", str(frame))
            )
            until(lambda: page.locator("#picture").evaluate(LOADED))
            if axe:
                assert not serious_violations(page, axe), "axe-core on the editor of a refused clip"
            if shots:
                screenshot(page, Path(shots) / f"review-refused-video-{lang}.png")
            assert not errors, errors
            browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()
