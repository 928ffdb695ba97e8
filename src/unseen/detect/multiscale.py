"""CenterFace at several scales, each keeping the face sizes it sees best; the union is masked.

Measured on 150 dev images (bench/common.py's 'protected' measure): the image's own size alone
protects 96% of faces of 16 px and up but half of those under 10 px; a 2x pass finds the small
ones but cuts large faces into fragments; a 0.5x pass catches faces that fill the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


class MultiScale:
    """Union of CenterFace passes, merged by non-maximum suppression."""

    def __init__(
        self,
        detector: CenterFace,
        passes: Sequence[Pass] = DEFAULT_PASSES,
        threshold: float = 0.2,
    ) -> None:
        self.detector = detector
        self.passes = tuple(passes)
        self.threshold = threshold

    def passes_for(self, image: Image) -> list[Pass]:
        """The passes, plus coarser ones until the whole image fits one network run: on a big
        photo the finer passes are tiled, and a face larger than a tile's overlap is found whole
        only at a scale where it fits."""
        passes = list(self.passes)
        h, w = image.shape[:2]
        scale = min(p.scale for p in passes)
        while w * h * scale * scale > TILE_PIXELS:
            scale /= 2
            passes.append(Pass(scale, min_px=LARGE_FACE_PX))
        return passes

    def detect(self, image: Image) -> Detections:
        parts = []
        for p in self.passes_for(image):
            overlap = p.max_px * p.scale * 1.5 + 16 if p.max_px < float("inf") else 256.0
            found = self.detector.detect_at(image, p.scale, self.threshold * p.threshold, overlap)
            heights = found.heights
            found = found[(heights >= p.min_px) & (heights <= p.max_px)]
            parts.append(found.with_source(f"centerface@{p.scale:g}"))
        return nms(Detections.merge(parts), 0.3)
