"""The review server: token, loopback, traversal, headers, edits saved as sidecars, export."""

from __future__ import annotations

import http.client
import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from unseen.detect import FakeDetector
from unseen.edits import Edits, sidecar_for
from unseen.redact import head_boxes, mask_area
from unseen.settings import Settings
from unseen.types import Detections, MaskShape
from unseen.web import ReviewServer, main, serve
from unseen.web.catalog import Catalog

FACE = (60, 40, 120, 110)  # what the fake detector "finds" in every photo
MISSED = (150, 20, 190, 60)  # a region the person masks by hand
FAST = Settings(verify=False)


def files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for i, name in enumerate(["a.png", "b.png", "sub/c.png"]):
        pixels = np.full((160, 200, 3), 200 + i * 10, np.uint8)
        Image.fromarray(pixels).save(folder / name)
    (folder / "notes.txt").write_text("not a photo")
    (folder / "fake.jpg").write_bytes(b"GIF89a not a jpeg")
    return folder


@pytest.fixture
def server(folder: Path) -> Iterator[ReviewServer]:
    before = files(folder)
    srv = serve(folder, settings=FAST, detector=FakeDetector([FACE]))
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.exporter.wait(30)
    assert files(folder) == before, "nothing is ever written inside the reviewed folder"


def request(
    srv: ReviewServer,
    path: str,
    body: object = None,
    *,
    token: str | None = "header",
    headers: dict[str, str] | None = None,
    method: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request (the path is sent exactly as given, `..` and all)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
    sent = dict(headers or {})
    if token == "header":
        sent["X-Unseen-Token"] = srv.token
    elif token == "query":
        path += ("&" if "?" in path else "?") + f"token={srv.token}"
    elif token is not None:
        sent["X-Unseen-Token"] = token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    conn.request(method or ("POST" if body is not None else "GET"), path, body=data, headers=sent)
    response = conn.getresponse()
    out = response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    conn.close()
    return out


def get_json(srv: ReviewServer, path: str, body: object = None) -> Any:
    status, _, data = request(srv, path, body)
    assert status in (200, 202), data
    return json.loads(data)


def picture(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


PAGES = ["/", "/static/app.js", "/static/editor.js", "/static/video.js", "/static/app.css", "/api/items",
         "/api/items/0", "/api/items/0/thumb", "/api/items/0/preview", "/api/items/0/original",
         "/api/export"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_request_needs_the_token(server: ReviewServer, path: str) -> None:
    assert request(server, path, token=None)[0] == 403
    assert request(server, path, token="x" * len(server.token))[0] == 403
    assert request(server, path + "?token=" + server.token[:-1], token=None)[0] == 403
    assert request(server, path, token="header")[0] == 200
    assert request(server, path, token="query")[0] == 200


def test_posts_need_the_token_and_json(server: ReviewServer, folder: Path) -> None:
    edit = {"added": [], "removed": [list(FACE)]}
    assert request(server, "/api/items/0/edits", edit, token=None)[0] == 403
    assert request(server, "/api/export", {}, token=None)[0] == 403
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert request(server, "/api/items/0/edits", edit, headers=form)[0] == 415
    for length in ["-5", "ten", str(10**9)]:
        assert request(server, "/api/items/0/edits", edit, headers={"Content-Length": length})[0] == 413
    assert not server.catalog.out.exists(), "a refused request writes nothing"


def test_only_loopback_and_our_own_host_name(server: ReviewServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith(f"http://127.0.0.1:{server.server_port}/?token=")
    assert request(server, "/api/items", headers={"Host": "attacker.example"})[0] == 403  # DNS rebinding


TRAVERSALS = [
    "/static/../server.py",
    "/static/..%2fserver.py",
    "/static/%2e%2e/catalog.py",
    "/static//etc/passwd",
    "/static/index.html",
    "/../../../../etc/passwd",
    "/etc/passwd",
    "//etc/passwd",
    "/api/items/../../etc/passwd",
    "/api/items/0/../../../etc/passwd",
    "/api/items/0/original/../../../etc/passwd",
    "/api/items/-1",
    "/api/items/3",
    "/api/items/999999",
    "/api/items/a.png",
    "/api/items/%2Fetc%2Fpasswd",
    "/api/items/0/edits",
    "/a.png",
    "/photos/a.png",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_paths_from_the_browser_are_never_followed(server: ReviewServer, path: str) -> None:
    status, _, body = request(server, path)
    assert status in (403, 404)
    assert b"root:" not in body and b"import" not in body and b"\x89PNG" not in body


def test_absolute_and_relative_paths_cannot_be_edited(server: ReviewServer) -> None:
    for path in ["/api/items/../../etc/passwd/edits", "/api/items//tmp/x/edits", "/api/items/0/../1/edits"]:
        assert request(server, path, {"added": []})[0] in (403, 404)


@pytest.mark.parametrize("path", ["/", "/api/items", "/api/items/0/thumb", "/api/items/99", "/nowhere"])
def test_strict_headers_and_no_cors(server: ReviewServer, path: str) -> None:
    _, headers, _ = request(server, path, headers={"Origin": "http://attacker.example"})
    assert headers["cache-control"] == "no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert not any(name.startswith("access-control-") for name in headers)
    status, headers, _ = request(server, "/api/items", method="OPTIONS")
    assert status == 405 and not any(name.startswith("access-control-") for name in headers)


def test_the_page_loads_nothing_from_elsewhere(server: ReviewServer) -> None:
    for path in ["/", "/static/app.js", "/static/editor.js", "/static/video.js", "/static/app.css"]:
        body = request(server, path)[2].decode()
        assert "http://" not in body and "https://" not in body and "//cdn" not in body
    assert server.token in request(server, "/")[2].decode()


def test_listing_is_paginated_photos_only_and_detects_nothing(server: ReviewServer) -> None:
    first = get_json(server, "/api/items?page=0&size=2")
    second = get_json(server, "/api/items?page=1&size=2")
    assert (first["total"], first["pages"], first["skipped"]) == (3, 2, 2)  # notes.txt, a GIF named .jpg
    names = [i["name"] for i in first["items"] + second["items"]]
    assert names == ["a.png", "b.png", "sub/c.png"]
    assert all(i["faces"] is None and i["verdict"] == "not exported" for i in first["items"])
    assert server.catalog.detector.calls == 0, "detection waits until an item is looked at"
    assert get_json(server, "/api/items?page=99&size=abc")["page"] == 0  # clamped, not an error


def test_a_thousand_photos_are_listed_without_being_decoded(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="PNG")
    for i in range(1000):
        (folder / f"{i:04d}.png").write_bytes(buffer.getvalue())
    detector = FakeDetector([])
    srv = serve(folder, settings=FAST, detector=detector)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        last = get_json(srv, "/api/items?page=20")
    finally:
        srv.shutdown()
        srv.server_close()
    assert (last["total"], last["pages"], len(last["items"])) == (1000, 21, 1000 - 20 * 48)
    assert last["items"][-1]["name"] == "0999.png"
    assert detector.calls == 0 and not any(i.detections is not None for i in srv.catalog.items)


def test_item_lists_every_mask_and_detects_once(server: ReviewServer) -> None:
    item = get_json(server, "/api/items/1")
    request(server, "/api/items/1/thumb")
    assert (item["width"], item["height"], item["faces"]) == (200, 160, 1)
    [mask] = item["masks"]
    assert mask["kind"] == "detected" and mask["box"] == list(FACE)
    assert mask["mask_box"][0] < FACE[0] and mask["mask_box"][1] < FACE[1]  # the head, not just the face
    assert server.catalog.detector.calls == 1


def test_preview_and_thumbnail_are_masked_the_original_is_not(server: ReviewServer) -> None:
    x1, y1, x2, y2 = FACE
    centre = np.s_[y1 + 15 : y2 - 15, x1 + 15 : x2 - 15]
    assert picture(request(server, "/api/items/0/preview")[2])[centre].max() < 30
    thumb = picture(request(server, "/api/items/0/thumb")[2])
    assert thumb.shape[:2] == (160, 200) and thumb[centre].max() < 30
    assert picture(request(server, "/api/items/0/original")[2])[centre].min() > 180
    assert not server.catalog.out.exists(), "no picture is written to disk to show it"


def test_edits_are_saved_to_the_sidecar_at_once(server: ReviewServer) -> None:
    region = [20, 40, 60, 90]
    item = get_json(server, "/api/items/2/edits", {"added": [], "removed": [list(FACE)], "add_mask": region})
    kinds = sorted(m["kind"] for m in item["masks"])
    assert kinds == ["added", "removed"] and item["faces"] == 1 and item["edited"]
    added = np.float32(item["added"])
    area = mask_area((160, 200, 3), Detections(added, np.ones(1, np.float32)))
    x1, y1, x2, y2 = region
    assert area[y1:y2, x1:x2].all(), "the mask covers every pixel dragged over"
    sidecar = sidecar_for(server.catalog.out / "sub" / "c.unseen.png")
    saved = Edits.load(sidecar)
    assert saved.removed == [FACE] and len(saved.added) == 1
    get_json(server, "/api/items/2/edits", {"added": [], "removed": [], "mask": "noise"})
    assert Edits.load(sidecar) == Edits(mask="noise")
    item = get_json(server, "/api/items/2")
    assert item["mask"] == "noise" and [m["kind"] for m in item["masks"]] == ["detected"]


@pytest.mark.parametrize(
    "body",
    [
        {"added": "nope"},
        {"added": [[1, 2, 3]]},
        {"added": [[1, 2, "3", 4]]},
        {"added": [[0, 0, 1e400, 10]]},
        {"added": [[5, 5, 5, 5]]},
        {"removed": [[True, 0, 10, 10]]},
        {"mask": "sepia"},
        {"add_mask": [0, 0, 0, 0]},
        [1, 2],
    ],
)
def test_bad_edits_are_refused_and_change_nothing(server: ReviewServer, body: object) -> None:
    assert request(server, "/api/items/0/edits", body)[0] == 400
    assert not server.catalog.out.exists()


def test_sidecar_from_an_earlier_session_is_picked_up(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    Edits(removed=[FACE]).save(sidecar_for(out / "a.unseen.png"))
    srv = serve(folder, out, FAST, detector=FakeDetector([FACE]))
    try:
        assert srv.catalog.items[0].edits.removed == [FACE]
    finally:
        srv.server_close()


def test_export_writes_outputs_with_the_edits(server: ReviewServer) -> None:
    region = [140.0, 10.0, 196.0, 70.0]
    get_json(server, "/api/items/0/edits", {"added": [], "removed": [list(FACE)], "add_mask": region})
    assert get_json(server, "/api/items")["pending"] == 3
    started = get_json(server, "/api/export", {"ids": [0, 1]})
    assert started["total"] == 2
    server.exporter.wait(60)
    status = get_json(server, "/api/export")
    assert not status["running"] and status["done"] == 2 and status["refused"] == 0
    assert [r["verdict"] for r in status["results"]] == ["unverified", "unverified"]
    out = np.asarray(Image.open(server.catalog.out / "a.unseen.png")).astype(int)
    cx, cy = int(region[0] + region[2]) // 2, int(region[1] + region[3]) // 2
    assert (out[cy - 25 : cy + 25, cx - 22 : cx + 22] == 0).all(), "the added mask covers what was dragged"
    fx1, fy1, fx2, fy2 = FACE
    assert (out[fy1:fy2, fx1:fx2] == 200).all(), "the removed mask is gone"
    other = np.asarray(Image.open(server.catalog.out / "b.unseen.png"))
    assert (other[fy1 + 10 : fy2 - 10, fx1 + 10 : fx2 - 10] == 0).all()
    listing = get_json(server, "/api/items")
    assert listing["pending"] == 1 and [i["current"] for i in listing["items"]] == [True, True, False]
    get_json(server, "/api/export", {})
    server.exporter.wait(60)
    assert [r["name"] for r in get_json(server, "/api/export")["results"]] == ["sub/c.png"]
    get_json(server, "/api/items/1/edits", {"added": [], "removed": [], "mask": "noise"})
    assert [i["current"] for i in get_json(server, "/api/items")["items"]] == [True, False, True]


def test_export_refuses_unknown_ids(server: ReviewServer) -> None:
    for ids in [[7], ["../a.png"], "all", [-1]]:
        assert request(server, "/api/export", {"ids": ids})[0] == 400


def test_export_reports_what_verification_refused(folder: Path, tmp_path: Path) -> None:
    from unseen.verify import FakeVerifier

    always = FakeVerifier(leaks=[[FACE]])  # the face stays recognisable however hard it is masked
    srv = serve(folder, tmp_path / "out", Settings(), detector=FakeDetector([FACE]), verifier=always)
    try:
        srv.exporter.start(srv.catalog.items[:1])
        srv.exporter.wait(30)
        status = srv.exporter.snapshot()
    finally:
        srv.server_close()
    [result] = status["results"]
    assert (status["refused"], result["verdict"], result["name"]) == (1, "refused", "a.png")
    assert "refused" in result["message"] and str(folder) not in result["message"]
    assert not (tmp_path / "out" / "a.unseen.png").exists(), "nothing written"
    assert srv.catalog.items[0].verdict == "refused"


def test_export_masks_a_face_verification_finds(folder: Path, tmp_path: Path) -> None:
    from unseen.verify import FakeVerifier

    srv = serve(
        folder, tmp_path / "out", Settings(), detector=FakeDetector([]), verifier=FakeVerifier([MISSED])
    )
    try:
        result = srv.exporter.export_one(srv.catalog.items[0])
    finally:
        srv.server_close()
    assert (result["verdict"], result["faces"]) == ("verified", 1)
    x1, y1, x2, y2 = MISSED
    assert (
        np.asarray(Image.open(tmp_path / "out" / "a.unseen.png"))[y1 + 8 : y2 - 8, x1 + 8 : x2 - 8] == 0
    ).all()


def test_export_reports_an_unreadable_photo(folder: Path, tmp_path: Path) -> None:
    srv = serve(folder, tmp_path / "out", FAST, detector=FakeDetector([FACE]))
    try:
        (folder / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
        result = srv.exporter.export_one(srv.catalog.items[1])
    finally:
        srv.server_close()
    assert result["verdict"] == "error" and "b.png" in result["message"]
    assert str(folder) not in result["message"], "messages name photos relative to the folder"


def test_a_batch_manifest_lists_the_items_and_cannot_point_outside(folder: Path, tmp_path: Path) -> None:
    from unseen.batch.manifest import Manifest, Row, State
    from unseen.batch.statedir import state_manifest

    out = tmp_path / "out"
    out.mkdir()
    state_manifest(out).parent.mkdir(parents=True)  # where `unseen batch` keeps it: outside out
    manifest = Manifest(state_manifest(out))
    manifest.put(
        [
            Row("b.png", State.DONE, "image", output="b.unseen.png", faces=2, verdict="verified"),
            Row("sub/c.png", State.REFUSED, "image", output="sub/c.unseen.png"),
            Row("a.png", State.PENDING, "image", output="../../elsewhere.png"),
            Row("../../etc/passwd", State.DONE, "image", output="x.png"),
            Row("notes.txt", State.SKIPPED, "", error="not media"),
            Row("clip.mp4", State.DONE, "video", output="clip.unseen.mp4"),
        ]
    )
    manifest.close()
    srv = serve(folder, out, FAST, detector=FakeDetector([FACE]))
    try:
        items, skipped = srv.catalog.items, srv.catalog.skipped
    finally:
        srv.server_close()
    assert [(i.name, i.verdict, i.face_count, i.output) for i in items] == [
        ("b.png", "verified", 2, out.resolve() / "b.unseen.png"),
        ("sub/c.png", "refused", None, out.resolve() / "sub" / "c.unseen.png"),
    ]
    assert sorted(skipped) == ["../../etc/passwd", "a.png", "clip.mp4", "notes.txt"]


def test_output_folder_inside_the_reviewed_folder_is_refused(folder: Path) -> None:
    with pytest.raises(ValueError, match="outside"):
        serve(folder, folder / "out", FAST)
    with pytest.raises(ValueError, match="outside"):
        serve(folder, folder, FAST)


@pytest.mark.parametrize("shape", list(MaskShape))
def test_a_dragged_region_is_covered_by_its_mask(folder: Path, shape: MaskShape) -> None:
    catalog = Catalog(folder, folder.with_name("out"), Settings(shape=shape, grow=1.3))
    region = (300.0, 400.0, 390.0, 540.0)
    added = Detections(np.float32([catalog.face_box_for(region)]), np.ones(1, np.float32))
    head = head_boxes(added, (1000, 1000), 1.3)[0]
    assert (head[0] + head[2]) / 2 == pytest.approx(345) and (head[1] + head[3]) / 2 == pytest.approx(470)
    area = mask_area((1000, 1000), added, shape, 1.3)
    assert area[400:540, 300:390].all()
    if shape is MaskShape.BOX:
        assert head == pytest.approx(region, abs=0.01), "a box mask is exactly the dragged box"


def test_main_refuses_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nowhere")]) == 1
    assert main(["--help"]) == 0
    assert "not a folder" in capsys.readouterr().err


@pytest.mark.slow
def test_export_with_real_verification_leaves_a_removed_face_bare_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A person removes the astronaut's real mask (a consenting speaker): the attacking detector
    still finds the face, and it stays bare as asked, the export verified for everything else,
    the check listing it apart and the line saying so."""
    from unseen.cli import main as cli_main
    from unseen.demo import write_sample
    from unseen.types import Report

    folder = tmp_path / "photos"
    write_sample(folder)
    srv = serve(folder, tmp_path / "out")
    try:
        item = srv.catalog.items[0]
        [found] = srv.catalog.masks(item)
        srv.catalog.save_edits(item, Edits(removed=[tuple(found["box"])]))
        result = srv.exporter.export_one(item)
    finally:
        srv.server_close()
    assert result["verdict"] == "verified" and result["faces"] == 0
    assert "left bare as you asked: 1 finding" in result["message"]
    original = np.asarray(Image.open(folder / "astronaut.jpg")).astype(int)
    out = np.asarray(Image.open(tmp_path / "out" / "astronaut.unseen.jpg")).astype(int)
    x1, y1, x2, y2 = (int(v) for v in found["box"])
    assert np.abs(out[y1:y2, x1:x2] - original[y1:y2, x1:x2]).mean() < 8, "the face is left as it was"
    # `unseen` applies the same sidecar: its line and report say what was left bare
    (tmp_path / "out" / "astronaut.unseen.jpg").unlink()
    report_file = tmp_path / "report.json"
    args = [str(folder / "astronaut.jpg"), "-o", str(tmp_path / "out"), "--report", str(report_file)]
    assert cli_main(args) == 0
    line = capsys.readouterr().out
    assert "verified: no face re-detected but 1 finding where the review said to leave a face bare" in line
    [report] = [Report.from_dict(r) for r in json.loads(report_file.read_text())]
    assert report.check is not None and len(report.check.left_bare) == 1 and report.face_count == 0
