"""Models load once per process, on first use, never at import time."""

from __future__ import annotations

from functools import lru_cache

from unseen.detect import CenterFace, Detector, MultiScale
from unseen.settings import Settings


@lru_cache(maxsize=4)
def _centerface(threads: int = 0) -> CenterFace:
    return CenterFace(threads=threads)


def default_detector(settings: Settings) -> Detector:
    """The detector that decides the masks, for photos and video frames alike: CenterFace at
    0.5x, 1x and 2x of a ~1 MP working copy of the image (see unseen.detect.multiscale)."""
    centerface = _centerface()
    return MultiScale(centerface, threshold=settings.threshold)
