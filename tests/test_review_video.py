"""Reviewing a video: listing, frames by number, tracks from the run's report, edits, export.

Clips are generated here with PyAV: grey frames with the frame number drawn in binary along the
top and light patches as "faces", which a scripted detector reports by reading that number.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import threading
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from unseen.edits import Edits, sidecar_for
from unseen.redact import mask_area
from unseen.settings import Settings
from unseen.types import Detections
from unseen.types import Image as Pixels
from unseen.web import ReviewServer, serve
from unseen.web.frames import VideoFrames

W, H, FPS, FRAMES = 320, 240, 30, 60
FACE = (60, 70, 120, 150)  # on every frame
PASSER = (200, 60, 250, 120)  # frames 20 to 39 only
PASSING = range(20, 40)
FAST = Settings(verify=False)


def numbered(index: int, faces: list[tuple[int, int, int, int]] | None = None, black: bool = False) -> Pixels:
    """Grey, the frame number in 16 px black/white cells along the top, faces as light patches."""
    image = np.full((H, W, 3), 128, np.uint8)
    for bit in range(8):
        image[:16, bit * 16 : bit * 16 + 16] = 255 if index >> bit & 1 else 0
    for x1, y1, x2, y2 in faces if faces is not None else faces_at(index):
        image[y1:y2, x1:x2] = 0 if black else 230
    return image


def faces_at(index: int) -> list[tuple[int, int, int, int]]:
    return [FACE, PASSER] if index in PASSING else [FACE]


def frame_number(image: Pixels) -> int:
    return sum(1 << bit for bit in range(8) if image[4:12, bit * 16 + 4 : bit * 16 + 12].mean() > 128)


def write_clip(path: Path, draw: Any = numbered, frames: int = FRAMES, rotation: int | None = None) -> None:
    """H.264 with B-frames and a keyframe every 12 frames, so frames are found by seeking."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"crf": "12", "g": "12", "bf": "2"})
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        if rotation is not None:
            video.set_display_rotation(rotation)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(draw(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode())


class Scripted:
    """Finds the faces `faces_at` says the frame holds, by the number drawn in it."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: Pixels) -> Detections:
        self.calls += 1
        boxes = faces_at(frame_number(image)) if image.shape[:2] == (H, W) else []
        return Detections(np.float32(boxes).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder / "walk.mp4")
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(folder / "still.png")
    (folder / "notes.txt").write_text("neither")
    return folder


def start(srv: ReviewServer) -> ReviewServer:
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    return srv


@pytest.fixture
def server(folder: Path, tmp_path: Path) -> Iterator[ReviewServer]:
    before = {p: p.read_bytes() for p in folder.rglob("*")}
    srv = start(serve(folder, tmp_path / "out", FAST, detector=Scripted()))
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.exporter.wait(60)
    srv.catalog.frames.close()
    assert {p: p.read_bytes() for p in folder.rglob("*")} == before, "the reviewed folder is never written"


def request(srv: ReviewServer, path: str, body: object = None, token: str | None = None) -> tuple[int, bytes]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=60)
    headers = {"X-Unseen-Token": srv.token if token is None else token}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request("POST" if body is not None else "GET", path, body=data, headers=headers)
    response = conn.getresponse()
    out = response.status, response.read()
    conn.close()
    return out


def get_json(srv: ReviewServer, path: str, body: object = None) -> Any:
    status, data = request(srv, path, body)
    assert status in (200, 202), data
    return json.loads(data)


def picture(data: bytes) -> Pixels:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def is_masked(image: Pixels, box: tuple[int, int, int, int], inset: int = 6) -> bool:
    x1, y1, x2, y2 = box
    return bool(image[y1 + inset : y2 - inset, x1 + inset : x2 - inset].max() < 40)


def is_bare(image: Pixels, box: tuple[int, int, int, int], inset: int = 6) -> bool:
    x1, y1, x2, y2 = box
    return bool(image[y1 + inset : y2 - inset, x1 + inset : x2 - inset].min() > 200)


def decoded(path: Path) -> list[Pixels]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# -- frames by number -------------------------------------------------------------------------------


def test_frames_are_found_by_number_in_any_order(tmp_path: Path) -> None:
    write_clip(tmp_path / "a.mp4")
    frames = VideoFrames(10**9)
    info = frames.info(tmp_path / "a.mp4")
    assert (info.width, info.height, info.frames, info.fps) == (W, H, FRAMES, FPS)
    order = [0, 1, 2, 59, 30, 31, 12, 11, 13, 5, 58, 0, *random.Random(4).sample(range(FRAMES), 20)]
    for index in order:
        image = frames.frame(tmp_path / "a.mp4", index)
        assert image is not None and frame_number(image) == index
    assert frames.frame(tmp_path / "a.mp4", FRAMES) is None
    frames.close()


def test_frames_are_upright_and_a_rewritten_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "turned.mp4"
    write_clip(path, frames=5, rotation=90)
    frames = VideoFrames(10**9)
    first = frames.frame(path, 0)
    assert first is not None and first.shape[:2] == (W, H), "shown as the viewer sees it"
    write_clip(tmp_path / "new.mp4", draw=lambda i: numbered(i + 7, []), frames=5)
    shutil.move(tmp_path / "new.mp4", path)
    again = frames.frame(path, 0)
    assert again is not None and again.shape[:2] == (H, W) and frame_number(again) == 7
    frames.close()


# -- the server -------------------------------------------------------------------------------------

VIDEO_PAGES = ["/api/items/1", "/api/items/1/thumb", "/api/items/1/frame?i=3", "/api/items/1/original?i=3"]


@pytest.mark.parametrize("path", VIDEO_PAGES)
def test_video_requests_need_the_token(server: ReviewServer, path: str) -> None:
    assert request(server, path, token="")[0] == 403
    assert request(server, path, token="x" * len(server.token))[0] == 403
    assert request(server, path)[0] == 200


VIDEO_TRAVERSALS = [
    "/api/items/1/frame/../../../../etc/passwd",
    "/api/items/1/frame/3",
    "/api/items/1/frames",
    "/api/items/1/frame%2f..%2f..%2fetc%2fpasswd",
    "/api/items/%31/frame",
    "/api/items/1/../../walk.mp4",
    "/api/items/walk.mp4/frame",
    "/api/items/0/frame?i=1",  # a photo has no frames
    "/api/items/1/frame?i=60",  # past the end
    "/api/items/1/frame?i=99999999999",
    "/api/items/3/frame?i=0",
    "/clips/walk.mp4",
    "/walk.mp4",
]


@pytest.mark.parametrize("path", VIDEO_TRAVERSALS)
def test_video_paths_from_the_browser_are_never_followed(server: ReviewServer, path: str) -> None:
    status, body = request(server, path)
    assert status in (403, 404)
    assert b"root:" not in body and b"ftyp" not in body


def test_frame_numbers_that_are_not_numbers_show_the_first_frame(server: ReviewServer) -> None:
    for query in ["i=../../etc/passwd", "i=-5", "i=", "i=1e3"]:
        status, body = request(server, f"/api/items/1/frame?{query}")
        assert status == 200 and frame_number(picture(body)) == 0


def test_videos_are_listed_beside_photos(server: ReviewServer) -> None:
    listing = get_json(server, "/api/items")
    assert [(i["name"], i["kind"]) for i in listing["items"]] == [
        ("still.png", "image"),
        ("walk.mp4", "video"),
    ]
    assert listing["skipped"] == 1  # notes.txt
    assert server.catalog.detector.calls == 0, "listing decodes nothing"


def test_a_video_before_export_shows_frames_masked_by_the_detector(server: ReviewServer) -> None:
    item = get_json(server, "/api/items/1")
    assert (item["kind"], item["width"], item["height"], item["frames"], item["fps"]) == (
        "video",
        W,
        H,
        60,
        30,
    )
    assert (item["shows"], item["tracks"], item["verdict"]) == ("input", [], "not exported")
    thumb = picture(request(server, "/api/items/1/thumb")[1])
    assert thumb.shape[:2] == (H, W) and is_masked(thumb, FACE), "the grid never shows a face bare"
    for index in (25, 3, 39):
        frame = picture(request(server, f"/api/items/1/frame?i={index}")[1])
        assert frame_number(frame) == index and is_masked(frame, FACE)
        assert is_masked(frame, PASSER) == (index in PASSING)
    original = picture(request(server, "/api/items/1/original?i=25")[1])
    assert frame_number(original) == 25 and is_bare(original, FACE) and is_bare(original, PASSER)
    assert not server.catalog.out.exists(), "no frame is written to disk to show it"


def test_track_and_range_edits_are_checked_and_saved_at_once(server: ReviewServer) -> None:
    region = [250, 150, 300, 200]
    item = get_json(
        server,
        "/api/items/1/edits",
        {"tracks_off": [4, 2, 4], "add_range": {"region": region, "first": 50, "last": 44}},
    )
    assert item["tracks_off"] == [2, 4] and item["edited"]
    assert [t["track"] for t in item["tracks"] if t["off"]] == [2, 4], (
        "listed even before any report has them"
    )
    [added] = item["added_ranges"]
    assert (added["first"], added["last"]) == (44, 50)
    area = mask_area((H, W, 3), Detections(np.float32([added["box"]]), np.ones(1, np.float32)))
    x1, y1, x2, y2 = region
    assert area[y1:y2, x1:x2].all(), "the mask covers every pixel dragged over"
    saved = Edits.load(sidecar_for(server.catalog.items[1].output))
    assert saved.tracks_off == [2, 4] and saved.added_ranges == [
        {"box": added["box"], "first": 44, "last": 50}
    ]
    inside = picture(request(server, "/api/items/1/frame?i=47")[1])
    outside = picture(request(server, "/api/items/1/frame?i=51")[1])
    assert is_masked(inside, (255, 155, 295, 195)) and not is_masked(outside, (255, 155, 295, 195))
    # the page sends the whole list back: a range deleted, tracks switched on again
    item = get_json(server, "/api/items/1/edits", {"tracks_off": [], "added_ranges": []})
    assert Edits.load(sidecar_for(server.catalog.items[1].output)) == Edits()
    assert item["tracks"] == [] and not item["edited"]


@pytest.mark.parametrize(
    "body",
    [
        {"tracks_off": "all"},
        {"tracks_off": [-1]},
        {"tracks_off": [True]},
        {"tracks_off": ["1"]},
        {"tracks_off": [2**40]},
        {"add_range": {"region": [0, 0, 50, 50], "first": 0, "last": 60}},
        {"add_range": {"region": [0, 0, 50, 50], "first": -1, "last": 3}},
        {"add_range": {"region": [0, 0, 50, 50], "first": 1.5, "last": 3}},
        {"add_range": {"region": [0, 0, 0, 50], "first": 1, "last": 3}},
        {"add_range": {"first": 1, "last": 3}},
        {"add_range": [0, 0, 50, 50]},
        {"added_ranges": [{"box": [0, 0, 50, 50], "first": 0}]},
        {"added_ranges": [{"box": [0, 0, float("nan"), 50], "first": 0, "last": 1}]},
        {"added_ranges": [{"box": [0, 0, 50, 50], "first": 0, "last": 1}] * 2001},
    ],
)
def test_bad_video_edits_are_refused_and_change_nothing(server: ReviewServer, body: object) -> None:
    assert request(server, "/api/items/1/edits", body)[0] == 400
    assert not server.catalog.out.exists()


def test_a_photo_takes_no_tracks_or_ranges(server: ReviewServer) -> None:
    assert request(server, "/api/items/0/edits", {"tracks_off": [1]})[0] == 400
    assert (
        request(server, "/api/items/0/edits", {"add_range": {"region": [0, 0, 9, 9], "first": 0, "last": 0}})[
            0
        ]
        == 400
    )


def batch_output(folder: Path, out: Path, report: object) -> None:
    """What `unseen batch` leaves: a masked output and a manifest row holding the run's report."""
    from unseen.batch.manifest import Manifest, Row, State
    from unseen.batch.statedir import state_manifest

    out.mkdir()
    write_clip(out / "walk.unseen.mp4", draw=lambda i: numbered(i, faces_at(i), black=True))
    state_manifest(out).parent.mkdir(parents=True)  # where `unseen batch` keeps it: outside out
    manifest = Manifest(state_manifest(out))
    manifest.put(
        [
            Row("walk.mp4", State.DONE, "video", output="walk.unseen.mp4", faces=2, verdict="verified",
                report=json.dumps(report)),
            Row("still.png", State.DONE, "image", output="still.unseen.png", faces=0, verdict="verified"),
        ]
    )  # fmt: skip
    manifest.close()


def record(track: int, first: int, last: int, box: tuple[int, ...], head: list[int]) -> dict[str, Any]:
    return {"track": track, "first": first, "last": last, "box": list(box), "mask_box": head, "score": 0.9}


REPORT = {
    "faces": [
        record(7, 14, 45, PASSER, [187, 36, 263, 135]),
        record(3, 0, 59, FACE, [45, 38, 135, 170]),
        {"box": [1, 2, 3, 4], "score": 0.5, "source": "old"},  # a report from before tracks: left out
        "nonsense",
    ]
}


def test_a_batch_video_shows_its_output_and_the_tracks_of_its_report(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    batch_output(folder, out, REPORT)
    srv = start(serve(folder, out, FAST, detector=Scripted()))
    try:
        item = get_json(srv, "/api/items/1")
        assert (item["shows"], item["verdict"], item["faces"]) == ("output", "verified", 2)
        assert [(t["track"], t["first"], t["last"], t["off"]) for t in item["tracks"]] == [
            (3, 0, 59, False),
            (7, 14, 45, False),
        ]
        frame = picture(request(srv, "/api/items/1/frame?i=30")[1])
        assert frame_number(frame) == 30 and is_masked(frame, FACE) and is_masked(frame, PASSER)
        assert srv.catalog.detector.calls == 0, "an output's frames are shown as written, not detected again"
        item = get_json(srv, "/api/items/1/edits", {"tracks_off": [7]})
        assert [t["off"] for t in item["tracks"]] == [False, True] and not item["current"]
        assert get_json(srv, "/api/items")["items"][1]["edited"]
    finally:
        srv.shutdown()
        srv.server_close()
        srv.catalog.frames.close()


def test_a_manifest_report_that_is_not_json_lists_no_tracks(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    batch_output(folder, out, "{not json")
    srv = serve(folder, out, FAST)
    try:
        assert srv.catalog.items[1].kind == "video" and srv.catalog.items[1].tracks == []
    finally:
        srv.server_close()


# -- export -----------------------------------------------------------------------------------------


def test_export_writes_the_video_with_its_edits_and_reports_its_tracks(server: ReviewServer) -> None:
    result = server.exporter.export_one(server.catalog.items[1])
    assert result["verdict"] == "unverified" and result["faces"] == 2, result
    item = get_json(server, "/api/items/1")
    assert item["shows"] == "output" and item["current"]
    tracks = {t["track"]: t for t in item["tracks"]}
    assert len(tracks) == 2
    passer = next(t for t in tracks.values() if t["box"] == list(PASSER))
    assert passer["first"] <= 20 and passer["last"] >= 39
    region = (250, 150, 300, 200)
    item = get_json(server, "/api/items/1/edits", {"tracks_off": [passer["track"]]})
    item = get_json(
        server, "/api/items/1/edits", {"add_range": {"region": list(region), "first": 44, "last": 50}}
    )
    assert not item["current"] and not get_json(server, "/api/items")["items"][1]["current"]
    get_json(server, "/api/export", {"ids": [1]})
    server.exporter.wait(120)
    status = get_json(server, "/api/export")
    assert [(r["name"], r["verdict"]) for r in status["results"]] == [("walk.mp4", "unverified")], status
    frames = decoded(server.catalog.items[1].output)
    assert len(frames) == FRAMES
    for index, frame in enumerate(frames):
        assert frame_number(frame) == index
        assert is_masked(frame, FACE), index
        if index in PASSING:
            assert is_bare(frame, PASSER), f"track switched off, yet masked at frame {index}"
        x1, y1, x2, y2 = region
        inside = frame[y1 + 5 : y2 - 5, x1 + 5 : x2 - 5]
        assert (inside.max() < 40) == (44 <= index <= 50), f"range mask wrong at frame {index}"
    item = get_json(server, "/api/items/1")
    assert item["current"] and [t["track"] for t in item["tracks"] if t["off"]] == [passer["track"]]
