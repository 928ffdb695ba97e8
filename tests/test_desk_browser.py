"""The desk end to end in a real browser: Playwright driving Debian's chromium, real models.

A person drops a photo and a short video on the page, watches them masked and verified, opens
the photo in the editor and adds a mask, comes back, adds one more photo from the keyboard
alone, saves everything into a folder they type and downloads the zip; the saved pixels and
metadata are then checked (exiftool). Runs in English, and in Russian (chosen by the browser's
language) with the photo alone up to the editor and back (the whole flow when screenshots are
asked for). axe-core
(npm, installed into a cache folder by the test) must find no serious or critical violation.
Skips when playwright or chromium is absent. With UNSEEN_SCREENSHOTS=FOLDER set it saves
docs/desk-*.png (generated pictures and the public-domain astronaut only).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from conftest import ASTRONAUT_FACE
from unseen.models import default_detector
from unseen.settings import Settings
from unseen.web.desk import DeskServer
from unseen.web.desk_files import DeskSpace

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = Path(os.environ.get("UNSEEN_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium)", allow_module_level=True)
pytestmark = pytest.mark.slow

from test_review_browser import ARGS, LOADED, drag, screenshot, until, watch  # noqa: E402

AXE_VERSION = "4.10.3"
W, H, FPS, FRAMES = 320, 240, 15, 30
HEAD = (84, 105)  # width, height of the astronaut's head pasted into the clip
ADDED = (380, 330, 470, 420)  # a place on the photo with no face: masked by hand in the editor
STATIC = Path(__file__).resolve().parents[1] / "src" / "unseen" / "web" / "static"


def head_at(index: int) -> tuple[int, int, int, int]:
    """Where the head is on frame `index`: it walks from left to right."""
    x = 30 + index * 6
    return (x, 60, x + HEAD[0], 60 + HEAD[1])


def write_walk(path: Path, astronaut: np.ndarray) -> None:
    """A short H.264 clip of the astronaut's head crossing a grey street, with a planted location."""
    import cv2

    x1, y1, x2, y2 = ASTRONAUT_FACE
    head = cv2.resize(astronaut[y1:y2, x1:x2], HEAD, interpolation=cv2.INTER_AREA)
    with av.open(str(path), "w") as out:
        out.metadata["location"] = "+55.7558+037.6173/"
        out.metadata["title"] = "Pushkin Square, 12:40"
        video = out.add_stream("libx264", rate=FPS, options={"crf": "16"})
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        for i in range(FRAMES):
            canvas = np.full((H, W, 3), 120, np.uint8)
            canvas[170:] = (90, 90, 95)
            a1, b1, a2, b2 = head_at(i)
            canvas[b1:b2, a1:a2] = head
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode())


def axe_source() -> str | None:
    """axe.min.js, installed once with npm into a cache folder; None when npm is missing or fails."""
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        / "unseen-tests"
        / f"axe-{AXE_VERSION}"
    )
    script = cache / "node_modules" / "axe-core" / "axe.min.js"
    npm = shutil.which("npm")
    if not script.exists() and npm is not None:
        command = [
            npm,
            "install",
            "--prefix",
            str(cache),
            "--no-audit",
            "--no-fund",
            f"axe-core@{AXE_VERSION}",
        ]
        subprocess.run(command, capture_output=True, timeout=600, check=False)
    return script.read_text() if script.exists() else None


def serious_violations(page: Any, axe: str) -> list[dict[str, Any]]:
    """What axe-core finds on the page as it is now, serious and critical only."""
    page.evaluate(axe + "\n;0")
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(" "))}))"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.fixture(scope="module")
def axe() -> str | None:
    return axe_source()


class Steady:
    """The real detector, a little slower on the clip's frames: the page's progress is seen for sure."""

    def __init__(self) -> None:
        self.real = default_detector(Settings())

    def detect(self, image: Any) -> Any:
        if image.shape[:2] == (H, W):
            time.sleep(0.15)
        return self.real.detect(image)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DeskServer]:
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(space, Settings(), detector=Steady())
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.close()
    assert not space.root.exists()


def open_page(p: Any, lang: str) -> tuple[Any, Any]:
    browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
    locale = {"en": "en-GB", "ru": "ru-RU"}[lang]
    context = browser.new_context(
        viewport={"width": 1100, "height": 900}, locale=locale, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    return browser, page


def drop(page: Any, files: list[Path]) -> None:
    """Drop files onto the page as a file manager would."""
    kinds = {".mp4": "video/mp4", ".png": "image/png"}
    sent = [
        [f.name, base64.b64encode(f.read_bytes()).decode(), kinds.get(f.suffix, "image/jpeg")] for f in files
    ]
    transfer = page.evaluate_handle(
        """files => {
            const transfer = new DataTransfer();
            for (const [name, data, type] of files) {
                const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name, { type }));
            }
            return transfer;
        }""",
        sent,
    )
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})


def each_language(srv: DeskServer, dropped: Path, state: str) -> Iterator[tuple[str, Any, Any]]:
    """The desk in English (where the file is dropped) and then in Russian: each language, its
    page, and the file's entry once it has reached `state`."""
    with sync_api.sync_playwright() as p:
        for lang in ("en", "ru"):
            browser, page = open_page(p, lang)
            page.goto(srv.url)
            if lang == "en":
                drop(page, [dropped])
            entry = page.locator('#list li[data-id="0"]')
            sync_api.expect(entry).to_have_attribute("data-state", state, timeout=60_000)
            yield lang, page, entry
            browser.close()


def words(lang: str) -> dict[str, Any]:
    return dict(json.loads((STATIC / "locales" / f"{lang}.json").read_text(encoding="utf-8")))


def is_masked(pixels: np.ndarray, box: tuple[int, int, int, int], inset: int) -> bool:
    """The box (inset) is one flat colour: nothing of what was there is left."""
    x1, y1, x2, y2 = box
    return bool(pixels[y1 + inset : y2 - inset, x1 + inset : x2 - inset].astype(float).std() < 6)


def exif_tags(path: Path) -> dict[str, Any]:
    result = subprocess.run(["exiftool", "-j", "-a", "-G1", "-ee", str(path)], capture_output=True, text=True)
    return dict(json.loads(result.stdout)[0])


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_desk_in_the_browser(
    desk: DeskServer, tmp_path: Path, astronaut: np.ndarray, axe: str | None, lang: str
) -> None:
    from unseen.demo import write_sample

    photo = write_sample(tmp_path / "mine")
    clip = tmp_path / "mine" / "walk.mp4"
    write_walk(clip, astronaut)
    sky = tmp_path / "mine" / "sky.png"
    Image.fromarray(np.tile(np.linspace(40, 220, 320, dtype=np.uint8)[None, :, None], (240, 1, 3))).save(sky)
    shots = os.environ.get("UNSEEN_SCREENSHOTS")
    shot = (lambda page, step: screenshot(page, Path(shots) / f"desk-{step}-{lang}.png")) if shots else None
    text = words(lang)
    violations: dict[str, list[dict[str, Any]]] = {}

    with sync_api.sync_playwright() as p:
        browser, page = open_page(p, lang)
        requests, errors, _ = watch(page)
        choosers: list[Any] = []
        page.on(
            "filechooser", lambda chooser: choosers.append(chooser)
        )  # listening from the start: no chooser can slip past
        page.goto(desk.url)
        assert page.locator("html").get_attribute("lang") == lang, "chosen from the browser's language"
        sync_api.expect(page.locator("h1")).to_have_text(text["title"])
        if shot:
            shot(page, "1-start")
        if axe:
            violations["start"] = serious_violations(page, axe)

        # the whole flow, with the video, runs once (in English); the other language's pages are
        # looked at with the photo alone, unless screenshots are made
        whole = lang == "en" or shot is not None
        dropped = [photo, clip] if whole else [photo]
        drop(page, dropped)
        entries = page.locator("#list li.entry")
        sync_api.expect(entries).to_have_count(len(dropped))
        video = page.locator('#list li[data-id="1"]')
        if whole:
            sync_api.expect(video.locator("progress")).to_be_visible(timeout=180_000)  # frames, time left
            sync_api.expect(video.locator(".words")).to_contain_text(str(FRAMES))
        if shot:
            shot(page, "2-working")
        done = page.locator('#list li[data-state="done"]')
        sync_api.expect(done).to_have_count(len(dropped), timeout=300_000)
        photo_entry = page.locator('#list li[data-id="0"]')
        sync_api.expect(photo_entry.locator(".words")).to_contain_text(text["meta.GPS"])
        sync_api.expect(photo_entry.locator(".words .ok")).to_have_text(text["done.verified"])
        until(lambda: photo_entry.locator(".thumb img").evaluate(LOADED))
        if whole:
            until(lambda: video.locator(".thumb img").evaluate(LOADED))
        assert "distance" not in page.locator("#list").inner_text()
        if shot:
            shot(page, "3-done")
        if axe:
            violations["done"] = serious_violations(page, axe)

        # review: the photo in the editor, a mask added by hand, exported again, back to the desk
        photo_entry.locator("a.button").click()
        sync_api.expect(page.locator("#overlay .mask.detected")).to_have_count(
            1, timeout=120_000
        )  # the editor detects on first open: slow under load
        drag(page, {"width": 512, "height": 512}, ADDED)
        sync_api.expect(page.locator("#overlay .mask.added")).to_have_count(1)
        until(lambda: page.locator("#picture").evaluate(LOADED))
        if shot:
            shot(page, "4-review")
        if axe:
            violations["review"] = serious_violations(page, axe)
        page.locator("#export-one").click()
        sync_api.expect(page.locator("#results-list li")).to_have_count(1, timeout=120_000)
        assert page.locator("#results-list li").get_attribute("data-verdict") == "verified"
        page.locator("#desk-link").click()
        sync_api.expect(done).to_have_count(len(dropped), timeout=120_000)
        assert not desk.queue.entries[0].as_dict()["changed"]
        if not whole:
            # the other languages' pages are looked at (words, axe) up to here; the rest of the
            # flow is the same code in every language and runs once, in English
            browser.close()
            for step, found in violations.items():
                assert not found, f"axe-core, {step}: {found}"
            return

        # one more, from the keyboard alone: Tab to the picker, Enter, choose
        visited = []
        for _ in range(12):
            page.keyboard.press("Tab")
            visited.append(page.evaluate("() => document.activeElement.id || document.activeElement.tagName"))
            if visited[-1] == "choose-files":
                break
        assert visited[-1] == "choose-files", visited
        for _ in range(3):  # headless chromium now and then drops a chooser opened right after a load
            page.keyboard.press("Enter")
            page.wait_for_timeout(2000)
            if choosers:
                break
        assert choosers, "Enter on the button opens the file chooser"
        choosers[0].set_files(str(sky))
        sync_api.expect(page.locator('#list li[data-state="done"]')).to_have_count(3, timeout=120_000)

        # the language switch, then back
        page.select_option("#language", "uk")
        sync_api.expect(page.locator("h1")).to_have_text(words("uk")["title"])
        sync_api.expect(page.locator("#overall")).to_contain_text(
            words("uk")["files.finished"]["few"].split(" ")[0]
        )
        page.select_option("#language", lang)
        sync_api.expect(page.locator("h1")).to_have_text(text["title"])

        # save into a folder the person types, then download the zip
        out = tmp_path / "masked"
        page.locator("#folder").fill(str(out))
        page.locator("#folder").press("Enter")
        sync_api.expect(page.locator("#export-status")).to_contain_text(str(out))
        sync_api.expect(page.locator("#summary-rows tr")).to_have_count(3)
        with page.expect_download() as download:
            page.locator("#zip").click()
        zipped = zipfile.ZipFile(download.value.path())
        if shot:
            page.locator("#export").scroll_into_view_if_needed()
            shot(page, "5-saved")
        if axe:
            violations["saved"] = serious_violations(page, axe)
        assert not errors, errors
        assert all(u.startswith(f"http://127.0.0.1:{desk.server_port}/") for u in requests)
        browser.close()

    saved = sorted(p.name for p in out.iterdir())
    assert saved == ["astronaut.unseen.jpg", "sky.unseen.png", "walk.unseen.mp4"]
    assert sorted(zipped.namelist()) == saved
    assert zipped.read("walk.unseen.mp4") == (out / "walk.unseen.mp4").read_bytes()

    pixels = np.asarray(Image.open(out / "astronaut.unseen.jpg").convert("RGB"))
    assert is_masked(pixels, ASTRONAUT_FACE, 25), "the face is masked"
    assert is_masked(pixels, ADDED, 15), "the mask added in the editor is in the saved file"
    assert not is_masked(np.asarray(Image.open(photo).convert("RGB")), ADDED, 15), "it was not flat before"
    tags = exif_tags(out / "astronaut.unseen.jpg")
    assert not {k for k in tags if k.split(":")[0] in ("IFD0", "ExifIFD", "GPS", "XMP-x", "IPTC")}, tags
    assert "Jane Photographer" not in json.dumps(tags)

    with av.open(str(out / "walk.unseen.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == FRAMES
    assert all(is_masked(f, head_at(i), 14) for i, f in enumerate(frames)), (
        "the head is masked on every frame"
    )
    detector = default_detector(Settings())
    assert not any(len(detector.detect(f)) for f in frames[::5]), "no face is found in the saved video"
    tags = json.dumps(exif_tags(out / "walk.unseen.mp4"))
    assert "55.7558" not in tags and "55 deg" not in tags and "Pushkin" not in tags, tags

    for step, found in violations.items():
        assert not found, f"axe-core, {step}: {found}"


def test_axe_core_is_available_for_the_accessibility_check(axe: str | None) -> None:
    if axe is None:
        pytest.skip("npm is missing or could not install axe-core: the accessibility check did not run")
    assert "axe" in axe[:2000]


class AlwaysFinds:
    """A verifier that keeps finding a face near the top left corner: every photo is refused."""

    def check(self, original: Any, masked: Any, detections: Any, area: Any, opaque: Any = None) -> Any:
        from unseen.types import Check

        return Check(redetected=1, redetected_boxes=[(10, 10, 60, 60)])


def test_a_refused_file_says_what_to_look_at_and_where(tmp_path: Path, axe: str | None) -> None:
    from unseen.demo import write_sample
    from unseen.detect import FakeDetector

    photo = write_sample(tmp_path / "mine")
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(space, Settings(), detector=FakeDetector([ASTRONAUT_FACE]), verifier=AlwaysFinds())
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    shots = os.environ.get("UNSEEN_SCREENSHOTS")
    try:
        for lang, page, entry in each_language(srv, photo, "refused"):
            text = words(lang)
            said = entry.locator(".words").inner_text()
            assert text["refused.title"] in said
            assert text["refused.face_found"].replace("{places}", text["where.top-left"]) in said
            assert text["refused.advice"] in said
            sync_api.expect(entry.locator("a.button")).to_have_attribute("href", re.compile(r"#item/0$"))
            sync_api.expect(page.locator("#summary-rows")).to_contain_text(text["summary.refused"])
            if shots:
                screenshot(page, Path(shots) / f"desk-refused-{lang}.png")
            if axe:
                assert not serious_violations(page, axe)
        status = srv.queue.entries[0].as_dict()
        assert status["state"] == "refused" and not srv.catalog.items[0].output.exists(), "nothing written"
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()


def test_a_clip_that_lost_much_of_its_picture_to_masks_says_so(tmp_path: Path) -> None:
    """The check takes a body for a face and it is masked, as on selfie_walk.mp4: the desk says
    in the person's language how much of the picture that took, on which frame and when, and
    what to do about it (the CLI line said it before; the desk did not)."""
    from support.clips import Scripted, numbered, write_clip
    from unseen.verify.verifier import FakeVerifier

    clip = tmp_path / "walk.mp4"
    face = (140.0, 80.0, 180.0, 130.0)
    write_clip(clip, frames=40, draw=lambda i: numbered(i, face=[face]))
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(
        space, Settings(), detector=Scripted(lambda i: [face]), verifier=FakeVerifier([(120, 140, 200, 230)])
    )
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        for lang, _, entry in each_language(srv, clip, "done"):
            said = entry.locator(".words").inner_text()
            [wide] = [w for w in srv.queue.entries[0].as_dict()["masks_wide"] if w["kind"] == "found"]
            start = words(lang)["done.masks_found"].split("{percent}")[0]
            assert f"{start}{wide['percent']}%" in said
            assert f"{wide['frame'] + 1}, 00:0" in said, "the frame, counted from 1, and its time"
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()


def test_a_picked_folder_keeps_its_layout(tmp_path: Path) -> None:
    from unseen.detect import FakeDetector

    trip = tmp_path / "trip"
    (trip / "day 2").mkdir(parents=True)
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(trip / "a.png")
    Image.fromarray(np.full((120, 160, 3), 160, np.uint8)).save(trip / "day 2" / "b.png")
    (trip / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (trip / "notes.txt").write_text("not a picture")
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(space, Settings(verify=False), detector=FakeDetector([]))
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        with sync_api.sync_playwright() as p:
            browser, page = open_page(p, "en")
            page.goto(srv.url)
            page.set_input_files("#pick-folder", str(trip))
            sync_api.expect(page.locator("#list li.entry")).to_have_count(3)
            sync_api.expect(page.locator('#list li[data-state="done"]')).to_have_count(2, timeout=60_000)
            names = sorted(page.locator("#list .name").all_inner_texts())
            assert names == ["trip/a.png", "trip/day 2/b.png", "trip/notes.txt"], "hidden files are left out"
            sync_api.expect(page.locator('#list li[data-state="skipped"] .words')).to_have_text(
                words("en")["skipped"]
            )
            browser.close()
        ready = sorted(name for _, name in srv.ready())
        assert ready == ["trip/a.unseen.png", "trip/day 2/b.unseen.png"], "exported in the same layout"
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()
