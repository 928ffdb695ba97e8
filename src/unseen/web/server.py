"""The review server: loopback only, one random token, items by index, strict browser headers.

Every request (page, script, picture, API) must carry the token, as `?token=` or the
`X-Unseen-Token` header, compared in constant time; anything else gets 403 before any routing.
The browser never names a file: items are indexes into the server's own list, and the only
static files are the few named in STATIC. Responses are never cached, carry no CORS headers,
and the page may load nothing but its own script and style.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import secrets
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from unseen.detect import Detector
from unseen.errors import UnseenError
from unseen.settings import Settings
from unseen.types import MaskStyle
from unseen.web.catalog import Catalog
from unseen.web.corrections import edits_from
from unseen.web.desk_text import when
from unseen.web.export import Exporter, _short
from unseen.web.items import Item
from unseen.web.render import NoSuchFrame, Renderer

if TYPE_CHECKING:
    from unseen.text import TextDetector
    from unseen.verify import Verifier

HOST = "127.0.0.1"
TOKEN_HEADER = "X-Unseen-Token"
LANGUAGES = (
    "en",
    "ru",
    "uk",
    "be",
)  # the pages' words: static/locales/LANG.json, one set for desk and editor
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "editor.js": "text/javascript; charset=utf-8",
    "video.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "icon.svg": "image/svg+xml",
    **{f"locales/{lang}.json": "application/json" for lang in LANGUAGES},
}
PAGE_SIZE, MAX_PAGE_SIZE = 48, 200
MAX_BODY = 256 * 1024
MAX_FRAME = 10**8  # frame numbers past this are refused before any file is opened
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ITEM_ROUTE = re.compile(r"/api/items/(\d{1,9})(?:/(thumb|preview|original|frame|edits))?")


def choose_language(header: str | None) -> str:
    """The first language of Accept-Language the pages speak, by the browser's own order; else English."""
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        wanted.append((-quality, index, tag.split("-")[0].lower()))
    for _, _, base in sorted(wanted):
        if base in LANGUAGES:
            return base
    return "en"


class ReviewServer(ThreadingHTTPServer):
    """An HTTP server holding one review: its catalog, pictures, export job and token."""

    daemon_threads = True

    def __init__(self, catalog: Catalog, port: int = 0) -> None:
        super().__init__((HOST, port), Handler)
        self.catalog = catalog
        self.renderer = Renderer(catalog)
        self.exporter = Exporter(catalog)
        self.token = secrets.token_urlsafe(32)
        self.hosts = {f"{HOST}:{self.server_port}", f"localhost:{self.server_port}"}

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_port}/?token={self.token}"


def serve(
    folder: Path,
    out: Path | None = None,
    settings: Settings | None = None,
    *,
    detector: Detector | None = None,
    verifier: Verifier | None = None,
    text_detector: TextDetector | None = None,
    port: int = 0,
) -> ReviewServer:
    """A review server for `folder` (outputs in `out`, default FOLDER-unseen), bound, not yet running."""
    folder = Path(folder)
    out = Path(out) if out is not None else folder.resolve().with_name(folder.resolve().name + "-unseen")
    return ReviewServer(Catalog(folder, out, settings, detector, verifier, text_detector), port)


class Handler(BaseHTTPRequestHandler):
    server: ReviewServer
    server_version = "unseen-review"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry the token."""

    # -- plumbing ---------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        for name, value in HEADERS.items():
            self.send_header(name, value)
        if status >= 400:  # a refused request's body may be unread: never parse it as the next request
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(ConnectionError):  # the page moved on before the picture came
                self.wfile.write(body)

    def _json(self, data: object, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _fail(self, status: HTTPStatus, message: str | None = None) -> None:
        self._json({"error": message or status.phrase}, status)

    def _allowed(self, query: dict[str, list[str]]) -> bool:
        """Our own Host (no DNS rebinding) and the token, from the header or the query."""
        if self.headers.get("Host", "") not in self.server.hosts:
            return False
        given = self.headers.get(TOKEN_HEADER) or (query.get("token") or [""])[0]
        return hmac.compare_digest(given.encode(), self.server.token.encode())

    def _route(self) -> tuple[str, dict[str, list[str]]] | None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if not self._allowed(query):
            self._fail(HTTPStatus.FORBIDDEN)
            return None
        return parts.path, query

    def _item(self, match: re.Match[str]) -> Item | None:
        item = self.server.catalog.get(int(match.group(1)))
        if item is None:
            self._fail(HTTPStatus.NOT_FOUND)
        return item

    def _unusable(self, item: Item, error: UnseenError) -> None:
        """An unreadable photo: say why, naming it as the page does (no folder names)."""
        self._fail(HTTPStatus.UNPROCESSABLE_ENTITY, str(error).replace(str(item.source), item.name))

    def do_PUT(self) -> None:
        if self._route() is not None:
            self._fail(HTTPStatus.METHOD_NOT_ALLOWED)

    do_DELETE = do_PATCH = do_OPTIONS = do_PUT

    # -- GET --------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        routed = self._route()
        if routed is None:
            return
        path, query = routed
        if path in ("/", "/index.html"):
            return self._page()
        if path.startswith("/static/") and path[len("/static/") :] in STATIC:
            name = path[len("/static/") :]
            body = resources.files("unseen.web").joinpath("static", *name.split("/")).read_bytes()
            return self._send(200, body, STATIC[name])
        if path == "/api/items":
            return self._json(self._listing(query))
        if path == "/api/export":
            return self._json(self.server.exporter.snapshot())
        match = ITEM_ROUTE.fullmatch(path)
        if match is None or match.group(2) == "edits":
            return self._fail(HTTPStatus.NOT_FOUND)
        item = self._item(match)
        if item is None:
            return
        try:
            if match.group(2) is None:
                return self._json(self._detail(item))
            renderer, kind = self.server.renderer, match.group(2)
            index = _int(query, "i", 0, 0, MAX_FRAME)
            if kind == "frame" and item.kind != "video":
                return self._fail(HTTPStatus.NOT_FOUND)
            if kind == "original":
                body = renderer.original(item, small="small" in query, index=index)
            elif kind == "frame":
                body = renderer.frame(item, index)
            else:
                body = renderer.thumbnail(item) if kind == "thumb" else renderer.preview(item)
            return self._send(200, body, "image/jpeg")
        except NoSuchFrame:
            return self._fail(HTTPStatus.NOT_FOUND, "no such frame")
        except UnseenError as error:
            return self._unusable(item, error)

    do_HEAD = do_GET

    def _page(self) -> None:
        self._send(200, self._editor_html().encode(), "text/html; charset=utf-8")

    def _editor_html(self) -> str:
        """The editor's page with this server's token and the browser's language filled in."""
        html = resources.files("unseen.web").joinpath("static", "index.html").read_text()
        lang = choose_language(self.headers.get("Accept-Language"))
        return html.replace("{{TOKEN}}", self.server.token).replace("{{LANG}}", lang)

    def _listing(self, query: dict[str, list[str]]) -> dict[str, Any]:
        catalog = self.server.catalog
        size = _int(query, "size", PAGE_SIZE, 1, MAX_PAGE_SIZE)
        pages = max(1, -(-len(catalog) // size))
        page = _int(query, "page", 0, 0, pages - 1)
        chosen = catalog.items[page * size : (page + 1) * size]
        return {
            "folder": catalog.folder.name,
            "out": catalog.out.name,
            "total": len(catalog),
            "page": page,
            "pages": pages,
            "size": size,
            "pending": len(self.server.exporter.pending()),
            "skipped": len(catalog.skipped),
            "items": [_summary(item) for item in chosen],
        }

    def _detail(self, item: Item) -> dict[str, Any]:
        catalog = self.server.catalog
        video: dict[str, Any] = {}
        if item.kind == "video":
            video = self._video_detail(item)  # opens the video first, which sets the size
        masks = catalog.masks(item)  # a photo: runs detection first, which sets the size
        return {
            **_summary(item),
            "width": item.width,
            "height": item.height,
            "total": len(catalog),
            "mask": item.edits.mask,
            "default_mask": catalog.settings.mask.value,
            "shape": catalog.settings.shape.value,
            "styles": [m.value for m in MaskStyle],
            "added": [list(b) for b in item.edits.added],
            "removed": [list(b) for b in item.edits.removed],
            "masks": masks,
            "text_left": catalog.text_left(item),
            **video,
        }

    def _video_detail(self, item: Item) -> dict[str, Any]:
        """Size, frames, rate, the last run's face tracks, and the person's track and range edits."""
        catalog = self.server.catalog
        _, _, frames, fps = catalog.video_size(item)
        edits = item.edits
        off = set(edits.tracks_off)
        tracks = [{**t, "off": t["track"] in off} for t in item.tracks]
        known = {t["track"] for t in tracks}
        # switched off in an earlier session, but not in the report at hand: still listed, to undo
        tracks += [{"track": t, "first": None, "last": None, "box": None, "mask_box": None,
                    "score": None, "off": True} for t in sorted(off - known)]  # fmt: skip
        ranges = catalog.mask_entries("range", [r["box"] for r in edits.added_ranges],  # type: ignore[misc]
                                      [None] * len(edits.added_ranges), item)  # fmt: skip
        for entry, chosen in zip(ranges, edits.added_ranges, strict=True):
            entry.update(first=chosen["first"], last=chosen["last"])
        named = when(item.findings, fps)  # a refused clip: the frames to look at, with their times
        return {
            "findings": named["frames"],
            "findings_more": named["more"],
            "frames": frames,
            "fps": fps,
            "shows": "output" if catalog.video_shown(item) == item.output else "input",
            "tracks": tracks,
            "tracks_off": sorted(off),
            "added_ranges": ranges,
        }

    # -- POST -------------------------------------------------------------------------------------

    def do_POST(self) -> None:
        routed = self._route()
        if routed is None:
            return
        path, _ = routed
        if self.headers.get_content_type() != "application/json":
            return self._fail(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            return self._fail(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._fail(HTTPStatus.BAD_REQUEST, "not JSON")
        if not isinstance(body, dict):
            return self._fail(HTTPStatus.BAD_REQUEST, "expected a JSON object")
        if path == "/api/export":
            return self._export(body)
        match = ITEM_ROUTE.fullmatch(path)
        if match is None or match.group(2) != "edits":
            return self._fail(HTTPStatus.NOT_FOUND)
        item = self._item(match)
        if item is None:
            return
        catalog = self.server.catalog
        try:
            frames = None
            if item.kind == "video":
                frames = catalog.video_size(item)[2]
            else:
                catalog.detections(item)  # sets the size
            size = (item.width, item.height)
            edits = edits_from(body, item.edits, size, catalog.face_box_for, frames)
        except UnseenError as error:
            return self._unusable(item, error)
        except (TypeError, ValueError) as error:
            return self._fail(HTTPStatus.BAD_REQUEST, str(error))
        try:
            self.server.catalog.save_edits(item, edits)
        except UnseenError as error:  # a damaged sidecar from before: never silently replaced
            return self._fail(HTTPStatus.CONFLICT, _short(str(error), item))
        return self._json(self._detail(item))

    def _export(self, body: dict[str, Any]) -> None:
        catalog, exporter = self.server.catalog, self.server.exporter
        ids = body.get("ids")
        if ids is None:
            items = exporter.pending()
        elif isinstance(ids, list) and all(isinstance(i, int) and catalog.get(i) for i in ids):
            items = [catalog.items[i] for i in ids]
        else:
            return self._fail(HTTPStatus.BAD_REQUEST, "ids: a list of item numbers")
        if not exporter.start(items):
            return self._fail(HTTPStatus.CONFLICT, "an export is already running")
        return self._json(exporter.snapshot(), HTTPStatus.ACCEPTED)


def _summary(item: Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "kind": item.kind,
        "verdict": item.verdict,
        "faces": item.face_count,
        "edited": not item.edits.is_empty(),
        "current": item.output_is_current(),
        "version": item.version,
        "error": item.error.replace(str(item.source), item.name) if item.error else None,
        "edits_error": _short(item.edits_error, item) if item.edits_error else None,
    }


def _int(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    try:
        value = int((query.get(name) or [str(default)])[0])
    except ValueError:
        value = default
    return min(max(value, low), high)
