"""The desk's server: token, Host/Origin/cross-site checks, uploads, names, export, temp cleanup.

Files go in over HTTP as the page sends them; a fake detector (no verification) keeps these fast,
and the browser test runs the real models. The process tests start `unseen desk` as a user does
and stop it every way it can stop, kill -9 included.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from conftest import ASTRONAUT_FACE
from unseen.detect import FakeDetector
from unseen.settings import Settings
from unseen.tempfiles import HOST
from unseen.types import Check, Report
from unseen.web.desk import DeskServer, choose_language
from unseen.web.desk_command import desktop_entry, install_launcher
from unseen.web.desk_files import DeskSpace, clean_stale, safe_relative
from unseen.web.desk_queue import reasons, where

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    from unseen.demo import write_sample

    return write_sample(tmp_path / "photos")


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[DeskServer]:
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(space, Settings(verify=False), detector=FakeDetector([ASTRONAUT_FACE]))
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    srv.close()


def call(
    srv: DeskServer | int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    token: str | None = None,
) -> tuple[int, bytes]:
    port = srv if isinstance(srv, int) else srv.server_port
    sent = {"X-Unseen-Token": token if token is not None else getattr(srv, "token", "")}
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    sent.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=sent)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, data


def upload(
    srv: DeskServer | int, name: str, data: Any, token: str | None = None, **headers: str
) -> tuple[int, Any]:
    from urllib.parse import quote

    sent = {"Content-Type": "application/octet-stream", "X-Unseen-Name": quote(name), **headers}
    if not isinstance(data, bytes):
        sent["Content-Length"] = str(headers.pop("length", "0"))
    status, body = call(srv, "POST", "/api/upload", data, sent, token)
    return status, json.loads(body or b"{}")


def entries(srv: DeskServer) -> list[dict[str, Any]]:
    status, body = call(srv, "GET", "/api/desk")
    assert status == 200
    return list(json.loads(body)["entries"])


# -- who may ask ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/review", "/api/desk", "/api/export.zip", "/static/desk.js",
                                  "/static/locales/ru.json", "/api/items"])  # fmt: skip
def test_every_page_needs_the_token(desk: DeskServer, path: str) -> None:
    assert call(desk, "GET", path, token="")[0] == 403
    assert call(desk, "GET", path, token="x" * 43)[0] == 403
    assert call(desk, "GET", path)[0] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},  # DNS rebinding: a name that resolves here, another site's page
        {"Host": "127.0.0.1:1"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_requests_from_other_sites_are_refused(
    desk: DeskServer, sample: Path, headers: dict[str, str]
) -> None:
    status, _ = upload(desk, "a.jpg", sample.read_bytes(), **headers)
    assert status == 403
    assert call(desk, "GET", "/api/desk", headers=headers)[0] == 403
    assert call(desk, "POST", "/api/quit", {}, headers=headers)[0] == 403
    assert not desk.catalog.items and not list(desk.space.inputs.iterdir()), "nothing was taken"


def test_the_page_itself_may_post(desk: DeskServer, sample: Path) -> None:
    own = {"Origin": f"http://127.0.0.1:{desk.server_port}", "Sec-Fetch-Site": "same-origin"}
    assert upload(desk, "a.jpg", sample.read_bytes(), **own)[0] == 201


def test_an_upload_must_say_its_length_and_type(desk: DeskServer, sample: Path) -> None:
    assert call(desk, "POST", "/api/upload", sample.read_bytes(), {"Content-Type": "image/jpeg"})[0] == 415
    chunked = {"Content-Type": "application/octet-stream", "Transfer-Encoding": "chunked"}
    assert call(desk, "POST", "/api/upload", iter([b"abc"]), chunked)[0] == 411
    too_big = {"Content-Type": "application/octet-stream", "Content-Length": str(10**15)}
    connection = http.client.HTTPConnection("127.0.0.1", desk.server_port, timeout=10)
    connection.putrequest("POST", "/api/upload")
    for name, value in {**too_big, "X-Unseen-Token": desk.token}.items():
        connection.putheader(name, value)
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413 and json.loads(response.read())["code"] == "too_big"


# -- names and paths from the browser ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("../../../../etc/cron.d/x.jpg", "etc/cron.d/x.jpg"),
        ("/abs/path/a.jpg", "abs/path/a.jpg"),
        ("..\\..\\win\\a.jpg", "win/a.jpg"),
        ("trip/./day 1/.hidden.jpg", "trip/day 1/hidden.jpg"),
        ("a\x00b.jpg", "a_b.jpg"),
        ("", "file"),
        ("..", "file"),
    ],
)
def test_names_from_the_browser_never_leave_the_desk_folder(
    desk: DeskServer, sample: Path, sent: str, shown: str
) -> None:
    assert safe_relative(sent) == shown
    status, entry = upload(desk, sent, sample.read_bytes())
    assert status == 201 and entry["name"] == shown
    item = desk.catalog.items[entry["id"]]
    assert item.source.resolve().is_relative_to(desk.space.inputs.resolve())
    assert item.output.resolve().is_relative_to(desk.space.outputs.resolve())


@pytest.mark.parametrize(
    "path",
    ["/static/../desk.py", "/static/locales/../../server.py", "/static/locales/xx.json",
     "/static/%2e%2e/desk.py", "/api/items/0/../../../etc/passwd", "/api/items/-1"],
)  # fmt: skip
def test_paths_in_urls_are_never_followed(desk: DeskServer, sample: Path, path: str) -> None:
    upload(desk, "a.jpg", sample.read_bytes())
    status, body = call(desk, "GET", path)
    assert status in (403, 404) and b"import" not in body


# -- the work, saved -----------------------------------------------------------------------------------


def test_files_are_done_one_by_one_and_saved_into_a_folder(
    desk: DeskServer, sample: Path, tmp_path: Path
) -> None:
    assert upload(desk, "trip/astronaut.jpg", sample.read_bytes())[0] == 201
    assert upload(desk, "other/astronaut.jpg", sample.read_bytes())[0] == 201
    assert upload(desk, "notes.txt", b"not a picture")[0] == 201
    assert upload(desk, "trip/clip.mp4", b"<html>404</html>")[0] == 201  # a download that failed
    assert desk.queue.wait(120)
    done = {e["name"]: e for e in entries(desk)}
    broken = done["trip/clip.mp4"]
    assert broken["state"] == "failed" and broken["error"] == "unreadable", broken
    assert broken["detail"].startswith("trip/clip.mp4: named as a video (.mp4)"), broken
    assert not list(desk.space.inputs.glob("*/clip.mp4")), "no copy kept of what cannot be used"
    assert done["trip/astronaut.jpg"]["state"] == "done" and done["trip/astronaut.jpg"]["faces"] == 1
    assert "GPS" in done["trip/astronaut.jpg"]["metadata"]
    assert done["notes.txt"]["state"] == "skipped"
    assert not list(desk.space.inputs.glob("*/notes.txt")), "no copy kept of what is not used"

    out = tmp_path / "exported"
    status, body = call(desk, "POST", "/api/save", {"folder": str(out)})
    assert status == 200, body
    saved = sorted(s["as"] for s in json.loads(body)["saved"])
    assert saved == ["other/astronaut.unseen.jpg", "trip/astronaut.unseen.jpg"]
    status, body = call(desk, "POST", "/api/save", {"folder": str(out)})
    again = sorted(s["as"] for s in json.loads(body)["saved"])
    assert again == ["other/astronaut.unseen (2).jpg", "trip/astronaut.unseen (2).jpg"], "nothing overwritten"
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert written == sorted(saved + again), "outputs only: no sidecar, report or temp file"
    pixels = np.asarray(Image.open(out / saved[1]).convert("RGB"))
    x1, y1, x2, y2 = ASTRONAUT_FACE
    assert pixels[y1 + 20 : y2 - 20, x1 + 20 : x2 - 20].std() < 3, "the face is masked"
    assert not Image.open(out / saved[1]).getexif(), "no EXIF"


@pytest.mark.parametrize(
    ("folder", "code"),
    [("", "folder_empty"), ("relative/place", "folder_relative"), ("{file}", "folder_file"),
     ("{tmp}/missing/deeper", "folder_missing"), ("{space}", "folder_private"),
     ("{space}/out", "folder_private")],
)  # fmt: skip
def test_a_bad_folder_is_refused_with_a_reason(
    desk: DeskServer, sample: Path, folder: str, code: str
) -> None:
    folder = folder.format(file=sample, tmp=sample.parent, space=desk.space.root)
    status, body = call(desk, "POST", "/api/save", {"folder": folder})
    assert status == 400 and json.loads(body)["code"] == code


def test_the_zip_holds_every_finished_output_and_no_dates(desk: DeskServer, sample: Path) -> None:
    upload(desk, "a/astronaut.jpg", sample.read_bytes())
    upload(desk, "b/astronaut.jpg", sample.read_bytes())
    assert desk.queue.wait(120)
    status, body = call(desk, "GET", "/api/export.zip")
    assert status == 200
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert sorted(archive.namelist()) == ["a/astronaut.unseen.jpg", "b/astronaut.unseen.jpg"]
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    item = desk.catalog.items[0]
    assert archive.read("a/astronaut.unseen.jpg") == item.output.read_bytes()


def test_an_edit_puts_the_file_back_on_the_queue(desk: DeskServer, sample: Path) -> None:
    upload(desk, "astronaut.jpg", sample.read_bytes())
    assert desk.queue.wait(120)
    added = (380, 380, 460, 470)
    status, _ = call(desk, "POST", "/api/items/0/edits", {"add_mask": list(added)})
    assert status == 200
    assert entries(desk)[0]["changed"], "the written file does not hold the edit yet"
    assert call(desk, "POST", "/api/export", {"ids": [0]})[0] == 202  # the editor's "Export this"
    assert desk.queue.wait(120)
    entry = entries(desk)[0]
    assert entry["state"] == "done" and not entry["changed"]
    status, body = call(desk, "GET", "/api/export")
    assert json.loads(body)["results"][0]["verdict"] == "unverified"
    pixels = np.asarray(Image.open(desk.catalog.items[0].output).convert("RGB"))
    x1, y1, x2, y2 = added
    assert pixels[y1 + 10 : y2 - 10, x1 + 10 : x2 - 10].std() < 3, "the added mask is in the file"


def test_a_removed_mask_the_check_still_finds_is_left_bare_and_said(tmp_path: Path, sample: Path) -> None:
    """The person removes a mask (a consenting speaker); the check still finds the face there:
    it is left bare, the file is done and verified, and the desk says it was left as asked."""
    from unseen.verify.verifier import FakeVerifier

    face = tuple(int(v) for v in ASTRONAUT_FACE)
    verifier = FakeVerifier([face])  # finds the face wherever it is not masked
    srv = DeskServer(
        DeskSpace(tmp_path / "base"), Settings(), detector=FakeDetector([ASTRONAUT_FACE]), verifier=verifier
    )
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        upload(srv, "astronaut.jpg", sample.read_bytes())
        assert srv.queue.wait(120)
        assert entries(srv)[0]["left_bare"] == 0
        status, _ = call(srv, "POST", "/api/items/0/edits", {"added": [], "removed": [list(ASTRONAUT_FACE)]})
        assert status == 200
        assert call(srv, "POST", "/api/export", {"ids": [0]})[0] == 202
        assert srv.queue.wait(120)
        entry = entries(srv)[0]
        pixels = np.asarray(Image.open(srv.catalog.items[0].output).convert("RGB")).astype(int)
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()
    assert entry["state"] == "done" and entry["verdict"] == "verified" and entry["left_bare"] == 1
    x1, y1, x2, y2 = face
    assert pixels[y1:y2, x1:x2].std() > 20, "the face is shown as it was"


def test_a_clip_whose_masks_took_much_of_the_picture_says_so_on_the_desk(tmp_path: Path) -> None:
    """The check takes a body for a face (selfie_walk.mp4's shirt): it is masked, and the desk,
    not only the command line, says how much of the picture that took and on which frame."""
    from support.clips import Scripted, numbered, write_clip
    from unseen.verify.verifier import FakeVerifier

    clip = tmp_path / "walk.mp4"
    face = (140.0, 80.0, 180.0, 130.0)
    write_clip(clip, frames=40, draw=lambda i: numbered(i, face=[face]))
    body = (120, 140, 200, 230)
    srv = DeskServer(
        DeskSpace(tmp_path / "base"),
        Settings(),
        detector=Scripted(lambda i: [face]),
        verifier=FakeVerifier([body]),
    )
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        upload(srv, "walk.mp4", clip.read_bytes())
        assert srv.queue.wait(120)
        entry = entries(srv)[0]
    finally:
        srv.shutdown()
        srv.server_close()
        srv.close()
    assert entry["state"] == "done", entry
    [wide] = [w for w in entry["masks_wide"] if w["kind"] == "found"]
    assert wide["percent"] >= 3 and wide["frame"] is not None and wide["seconds"] is not None


def test_a_refusal_says_what_and_where_in_words() -> None:
    report = Report(source="x.jpg", output=None, width=300, height=300, verdict="refused")
    report.check = Check(redetected=1, redetected_boxes=[(10, 10, 50, 50)],
                         leaking_boxes=[(200, 200, 290, 290)], metadata_left=["GPS"])  # fmt: skip
    found = reasons(report)
    assert found == [
        {"kind": "face_found", "count": 1, "places": ["top-left"]},
        {"kind": "recognisable", "count": 1, "places": ["bottom-right"]},
        {"kind": "metadata", "labels": ["GPS"]},
    ]
    assert "distance" not in json.dumps(found)
    assert where((140, 140, 160, 160), 300, 300) == "middle-centre"


@pytest.mark.parametrize(
    ("header", "lang"),
    [("ru-RU,ru;q=0.9,en;q=0.8", "ru"), ("de-DE,uk;q=0.7,ru;q=0.5", "uk"), ("en;q=0.1,be;q=0.9", "be"),
     ("fr", "en"), ("", "en"), ("ru;q=abc", "ru")],
)  # fmt: skip
def test_the_language_comes_from_the_browser(desk: DeskServer, header: str, lang: str) -> None:
    assert choose_language(header) == lang
    status, body = call(desk, "GET", "/", headers={"Accept-Language": header})
    assert status == 200 and f'<html lang="{lang}">'.encode() in body


# -- the private folder: made private, removed on every way out ---------------------------------------


def test_the_desk_folder_is_private_and_removed_on_close(tmp_path: Path) -> None:
    space = DeskSpace(tmp_path / "base")
    assert (space.root.stat().st_mode & 0o777) == 0o700
    assert space.holds(space.inputs / "0" / "x.jpg") and not space.holds(tmp_path)
    space.close()
    assert not space.root.exists()


def test_folders_of_dead_processes_are_removed_on_start(tmp_path: Path) -> None:
    base = tmp_path / "base"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live, foreign = (
        base / f"{HOST}-{dead.pid}",
        base / f"{HOST}-{os.getppid()}",
        base / f"ffffffff-{dead.pid}",
    )
    for folder in (stale, live, foreign):
        (folder / "in" / "0").mkdir(parents=True)
        (folder / "in" / "0" / "face.jpg").write_bytes(b"x")
    space = DeskSpace(base)
    assert not stale.exists() and live.exists() and foreign.exists()
    assert clean_stale(base) == 0
    space.close()


def start_desk(tmp_path: Path) -> tuple[subprocess.Popen[str], int, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "unseen.cli", "desk", "--no-browser", "--no-verify",
         "--temp", str(tmp_path / "base")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        if "token=" in line:
            port = int(line.split("127.0.0.1:")[1].split("/")[0])
            return proc, port, line.split("token=")[1].strip()
    proc.kill()
    raise AssertionError(proc.stderr.read() if proc.stderr else "no link printed")


def peak_memory(pid: int) -> int:
    """The process's peak resident memory in kB (VmHWM)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, "quit"])
def test_every_way_out_removes_the_files(tmp_path: Path, sample: Path, how: Any) -> None:
    proc, port, token = start_desk(tmp_path)
    status, entry = upload(port, "astronaut.jpg", sample.read_bytes(), token=token)
    assert status == 201
    (root,) = (tmp_path / "base").iterdir()
    assert (root / "in").exists()
    if how == "quit":
        assert call(port, "POST", "/api/quit", {}, token=token)[0] == 200
    else:
        proc.send_signal(how)
    assert proc.wait(60) == 0
    assert not root.exists(), "nothing the person added is left"


def test_after_kill_9_the_next_start_removes_the_files(tmp_path: Path, sample: Path) -> None:
    proc, port, token = start_desk(tmp_path)
    upload(port, "astronaut.jpg", sample.read_bytes(), token=token)
    (root,) = (tmp_path / "base").iterdir()
    proc.kill()
    proc.wait(30)
    assert root.exists(), "SIGKILL cannot clean up"
    again, port, token = start_desk(tmp_path)
    try:
        assert not root.exists(), "the next start removed it"
    finally:
        again.terminate()
        again.wait(60)


def test_a_large_upload_is_streamed_to_disk_not_held_in_memory(tmp_path: Path) -> None:
    proc, port, token = start_desk(tmp_path)
    try:
        time.sleep(0.5)
        before = peak_memory(proc.pid)
        size = 512 * 1024 * 1024
        block = bytes(4 * 1024 * 1024)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        connection.putrequest("POST", "/api/upload")
        for name, value in {"X-Unseen-Token": token, "Content-Type": "application/octet-stream",
                            "X-Unseen-Name": "big.mov", "Content-Length": str(size)}.items():  # fmt: skip
            connection.putheader(name, value)
        connection.endheaders()
        for _ in range(size // len(block)):
            connection.send(block)
        response = connection.getresponse()
        assert response.status == 201, response.read()
        assert json.loads(response.read())["state"] == "failed"  # zeros: damaged, and no copy kept
        grown = peak_memory(proc.pid) - before
        assert grown < 64 * 1024, f"the server grew by {grown} kB for a {size // 2**20} MB upload"
    finally:
        proc.terminate()
        proc.wait(60)


# -- launcher and command ---------------------------------------------------------------------------------


def test_the_launcher_is_a_valid_desktop_entry(tmp_path: Path) -> None:
    path = install_launcher(tmp_path / "share")
    text = path.read_text()
    assert path == tmp_path / "share" / "applications" / "unseen-desk.desktop"
    assert "Terminal=false" in text and "Type=Application" in text
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" desk") or exec_line.endswith("unseen.web.desk_command")
    entry = desktop_entry(["/opt/my apps/unseen", "desk"], "/x/icon.svg")
    assert 'Exec="/opt/my apps/unseen" desk' in entry
    validate = Path("/usr/bin/desktop-file-validate")
    if validate.exists():
        assert subprocess.run([str(validate), str(path)], capture_output=True, text=True).stdout == ""


def test_the_command_line_knows_the_desk(capsys: pytest.CaptureFixture[str]) -> None:
    from unseen.cli import main

    assert main(["desk", "--help"]) == 0
    assert "--no-browser" in capsys.readouterr().out
    assert main(["desk", "--mask", "nonsense"]) == 1


def test_closing_in_the_middle_of_a_video_stops_it_at_once(tmp_path: Path) -> None:
    from test_review_video import write_clip

    clip = tmp_path / "long.mp4"
    write_clip(clip, frames=900)
    space = DeskSpace(tmp_path / "base")
    srv = DeskServer(space, Settings(verify=False), detector=FakeDetector([(60, 70, 120, 150)]))
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    try:
        assert upload(srv, "long.mp4", clip.read_bytes())[0] == 201
        deadline = time.monotonic() + 120
        while not (entries(srv)[0]["frames"] or [0])[0]:
            assert time.monotonic() < deadline, "the video never started"
            time.sleep(0.05)
        entry = entries(srv)[0]
        assert entry["state"] == "working" and entry["frames"][1] == 900
    finally:
        srv.shutdown()
        srv.server_close()
        began = time.monotonic()
        srv.close()
    assert time.monotonic() - began < 10, "the desk does not wait for the whole video"
    assert not srv.queue._thread.is_alive()
    assert not space.root.exists()
