"""What `unseen review` shows: the photos and videos of a folder, their outputs, detections and edits.

Items are addressed by their index in this server-side list, never by a path from the browser.
Inputs come from the manifest of the batch that wrote the output folder (found in its state
folder, see unseen.batch.statedir) when there is one, else from walking the
folder for photos and videos (by content). Detection runs lazily, once per photo, when it is first
needed; a video's face tracks come from the report of the run that wrote its output.
Nothing is ever written inside the reviewed folder: sidecars and outputs go to the output folder.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unseen.detect import Detector
from unseen.edits import Box, Edits, left_bare
from unseen.errors import UnreadableInput, UnseenError
from unseen.media.image import load_image
from unseen.pipeline import find_faces
from unseen.redact import head_boxes
from unseen.redact.masks import BOTTOM, SIDE, TOP
from unseen.settings import Settings
from unseen.types import Detections, FaceRecord, FloatArray, Image, MaskShape
from unseen.web.desk_text import covered
from unseen.web.frames import VideoFrames
from unseen.web.items import Item, from_manifest, tracks_from, walk

if TYPE_CHECKING:
    from unseen.text import TextDetector
    from unseen.verify import Verifier

ELLIPSE_COVER = 1.45  # just over sqrt(2): an ellipse through a rectangle's corners, pixels included
PIXEL_CACHE = 3  # decoded photos kept for the editor: a few, never the whole folder


class Catalog:
    """The list of items under review and the work done on them; safe to share between threads."""

    def __init__(
        self,
        folder: Path,
        out: Path,
        settings: Settings | None = None,
        detector: Detector | None = None,
        verifier: Verifier | None = None,
        text_detector: TextDetector | None = None,
    ) -> None:
        self.folder = folder.resolve()
        self.out = out.resolve()
        if self.out == self.folder or self.out.is_relative_to(self.folder):
            raise ValueError(f"{out}: the output folder must be outside the reviewed folder {folder}")
        self.settings = settings or Settings()
        self.detector = detector
        self.verifier = verifier  # None: the real one, when settings.verify
        self.text_detector = text_detector  # None: the installed one, when the text mode needs it
        self.skipped: list[str] = []  # files left out: neither photos nor videos
        listed = from_manifest(self.folder, self.out, self.skipped)
        self.items = (
            listed if listed is not None else walk(self.folder, self.out, self.skipped, self.settings.names)
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
            kept = ~left_bare(found.boxes, edits.removed_boxes())
            scores: list[float | None] = [round(float(s), 3) for s in found.scores[kept]]
            out += self.mask_entries("detected", found.boxes[kept], scores, item)
        out += self.mask_entries("added", edits.added, [None] * len(edits.added), item)
        out += self.mask_entries("removed", edits.removed, [None] * len(edits.removed), item)
        return out

    def added_mask_boxes(self, item: Item) -> list[list[float]]:
        """The regions the person's added masks cover on every frame (their head boxes)."""
        if not item.width or not item.height:
            return []
        return [
            entry["mask_box"]
            for entry in self.mask_entries("added", item.edits.added, [None] * len(item.edits.added), item)
        ]

    def text_left(self, item: Item) -> list[dict[str, Any]]:
        """Text the last run left unmasked that no mask the person added covers yet."""
        masks = self.added_mask_boxes(item)
        return [region for region in item.text_left if not covered(region["box"], masks)]

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


def _load_edits(path: Path) -> tuple[Edits, str | None]:
    """The saved edits, or none and why: a damaged sidecar is reported, never silently reset."""
    try:
        return (Edits.load(path) if path.is_file() else Edits()), None
    except UnseenError as error:
        return Edits(), str(error)
