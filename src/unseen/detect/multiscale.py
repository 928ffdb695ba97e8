"""CenterFace at several scales, each keeping the face sizes it sees best; the union is masked.

Measured on 150 dev images (bench/common.py's 'protected' measure): the image's own size alone
protects 96% of faces of 16 px and up but half of those under 10 px; a 2x pass finds the small
ones but cuts large faces into fragments; a 0.5x pass catches faces that fill the frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from unseen.detect.base import nms
from unseen.detect.centerface import CenterFace
from unseen.types import Detections, Image


@dataclass(frozen=True)
class Pass:
    """One CenterFace run: resize by `scale`, keep faces between min_px and max_px tall
    (in the input's pixels) scoring at least `threshold` x the run's threshold."""

    scale: float
    threshold: float = 1.0
    min_px: float = 0.0
    max_px: float = float("inf")


DEFAULT_PASSES = (
    Pass(1.0),
    Pass(2.0, threshold=0.5, max_px=30.0),  # small faces: upscaled, and more lenient
    Pass(0.5, min_px=60.0),  # faces that fill the frame
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

    def detect(self, image: Image) -> Detections:
        parts = []
        for p in self.passes:
            found = self.detector.detect_at(image, p.scale, self.threshold * p.threshold)
            heights = found.heights
            found = found[(heights >= p.min_px) & (heights <= p.max_px)]
            parts.append(found.with_source(f"centerface@{p.scale:g}"))
        return nms(Detections.merge(parts), 0.3)
