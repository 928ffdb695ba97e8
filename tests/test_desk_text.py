"""Text left on people and the time of a refused frame, on the desk and in its editor.

A generated photo has a name tag rendered below a pasted face; with `--text off` the run finds the
tag and leaves it, the desk says so in words, the editor offers it as a dashed box, and one click
masks it: the mask goes through the edits (the sidecar) and the next run writes it. A refused clip
names its frames with their times. Fast: fake detectors over HTTP, as the page talks; the browser
test (test_desk_browser.py) does the same in Chromium with the real models.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from test_desk import call, entries, upload
from test_text import FACE, TAG, TAG_INK, dark_share, scene
from unseen.detect import FakeDetector
from unseen.edits import Edits
from unseen.settings import Settings, TextMode
from unseen.text import FakeTextDetector
from unseen.types import Check, Finding, FindingKind, Report, TextRecord, TextReport
from unseen.web.desk import DeskServer
from unseen.web.desk_files import DeskSpace
from unseen.web.desk_queue import reasons
from unseen.web.desk_text import covered, regions_left, report_text_and_findings, text_counts, when

from support.clips import write_clip  # isort: skip


def serve(tmp_path: Path, settings: Settings, **kwargs: Any) -> DeskServer:
    srv = DeskServer(DeskSpace(tmp_path / "base"), settings, **kwargs)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    return srv


@pytest.fixture
def text_desk(tmp_path: Path) -> Iterator[DeskServer]:
    srv = serve(tmp_path, Settings(verify=False, text=TextMode.OFF), detector=FakeDetector([FACE]),
                text_detector=FakeTextDetector([TAG_INK]))  # fmt: skip
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.close()


def get(srv: DeskServer, path: str) -> Any:
    status, body = call(srv, "GET", path)
    assert status == 200, body
    return json.loads(body)


# -- the words and the arithmetic ---------------------------------------------------------------------


def test_a_region_under_a_persons_mask_is_masked_and_one_beside_it_is_not() -> None:
    assert covered((10, 10, 50, 30), [(0, 0, 60, 40)])
    assert covered((10, 10, 50, 30), [(0, 0, 100, 27)])  # 85% under it
    assert not covered((10, 10, 50, 30), [(0, 0, 30, 40)])  # half
    assert not covered((10, 10, 50, 30), [])
    report = TextReport(mode="off", regions=[
        TextRecord(box=(10, 10, 50, 30), score=0.9, on_person=True, masked=False),
        TextRecord(box=(200, 10, 250, 30), score=0.9, on_person=True, masked=False),
        TextRecord(box=(300, 10, 350, 30), score=0.9, on_person=False, masked=True),
    ])  # fmt: skip
    counts = text_counts(report, [(0, 0, 60, 40)])
    assert counts == {"mode": "off", "checked": True, "people": {"found": 2, "masked": 1, "left": 1},
                      "other": {"found": 1, "masked": 1, "left": 0}}  # fmt: skip
    assert [r["box"] for r in regions_left(report)] == [[10, 10, 50, 30], [200, 10, 250, 30]]
    assert text_counts(None, []) is None


def test_a_refused_clip_names_its_frames_with_their_times() -> None:
    report = Report(source="walk.mp4", output=None, width=320, height=240, verdict="refused")
    seen = [Finding(frame=f, box=(10, 10, 60, 60)) for f in (45, 3, 45, 8, 9, 10, 11, 12, 90)]
    known = [Finding(frame=30, box=(250, 150, 300, 200), kind=FindingKind.RECOGNIZABLE)]
    report.check = Check(findings=seen + known)
    found = reasons(report, fps=15.0)
    detected = next(r for r in found if r["kind"] == "face_found")
    assert detected["places"] == ["top-left"]
    assert [f["frame"] for f in detected["frames"]] == [3, 8, 9, 10, 11, 12]
    assert detected["frames"][0]["seconds"] == 0.2 and detected["more"] == 2  # 45 and 90 not named
    recognised = next(r for r in found if r["kind"] == "recognisable")
    assert recognised["frames"] == [{"frame": 30, "seconds": 2.0}] and recognised["places"] == [
        "bottom-right"
    ]
    assert when([], 30.0) == {"frames": [], "more": 0}


def test_unseen_review_reads_text_and_findings_from_a_batch_report() -> None:
    """`unseen review` over a batch's output: the manifest's JSON report gives the editor the same."""
    report = Report(source="a.mp4", output=None, width=320, height=240, verdict="refused")
    report.text = TextReport(mode="off", regions=[
        TextRecord(box=(10, 10, 50, 30), score=0.9, on_person=True, masked=False),
        TextRecord(box=(60, 10, 90, 30), score=0.9, on_person=False, masked=True),
    ])  # fmt: skip
    report.check = Check(findings=[Finding(frame=7, box=(1, 2, 30, 40))])
    left, masked, findings = report_text_and_findings(json.dumps(report.to_dict()))
    assert left == [{"box": [10.0, 10.0, 50.0, 30.0], "on_person": True}]
    assert masked == [[60.0, 10.0, 90.0, 30.0]]
    assert findings == [{"frame": 7, "box": [1, 2, 30, 40], "kind": "detected"}]
    assert report_text_and_findings("not json") == ([], [], [])
    assert report_text_and_findings(None) == ([], [], [])


# -- through the desk's HTTP API, as the page does -----------------------------------------------------


def test_text_left_on_a_person_is_said_offered_and_masked_in_one_click(
    text_desk: DeskServer, tmp_path: Path, astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    src = tmp_path / "tag.png"
    Image.fromarray(scene(astronaut)).save(src)
    assert upload(text_desk, "tag.png", src.read_bytes())[0] == 201
    assert text_desk.queue.wait(60)
    entry = entries(text_desk)[0]
    assert entry["state"] == "done", entry
    assert entry["text"]["people"] == {"found": 1, "masked": 0, "left": 1}, entry["text"]
    output = text_desk.catalog.items[0].output
    assert dark_share(np.asarray(Image.open(output).convert("RGB")), TAG) < 0.1, "--text off left the tag"

    # the editor is offered the tag as a region to mask, on the person
    item = get(text_desk, "/api/items/0")
    assert len(item["text_left"]) == 1
    region = item["text_left"][0]
    assert region["on_person"] and covered(region["box"], [TAG]), region
    # one click: the page sends the region as a mask; it is kept in the sidecar, no longer offered
    status, body = call(text_desk, "POST", "/api/items/0/edits", {"add_mask": region["box"]})
    assert status == 200, body
    assert json.loads(body)["text_left"] == []
    sidecar = text_desk.catalog.items[0].sidecar
    assert len(Edits.load(sidecar).added) == 1
    assert text_desk.space.holds(sidecar) and not state.exists(), "the desk's edits stay in its own folder"
    assert entries(text_desk)[0]["changed"]

    # the editor's Export: done again with the mask; the tag is gone and the desk says nothing is left
    assert call(text_desk, "POST", "/api/export", {"ids": [0]})[0] == 202
    assert text_desk.queue.wait(60)
    entry = entries(text_desk)[0]
    assert entry["state"] == "done" and not entry["changed"]
    assert entry["text"]["people"] == {"found": 1, "masked": 1, "left": 0}, entry["text"]
    pixels = np.asarray(Image.open(output).convert("RGB"))
    x1, y1, x2, y2 = TAG
    assert pixels[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4].std() < 3, "the tag is under one flat mask"
    out = tmp_path / "saved"
    out.mkdir()
    status, body = call(text_desk, "POST", "/api/save", {"folder": str(out)})
    assert status == 200, body
    saved = np.asarray(Image.open(out / "tag.unseen.png").convert("RGB"))
    assert np.array_equal(saved, pixels), "what is saved is what was checked"


def test_text_in_mode_people_is_masked_and_nothing_is_offered(tmp_path: Path, astronaut: np.ndarray) -> None:
    srv = serve(tmp_path, Settings(verify=False), detector=FakeDetector([FACE]),
                text_detector=FakeTextDetector([TAG_INK]))  # fmt: skip
    try:
        src = tmp_path / "tag.png"
        Image.fromarray(scene(astronaut)).save(src)
        assert upload(srv, "tag.png", src.read_bytes())[0] == 201
        assert srv.queue.wait(60)
        entry = entries(srv)[0]
        assert entry["text"]["mode"] == "people"
        assert entry["text"]["people"]["masked"] >= 1 and entry["text"]["people"]["left"] == 0, entry["text"]
        assert get(srv, "/api/items/0")["text_left"] == []
        # the editor's preview and the desk's thumbnail mask that text too, as the output does
        status, body = call(srv, "GET", "/api/items/0/preview")
        assert status == 200
        preview = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))
        x1, y1, x2, y2 = TAG
        assert dark_share(preview, (x1 + 8, y1 + 6, x1 + 120, y1 + 30)) > 0.9, "the name tag is masked"
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()


class AlwaysFinds:
    """A verifier that finds a face near the top left corner however much is masked: refused."""

    def check(self, original: Any, masked: Any, detections: Any, area: Any, opaque: Any = None) -> Check:
        return Check(redetected=1, redetected_boxes=[(10, 10, 60, 60)])


def test_a_refused_clip_says_when_on_the_desk_and_in_the_editor(tmp_path: Path) -> None:
    clip = tmp_path / "walk.mp4"
    write_clip(clip, frames=30)
    srv = serve(tmp_path, Settings(), detector=FakeDetector([]), verifier=AlwaysFinds())
    try:
        assert upload(srv, "walk.mp4", clip.read_bytes())[0] == 201
        assert srv.queue.wait(120)
        entry = entries(srv)[0]
        assert entry["state"] == "refused", entry
        fps = get(srv, "/api/items/0")["fps"]
        named = [f for r in entry["reasons"] for f in r.get("frames", [])]
        assert named, entry["reasons"]
        assert all(f["seconds"] == round(f["frame"] / fps, 2) for f in named), named
        item = get(srv, "/api/items/0")
        assert [f["frame"] for f in item["findings"]] == [f["frame"] for f in named][: len(item["findings"])]
        assert all(f["seconds"] == round(f["frame"] / fps, 2) for f in item["findings"])
        assert not srv.catalog.items[0].output.exists(), "refused: nothing written"
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()
