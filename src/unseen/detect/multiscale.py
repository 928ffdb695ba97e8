"""Run CenterFace at several scales and keep the union: large faces at 1x, small ones upscaled."""

from __future__ import annotations

from collections.abc import Sequence

from unseen.detect.base import nms
from unseen.detect.centerface import CenterFace
from unseen.types import Detections, Image


class MultiScale:
    """Union of CenterFace passes at `scales`; the upscaled passes keep only small faces."""

    def __init__(
        self,
        detector: CenterFace,
        scales: Sequence[float] = (1.0, 2.0),
        small_face_px: float = 40.0,
        threshold: float | None = None,
    ) -> None:
        self.detector = detector
        self.threshold = threshold
        self.scales = tuple(scales)
        self.small_face_px = small_face_px

    def detect(self, image: Image) -> Detections:
        parts = []
        for scale in self.scales:
            found = self.detector.detect_at(image, scale, self.threshold)
            if scale > 1:
                # upscaled passes cut large faces into fragments; the 1x pass owns those
                found = found[found.heights <= self.small_face_px]
            parts.append(found.with_source(f"centerface@{scale:g}"))
        return nms(Detections.merge(parts), 0.3)
