"""Pictures for the browser: masked previews and thumbnails, and the original on request.

Masks are applied at full resolution before any scaling, so no picture of a masked item ever
leaves the server with a detected face bare. Everything is encoded in memory: masked thumbnails
are cached in memory only, originals are never cached or written anywhere.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import replace

import cv2
import numpy as np
from PIL import Image as PILImage

from unseen.errors import UnseenError
from unseen.media.image import load_image
from unseen.redact import apply_masks
from unseen.types import Image, MaskStyle
from unseen.web.catalog import Catalog, Item

THUMB_SIDE = 320
PREVIEW_SIDE = 1600
THUMB_CACHE = 2000  # ~15 kB each: a 1,000-photo folder fits


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
        self._thumbs: OrderedDict[tuple[int, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def masked(self, item: Item) -> Image:
        """The item with the current detections and edits masked: what export will start from."""
        detections = item.edits.apply(self.catalog.detections(item))
        settings = self.catalog.settings
        if item.edits.mask:
            settings = replace(settings, mask=MaskStyle(item.edits.mask))
        pixels = self.catalog.pixels(item)
        return apply_masks(pixels, detections, settings.mask, settings.shape, settings.grow)

    def preview(self, item: Item) -> bytes:
        return jpeg(fit(self.masked(item), PREVIEW_SIDE))

    def thumbnail(self, item: Item) -> bytes:
        key = (item.id, item.version)
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
        if item.version == 0 and item.output_is_current():
            try:
                return load_image(item.output, self.catalog.settings.max_pixels).pixels
            except UnseenError:
                pass  # an odd output file: render from the input instead
        return self.masked(item)

    def original(self, item: Item, small: bool = False) -> bytes:
        """The unmasked input, scaled for the screen; sent only on an explicit request, never kept."""
        return jpeg(fit(self.catalog.pixels(item), THUMB_SIDE if small else PREVIEW_SIDE))
