"""What `unseen review` shows: the photos and videos of a folder, their outputs, detections and edits.

Items are addressed by their index in this server-side list, never by a path from the browser.
Inputs come from the manifest of the batch that wrote the output folder (found in its state
folder, see unseen.batch.statedir) when there is one, else from walking the
folder for photos and videos (by content). Detection runs lazily, once per photo, when it is first
needed; a video's face tracks come from the report of the run that wrote its output.
Nothing is ever written inside the reviewed folder: sidecars and outputs go to the output folder.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unseen.detect import Detector
from unseen.detect.base import iou_matrix
from unseen.edits import REMOVED_IOU, Box, Edits, sidecar_for
from unseen.errors import UnreadableInput, UnseenError
from unseen.media.image import load_image
from unseen.media.registry import MediaType, identify
from unseen.names import NamePolicy, candidate_names, public_folders
from unseen.pipeline import default_output, find_faces
from unseen.redact import head_boxes
from unseen.redact.masks import BOTTOM, SIDE, TOP
from unseen.settings import Settings
from unseen.types import Detections, FaceRecord, FloatArray, Image, MaskShape
from unseen.web.frames import VideoFrames

if TYPE_CHECKING:
    from unseen.verify import Verifier

ELLIPSE_COVER = 1.45  # just over sqrt(2): an ellipse through a rectangle's corners, pixels included
PIXEL_CACHE = 3  # decoded photos kept for the editor: a few, never the whole folder


@dataclass
class Item:
    """One photo or video under review: where it is, where its output goes, what is known about it."""

    id: int
    source: Path
    output: Path
    name: str  # path relative to the reviewed folder, for display
    kind: str = "image"  # or "video"
    verdict: str = "not exported"
    face_count: int | None = None
    detections: Detections | None = None
    width: int = 0
    height: int = 0
    edits: Edits = field(default_factory=Edits)
    error: str | None = None
    edits_error: str | None = None  # the sidecar is damaged: shown, and never saved over
    version: int = 0  # bumped on every edit, so the browser asks for a fresh preview
    exported_version: int | None = None  # the version this session's export wrote
    tracks: list[dict[str, Any]] = field(default_factory=list)  # video: face tracks of the last run
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def sidecar(self) -> Path:
        return sidecar_for(self.output)

    def output_is_current(self) -> bool:
        """The output on disk already reflects the saved edits (it was written after them)."""
        try:
            made = self.output.stat().st_mtime
        except OSError:
            return False
        if self.exported_version is not None:
            return self.exported_version == self.version
        try:
            return self.sidecar.stat().st_mtime <= made
        except OSError:
            return True


class Catalog:
    """The list of items under review and the work done on them; safe to share between threads."""

    def __init__(
        self,
        folder: Path,
        out: Path,
        settings: Settings | None = None,
        detector: Detector | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.folder = folder.resolve()
        self.out = out.resolve()
        if self.out == self.folder or self.out.is_relative_to(self.folder):
            raise ValueError(f"{out}: the output folder must be outside the reviewed folder {folder}")
        self.settings = settings or Settings()
        self.detector = detector
        self.verifier = verifier  # None: the real one, when settings.verify
        self.skipped: list[str] = []  # files left out: neither photos nor videos
        listed = _from_manifest(self.folder, self.out, self.skipped)
        self.items = (
            listed if listed is not None else _walk(self.folder, self.out, self.skipped, self.settings.names)
        )
        for item in self.items:
            item.edits, item.edits_error = _load_edits(item.sidecar)
        self.detect_lock = threading.Lock()  # two cores: one detection at a time
        self._pixels: OrderedDict[int, Image] = OrderedDict()
        self._pixels_lock = threading.Lock()
        self.frames = VideoFrames(self.settings.max_pixels)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, item_id: int) -> Item | None:
        return self.items[item_id] if 0 <= item_id < len(self.items) else None

    def pixels(self, item: Item) -> Image:
        """The decoded input, orientation applied; kept for the few most recent items only."""
        with self._pixels_lock:
            if item.id in self._pixels:
                self._pixels.move_to_end(item.id)
                return self._pixels[item.id]
        pixels = load_image(item.source, self.settings.max_pixels).pixels
        with self._pixels_lock:
            self._pixels[item.id] = pixels
            while len(self._pixels) > PIXEL_CACHE:
                self._pixels.popitem(last=False)
        item.height, item.width = pixels.shape[:2]
        return pixels

    def detections(self, item: Item) -> Detections:
        """The detector's faces for an item, found on first use (UnseenError if unreadable)."""
        with item.lock:
            if item.detections is not None:
                return item.detections
            try:
                pixels = self.pixels(item)
                with self.detect_lock:
                    found = find_faces(pixels, self.settings, self.detector)
            except UnseenError as error:
                item.error = str(error)
                raise
            item.detections = found
            item.face_count = len(item.edits.apply(found))
            return found

    def save_edits(self, item: Item, edits: Edits) -> None:
        """Keep the person's corrections, on disk at once: closing the browser loses nothing.

        A damaged sidecar from before is never replaced here (UnreadableInput): the person's
        earlier corrections may be in it; they fix or delete it and reload.
        """
        with item.lock:
            if item.edits_error is not None:
                raise UnreadableInput(item.edits_error)
            edits.save(item.sidecar)
            item.edits = edits
            item.version += 1
            if item.detections is not None:
                item.face_count = len(edits.apply(item.detections))

    def masks(self, item: Item) -> list[dict[str, Any]]:
        """Every mask of a photo for the editor: detected, added by the person, or removed by them.

        For a video, the masks the person added or removed on every frame (tracks are apart).
        """
        edits = item.edits
        out: list[dict[str, Any]] = []
        if item.kind == "image":
            found = self.detections(item)
            kept = np.ones(len(found), bool)
            if edits.removed and len(found):
                removed = np.asarray(edits.removed, np.float32).reshape(-1, 4)
                kept = iou_matrix(found.boxes, removed).max(axis=1) < REMOVED_IOU
            scores: list[float | None] = [round(float(s), 3) for s in found.scores[kept]]
            out += self.mask_entries("detected", found.boxes[kept], scores, item)
        out += self.mask_entries("added", edits.added, [None] * len(edits.added), item)
        out += self.mask_entries("removed", edits.removed, [None] * len(edits.removed), item)
        return out

    def mask_entries(
        self, kind: str, boxes: FloatArray | list[Box], scores: list[float | None], item: Item
    ) -> list[dict[str, Any]]:
        """Face boxes and the head regions their masks cover, JSON-ready."""
        faces = np.asarray(boxes, np.float32).reshape(-1, 4)
        if not len(faces):
            return []
        heads = head_boxes(Detections(faces, np.ones(len(faces), np.float32)), (item.height, item.width),
                           self.settings.grow)  # fmt: skip
        return [
            {
                "kind": kind,
                "index": index,
                "box": [round(float(v), 1) for v in box],
                "mask_box": [round(float(v), 1) for v in head],
                "score": score,
            }
            for index, (box, head, score) in enumerate(zip(faces, heads, scores, strict=True))
        ]

    def video_size(self, item: Item) -> tuple[int, int, int, float]:
        """Width, height (upright), frame count and rate of what the editor shows of a video."""
        try:
            info = self.frames.info(self.video_shown(item))
        except UnseenError as error:
            item.error = str(error)
            raise
        item.width, item.height = info.width, info.height
        return info.width, info.height, info.frames, info.fps

    def video_shown(self, item: Item) -> Path:
        """The written output when there is one (already masked), else the input, to be masked live."""
        return item.output if item.output.is_file() else item.source

    def take_report(self, item: Item, faces: list[FaceRecord] | list[dict[str, Any]]) -> None:
        """A video run's face tracks become the item's; a track switched off stays listed.

        A run that leaves a track unmasked may not report it, and the person must still be able
        to switch it back on.
        """
        tracks = tracks_from(faces)
        with item.lock:
            known = {t["track"] for t in tracks}
            kept = [t for t in item.tracks if t["track"] in item.edits.tracks_off and t["track"] not in known]
            item.tracks = sorted(tracks + kept, key=lambda t: (t["first"], t["track"]))

    def face_box_for(self, region: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """The face box whose head-region mask covers all of `region` (the inverse of head_boxes).

        An elliptic mask passes through the region's corners, so nothing dragged over stays bare.
        """
        x1, y1, x2, y2 = region
        grow = self.settings.grow / (ELLIPSE_COVER if self.settings.shape is MaskShape.ELLIPSE else 1.0)
        w = (x2 - x1) / ((1 + 2 * SIDE) * grow)
        h = (y2 - y1) / ((1 + TOP + BOTTOM) * grow)
        cx = (x1 + x2) / 2
        cy = (y1 + y2) / 2 + h * (TOP - BOTTOM) / 2
        return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def tracks_from(faces: list[FaceRecord] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The face tracks of a video's report: id, first and last masked frame, first box."""
    tracks: list[dict[str, Any]] = []
    for face in faces:
        record = face if isinstance(face, dict) else vars(face)
        track, first, last = record.get("track"), record.get("first"), record.get("last")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (track, first, last)):
            continue  # a report from before tracks were numbered: nothing to switch
        box, head = record.get("box"), record.get("mask_box") or record.get("box")
        if not (_four(box) and _four(head)):
            continue
        score = record.get("score")
        tracks.append(
            {
                "track": track,
                "first": first,
                "last": max(first, last),  # type: ignore[type-var]
                "box": [float(v) for v in box],  # type: ignore[union-attr]
                "mask_box": [float(v) for v in head],  # type: ignore[union-attr]
                "score": round(float(score), 3) if isinstance(score, (int, float)) else None,
            }
        )
    return sorted(tracks, key=lambda t: (t["first"], t["track"]))


def _four(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _load_edits(path: Path) -> tuple[Edits, str | None]:
    """The saved edits, or none and why: a damaged sidecar is reported, never silently reset."""
    try:
        return (Edits.load(path) if path.is_file() else Edits()), None
    except UnseenError as error:
        return Edits(), str(error)


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):
        return False


def _walk(folder: Path, out: Path, skipped: list[str], names: NamePolicy = NamePolicy.NEUTRAL) -> list[Item]:
    """Every photo and video in the folder (by content), sorted; outputs mirror its layout in `out`,
    named as `unseen batch` names them (a file or folder name that shows a time becomes photo,
    photo-2, ... or folder, folder-2, ...)."""
    found: list[tuple[Path, Path, MediaType]] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith(".") or ".unseen." in name or not path.is_file() or not _inside(path, folder):
                continue
            rel = path.relative_to(folder)
            try:
                found.append((path, rel, identify(path)))
            except UnseenError:
                skipped.append(rel.as_posix())
    folders = public_folders((rel.parent.as_posix() for _, rel, _ in found), names)
    items: list[Item] = []
    taken: set[str] = set()
    for path, rel, media in found:
        parent = folders[rel.parent.as_posix() if rel.parent != Path(".") else ""]
        out_name = next(
            n
            for n in candidate_names(path.name, media.kind.value, media.suffix, names)
            if f"{parent}/{n}".casefold() not in taken
        )
        taken.add(f"{parent}/{out_name}".casefold())
        target = out / parent / out_name
        items.append(
            Item(id=len(items), source=path, output=target, name=rel.as_posix(), kind=media.kind.value)
        )
    return items


def _from_manifest(folder: Path, out: Path, skipped: list[str]) -> list[Item] | None:
    """The photos and videos `unseen batch` recorded in its manifest for `out`, if any; else None.

    Read only. Rows outside the reviewed folder or the output folder are ignored, so a manifest
    cannot send the server to read or write anywhere else.
    """
    from unseen.batch.manifest import State
    from unseen.batch.statedir import find_manifest

    path = find_manifest(out)
    if path is None:
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT rel, state, kind, output, faces, verdict, report FROM files ORDER BY rel"
            ).fetchall()
    except sqlite3.Error:
        return None
    items: list[Item] = []
    for rel_raw, state, kind, output_raw, faces, verdict, report in rows:
        rel, output = _text(rel_raw), _text(output_raw)
        src = folder / rel
        if kind not in ("image", "video") or not src.is_file() or not _inside(src, folder):
            skipped.append(rel)
            continue
        dst = out / output if output else default_output(src, src.suffix, out / Path(rel).parent)
        if not _inside(dst.parent, out):
            skipped.append(rel)
            continue
        item = Item(id=len(items), source=src, output=dst, name=Path(rel).as_posix(), kind=kind)
        item.verdict = (verdict or "written") if state == State.DONE else _STATES.get(state, item.verdict)
        item.face_count = faces if isinstance(faces, int) else None
        if kind == "video":  # a refused run's report names its tracks too
            item.tracks = tracks_from(_report_faces(report))
        items.append(item)
    return items


_STATES = {"failed": "failed", "refused": "refused", "pending": "not exported", "running": "not exported"}


def _report_faces(report: object) -> list[dict[str, Any]]:
    """The `faces` of a report the manifest holds as JSON; nothing when it is odd."""
    try:
        faces = json.loads(report)["faces"] if isinstance(report, (str, bytes)) else []
    except (ValueError, TypeError, KeyError):
        return []
    return [f for f in faces if isinstance(f, dict)] if isinstance(faces, list) else []


def _text(value: object) -> str:
    """A manifest path: stored as bytes (surrogate-escaped UTF-8) so any file name fits."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value or "")
