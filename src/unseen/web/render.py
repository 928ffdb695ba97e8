"""Pictures for the browser: masked previews, video frames and thumbnails, the original on request.

Masks are applied at full resolution before any scaling, so no picture of a masked item ever
leaves the server with a detected face bare. A video's frames come from its written output
(masked and verified); before there is one, from the input masked as its export will mask it
(the video pipeline's plan for the stretch around the frame). Everything is encoded in memory:
masked thumbnails are cached in memory only, originals are never cached or written anywhere.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage

from unseen.edits import Edits
from unseen.errors import UnseenError
from unseen.media.image import load_image
from unseen.redact import apply_masks
from unseen.types import Detections, Image, MaskStyle
from unseen.video.painting import Painter
from unseen.web.catalog import Catalog
from unseen.web.frames import MaskPlans
from unseen.web.items import Item

THUMB_SIDE = 320
PREVIEW_SIDE = 1600
THUMB_CACHE = 2000  # ~15 kB each: a 1,000-photo folder fits


class NoSuchFrame(LookupError):
    """A frame number past the end of the video."""


def fit(image: Image, side: int) -> Image:
    """Scaled down so its longer side is at most `side`."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    if scale >= 1:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


def jpeg(image: Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(image)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class Renderer:
    """Masked previews and thumbnails of a catalog's items, thumbnails cached by edit version."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.plans = MaskPlans(catalog.frames)
        self._thumbs: OrderedDict[tuple[int, int, int | None], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _mask(self, pixels: Image, detections: Detections, edits: Edits) -> Image:
        settings = self.catalog.settings
        if edits.mask:
            settings = replace(settings, mask=MaskStyle(edits.mask))
        return apply_masks(pixels, detections, settings.mask, settings.shape, settings.grow)

    def masked(self, item: Item) -> Image:
        """The item with the current detections and edits masked: what export will start from."""
        if item.kind == "video":
            return self.masked_frame(item, 0)
        detections = item.edits.apply(self.catalog.detections(item))
        masked = self._mask(self.catalog.pixels(item), detections, item.edits)
        if item.text_masked:  # the text the last run masked, masked here too as in its output
            from unseen.text.protect import fill_text

            boxes = np.asarray(item.text_masked, np.float32).reshape(-1, 4)
            masked = fill_text(masked, boxes, np.ones(len(boxes), np.float32))
        return masked

    def masked_frame(self, item: Item, index: int) -> Image:
        """Frame `index` of a video, masked: the output's frame, with the masks added since it was
        written; before there is an output, the input's frame with the faces found on it and the
        person's masks."""
        edits = item.edits
        shown = self.catalog.video_shown(item)
        pixels = self._frame(shown, index)
        if shown == item.output:
            if item.output_is_current():
                return pixels
            return self._mask(
                pixels, Detections.merge([edits.apply(Detections.empty()), ranges_at(edits, index)]), edits
            )
        # what export will paint: the video pipeline's own plan, not the photo detector
        settings = self.catalog.settings
        if edits.mask:
            settings = replace(settings, mask=MaskStyle(edits.mask))
        with self.catalog.detect_lock:
            catalog = self.catalog
            planned = self.plans.masks(
                item.source, index, settings, catalog.detector, edits, item.version, catalog.text_detector
            )
        return planned.paint(Painter(settings, pixels.shape[1], pixels.shape[0]), pixels)

    def _frame(self, path: Path, index: int) -> Image:
        pixels = self.catalog.frames.frame(path, index)
        if pixels is None:
            raise NoSuchFrame(index)
        return pixels

    def preview(self, item: Item) -> bytes:
        return jpeg(fit(self.masked(item), PREVIEW_SIDE))

    def frame(self, item: Item, index: int) -> bytes:
        return jpeg(fit(self.masked_frame(item, index), PREVIEW_SIDE))

    def thumbnail(self, item: Item) -> bytes:
        key = (item.id, item.version, item.exported_version)
        with self._lock:
            if key in self._thumbs:
                self._thumbs.move_to_end(key)
                return self._thumbs[key]
        data = jpeg(fit(self._thumb_source(item), THUMB_SIDE), quality=80)
        with self._lock:
            self._thumbs[key] = data
            while len(self._thumbs) > THUMB_CACHE:
                self._thumbs.popitem(last=False)
        return data

    def _thumb_source(self, item: Item) -> Image:
        """The written output when it is current (already masked and verified), else a fresh render."""
        if item.version == 0 and item.output_is_current() and item.kind == "image":
            try:
                return load_image(item.output, self.catalog.settings.max_pixels).pixels
            except UnseenError:
                pass  # an odd output file: render from the input instead
        return self.masked(item)

    def original(self, item: Item, small: bool = False, index: int = 0) -> bytes:
        """The unmasked input (a video's frame `index`), scaled for the screen; sent only on an
        explicit request, never kept."""
        pixels = self._frame(item.source, index) if item.kind == "video" else self.catalog.pixels(item)
        return jpeg(fit(pixels, THUMB_SIDE if small else PREVIEW_SIDE))


def ranges_at(edits: Edits, index: int) -> Detections:
    """The masks the person added over frame ranges that hold frame `index`, as face boxes."""
    boxes = [r["box"] for r in edits.added_ranges if r["first"] <= index <= r["last"]]  # type: ignore[operator]
    if not boxes:
        return Detections.empty()
    found = Detections(np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32))
    return found.with_source("review")
