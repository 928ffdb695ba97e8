"""The desk server: the review server's safeguards, plus uploads, a work queue and export.

Same loopback address, token, Host check and strict headers as `unseen review` (it is a
ReviewServer whose catalog starts empty and grows as files are added), and stricter: a request
whose Origin is not this page, or that a browser marks as cross-site, is refused before routing.
The existing editor is served at /review over the same items. Originals and outputs live in a
private DeskSpace that closing the desk removes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from unseen.detect import Detector
from unseen.errors import UnreadableInput, UnseenError
from unseen.media.registry import identify
from unseen.pipeline import default_output
from unseen.settings import Settings
from unseen.web.catalog import Catalog
from unseen.web.desk_export import (
    FolderRefused,
    choose_folder,
    copy_into,
    free_name,
    suggested_folder,
    write_zip,
)
from unseen.web.desk_files import DeskSpace, UploadError, safe_relative
from unseen.web.desk_queue import DONE, FAILED, SKIPPED, Entry, WorkQueue
from unseen.web.export import Exporter
from unseen.web.items import Item
from unseen.web.server import HEADERS, MAX_BODY, Handler, ReviewServer, choose_language
from unseen.web.server import LANGUAGES as LANGUAGES  # the desk speaks what the editor speaks

if TYPE_CHECKING:
    from unseen.text import TextDetector
    from unseen.verify import Verifier

DESK_STATIC = {
    "desk.js": "text/javascript; charset=utf-8",
    "desk.css": "text/css; charset=utf-8",
}
MAX_UPLOAD = 64 * 1024**3  # one file; far past a phone's longest video, short of filling a disk by mistake
NAME_HEADER = "X-Unseen-Name"
BACK_LINK = '<a id="desk-link" href="/?token={token}" data-i18n="editor.back_to_desk">&larr; unseen desk</a>'


class DeskExporter(Exporter):
    """The editor's Export buttons, on the desk: the items go back on the queue with their edits."""

    def __init__(self, catalog: Catalog, queue: WorkQueue) -> None:
        super().__init__(catalog)
        self.queue = queue
        self.asked: list[int] = []

    def pending(self) -> list[Item]:
        return [e.item for e in map(self.queue.get, range(len(self.catalog))) if e and e.as_dict()["changed"]]

    def start(self, items: list[Item]) -> bool:
        self.asked = [entry.item.id for entry in self.queue.redo(items)]
        return True

    def snapshot(self) -> dict[str, Any]:
        entries = [e.as_dict() for e in map(self.queue.get, self.asked) if e is not None]
        finished = [e for e in entries if e["state"] not in ("waiting", "working")]
        working = [e for e in entries if e["state"] == "working"]
        results = [
            {
                "id": e["id"],
                "name": e["name"],
                "output": e["output"] or "",
                "verdict": e["verdict"] or ("error" if e["state"] == "failed" else e["state"]),
                "faces": e["faces"],
                "message": e["detail"] or "",
            }
            for e in finished
        ]
        return {
            "running": len(finished) < len(entries),
            "total": len(entries),
            "done": len(finished),
            "refused": sum(r["verdict"] == "refused" for r in results),
            "failed": sum(r["verdict"] == "error" for r in results),
            "results": results,
            "frames": working[0]["frames"] if working else None,
        }


class DeskServer(ReviewServer):
    """A desk: files added from the browser, done one at a time, reviewed, exported."""

    def __init__(
        self,
        space: DeskSpace,
        settings: Settings | None = None,
        *,
        detector: Detector | None = None,
        verifier: Verifier | None = None,
        port: int = 0,
        text_detector: TextDetector | None = None,
    ) -> None:
        settings = settings or Settings()
        catalog = Catalog(space.inputs, space.outputs, settings, detector, verifier, text_detector)
        super().__init__(catalog, port)
        self.RequestHandlerClass = DeskHandler
        self.space = space
        self.queue = WorkQueue(self.catalog, settings, detector, verifier, text_detector)
        self.exporter = DeskExporter(self.catalog, self.queue)
        self.origins = {f"http://{host}" for host in self.hosts}
        self.seen = time.monotonic()  # the last request from a page
        self._numbers = iter(range(10**9))
        self._skipped = 0  # files not taken (not media, or unreadable): listed under negative ids
        self._add_lock = threading.Lock()

    def add(self, name: str, stream: Any, length: int) -> Entry:
        """Receive one file from the browser onto the desk; UploadError when it cannot be taken."""
        with self._add_lock:
            number = next(self._numbers)
        rel = safe_relative(name)
        path = self.space.receive(number, rel.rsplit("/", 1)[-1], stream, length)
        kind, suffix, state, detail = "image", "", "waiting", None
        try:
            media = identify(path)  # what a file is, as every command decides it
        except UnreadableInput as error:  # damaged, or another file under a photo's or video's name
            state, detail = FAILED, str(error)
        except UnseenError:
            state = SKIPPED
        else:
            kind, suffix = media.kind.value, media.suffix
        if state in (SKIPPED, FAILED):  # listed on the desk, never in the editor; no copy kept
            self.space.forget(number)
            with self._add_lock:
                self._skipped += 1
                gone = Item(id=-self._skipped, source=path, output=path, name=rel, kind="other")
                return self.queue.add(gone, length, state, detail)
        output = default_output(path, suffix, self.space.output_folder(number))
        with self._add_lock:
            item = Item(id=len(self.catalog.items), source=path, output=output, name=rel, kind=kind,
                        edits_at=self.space.root / "edits" / f"{number}.json")  # fmt: skip
            self.catalog.items.append(item)
            return self.queue.add(item, length, state)

    def ready(self) -> list[tuple[Entry, str]]:
        """The written outputs to export and the name each takes: the added folder layout kept."""
        taken: set[str] = set()
        chosen = []
        for entry in list(self.queue.entries):
            if entry.state != DONE or entry.as_dict()["changed"] or not entry.item.output.is_file():
                continue
            folder = entry.item.name.rpartition("/")[0]
            chosen.append((entry, free_name(folder, entry.item.output.name, taken)))
        return chosen

    def close_when_idle(self, seconds: float) -> None:
        """Shut down after `seconds` with no request and nothing to do: the page was closed for good."""

        def watch() -> None:
            while True:
                time.sleep(min(seconds, 5.0))
                if time.monotonic() - self.seen > seconds and not self.queue.busy:
                    self.shutdown()
                    return

        threading.Thread(target=watch, name="unseen-desk-idle", daemon=True).start()

    def close(self) -> None:
        """Stop the queue and remove every original and output this desk held."""
        self.queue.stop()
        self.space.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}/?token={self.token}"


class DeskHandler(Handler):
    server: DeskServer
    server_version = "unseen-desk"

    def _allowed(self, query: dict[str, list[str]]) -> bool:
        """The review's checks, and no request another site's page started (CSRF, rebinding)."""
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            return False
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return False
        if not super()._allowed(query):
            return False
        self.server.seen = time.monotonic()
        return True

    def _refuse(self, status: HTTPStatus, code: str, message: str) -> None:
        """An error the page can name in the person's language (`code`) and in English."""
        self._json({"error": message, "code": code}, status)

    # -- GET --------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path not in ("/", "/index.html", "/review", "/api/desk", "/api/export.zip") and not (
            path.startswith("/static/") and path[len("/static/") :] in DESK_STATIC
        ):
            return super().do_GET()
        if self._route() is None:
            return None
        if path in ("/", "/index.html"):
            return self._desk_page()
        if path == "/review":
            return self._review_page()
        if path == "/api/desk":
            queue = self.server.queue
            return self._json({"entries": queue.snapshot(), "busy": queue.busy, "folder": suggested_folder()})
        if path == "/api/export.zip":
            return self._zip()
        name = path[len("/static/") :]
        body = resources.files("unseen.web").joinpath("static", *name.split("/")).read_bytes()
        return self._send(200, body, DESK_STATIC[name])

    do_HEAD = do_GET

    def _desk_page(self) -> None:
        lang = choose_language(self.headers.get("Accept-Language"))
        html = resources.files("unseen.web").joinpath("static", "desk.html").read_text()
        html = html.replace("{{TOKEN}}", self.server.token).replace("{{LANG}}", lang)
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def _review_page(self) -> None:
        """The review editor over the desk's items, with a way back to the desk."""
        html = self._editor_html()
        html = html.replace("<header>", "<header>" + BACK_LINK.format(token=self.server.token), 1)
        self._send(200, html.encode(), "text/html; charset=utf-8")

    def _zip(self) -> None:
        """Every ready output in one zip, streamed: no copy of it is ever held whole."""
        ready = self.server.ready()
        self.send_response(200)
        for name, value in HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Disposition", 'attachment; filename="unseen.zip"')
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        with contextlib.suppress(OSError):  # the browser stopped the download: nothing to clean up
            write_zip(self.wfile, [(entry.item.output, name) for entry, name in ready])

    # -- POST -------------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path not in ("/api/upload", "/api/redo", "/api/save", "/api/quit"):
            return super().do_POST()
        if self._route() is None:
            return None
        if path == "/api/upload":
            return self._upload()
        body = self._body()
        if body is None:
            return None
        if path == "/api/redo":
            ids = body.get("ids")
            if not isinstance(ids, list) or not all(
                isinstance(i, int) and self.server.catalog.get(i) for i in ids
            ):
                return self._fail(HTTPStatus.BAD_REQUEST, "ids: a list of item numbers")
            again = self.server.queue.redo([self.server.catalog.items[i] for i in ids])
            return self._json({"again": [e.item.id for e in again]}, HTTPStatus.ACCEPTED)
        if path == "/api/save":
            return self._save(body.get("folder"))
        self._json({"closing": True})
        threading.Thread(target=self.server.shutdown, daemon=True).start()
        return None

    def _body(self) -> dict[str, Any] | None:
        if self.headers.get_content_type() != "application/json":
            self._fail(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._fail(HTTPStatus.BAD_REQUEST, "expected a JSON object")
            return None
        return body

    def _upload(self) -> None:
        """One file as the request body (never multipart), written to disk as it arrives."""
        if self.headers.get_content_type() != "application/octet-stream":
            return self._fail(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        if self.headers.get("Transfer-Encoding"):
            return self._fail(HTTPStatus.LENGTH_REQUIRED)
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            return self._fail(HTTPStatus.LENGTH_REQUIRED)
        name = unquote(self.headers.get(NAME_HEADER) or "")[:1000] or "file"
        if not 0 < length <= MAX_UPLOAD:
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_big", f"{name}: {length} bytes")
        try:
            entry = self.server.add(name, self.rfile, length)
        except UploadError as error:
            return self._refuse(HTTPStatus.INSUFFICIENT_STORAGE, "no_room", str(error))
        except OSError as error:
            return self._refuse(HTTPStatus.INSUFFICIENT_STORAGE, "no_room", f"{name}: {error.strerror}")
        return self._json(entry.as_dict(), HTTPStatus.CREATED)

    def _save(self, raw: object) -> None:
        """Copy every ready output into the folder the person typed; nothing is overwritten."""
        try:
            folder = choose_folder(raw, self.server.space)
            saved = [
                {"id": entry.item.id, "as": copy_into(entry.item.output, folder, name)}
                for entry, name in self.server.ready()
            ]
        except FolderRefused as refused:
            return self._refuse(HTTPStatus.BAD_REQUEST, refused.code, str(refused))
        except OSError as error:
            return self._refuse(
                HTTPStatus.INSUFFICIENT_STORAGE, "folder_unwritable", f"{raw}: {error.strerror}"
            )
        return self._json({"folder": str(folder), "saved": saved})
