"""The video detector: the photo detector's network, run where a clip needs it.

A photo gets every pass (its own size, 2x for small faces, 0.5x for big ones); a clip cannot
afford them on every frame and does not need to: the tracker fills the frames between, and most
of a frame is what it was a moment ago. So on every `every`-th frame the network looks only:
- around the faces it saw last (each crop scaled so its face is ~CROP_FACE_PX tall: a small face
  is looked at 4x, a big one at a quarter), which keeps the tracks fed;
- at 4x around what moved (for faces of 10-30 px), when the camera itself is still;
  when it pans, the crops around known faces follow the picture's shift (`camera`);
  crops of near scales that overlap share a network run where that costs less (`detect/crops.py`);
and on every `full_every`-th frame at the whole picture (half size on big frames), every
`fine_every`-th at full size (big frames), every `small_every`-th at 2x (up to 640x480). Larger
pictures (up to about 1080p) get the whole picture at 2x on their first look, and one part of it
at 2x on every whole-picture look after, in turn: small faces that stand still, which no motion
look finds (a tripod over a crowd), are found on the first frame, or within a sweep if they come
in unmoving later (a cut); the looks around known faces keep them. The
network and the threshold are the factory's (`unseen.models.default_detector`), so
`--threshold` and detector changes reach video.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from unseen.detect.base import Detector, nms
from unseen.detect.centerface import TILE_PIXELS
from unseen.detect.crops import Crop, join_crops
from unseen.types import Detections, FloatArray, Image

DETECTIONS_PER_SECOND = 7.5  # the look around known faces and motion; tracks fill between
FULL_PER_SECOND = 2.5  # the whole picture at the coarse scale: where new faces are found
FINE_PER_SECOND = 1.0  # the whole picture at full size, on big frames
SMALL_PER_SECOND = 2.5  # the whole picture at 2x, on frames up to SMALL_MAX_PIXELS
SPLIT_PIXELS = 1_500_000  # from here up the whole-picture pass runs at COARSE_SCALE
COARSE_SCALE = 0.5
# Past this no whole-picture 2x pass: on the 608x1080 selfie clip a once-a-second one took the
# run from 537 MB to 2378 MB and from 3.2x deface to 0.7x (bench_video.py); motion crops instead
SMALL_MAX_PIXELS = 640 * 480
SMALL_PX = 30.0  # the upscaled passes keep faces up to this tall, as the photo detector's does
CROP_FACE_PX = 48.0  # a known face is looked at scaled to about this height
CROP_SCALES = (0.25, 4.0)  # the least and most a crop is scaled
CROP_REACH = 48.0  # px a crop reaches past a known face at least: a face moving ~12 px a frame
REACH_SIDE = 1920  # ... on a picture this wide; on larger ones the reach grows with the picture
# an upscaled crop around a known face keeps faces up to this many times its size: the face
# itself, nearer the camera; a 38 px face looked at 1.3x was dropped as "not small" by SMALL_PX and
# left bare on 11 of every 12 frames at 1080p (bench_video.py's generated clip, 17 of 60 frames)
KNOWN_GROWTH = 1.5
# the 2x sweep over pictures larger than SMALL_MAX_PIXELS, up to this size (4K: the whole picture
# at 2x is 33 MP of network, ~12 s a look here; its 1x fine pass sees faces of ~16 px and up)
SWEEP_MAX_PIXELS = 1920 * 1088
SWEEP_BUDGET = 400_000  # network pixels a sweep look runs (as the motion crops): ~0.2 of a 1080p run
SWEEP_OVERLAP = 2 * int(SMALL_PX)  # px the parts overlap: a face the sweep keeps lies whole in one
MOTION_SCALE = 4.0  # a 10 px face scores 0.17 at 4x, 0.03 at 2x (tests/test_video_small.py)
MOTION_SIDE = 960  # the motion map is computed at most this wide
MOTION_LEVEL = 12  # grey levels of change that count as motion
MOTION_MAX_SHARE = 0.15  # more of the picture moving: the camera moves, motion says nothing
MOTION_MAX_SIDE = 160.0  # a moving region larger than this (px) is a body, not a small face alone
MOTION_BUDGET = 400_000  # network pixels a frame for the 4x motion crops (~0.2 of a 1080p run)
CAMERA_SIDE = 480  # the picture's shift between looks is measured on a grey map this wide at most
# phase correlation's peak: a pan across a crowd gives 0.9; the handheld selfie clip 0.1-0.5 while
# the phone swings (the shift is then no one thing), 0.6-1.0 at ~0 px while it is held still;
# below this, no camera shift
CAMERA_CONFIDENCE = 0.5
CAMERA_MIN_SIDE = 16  # px of the grey map: below it, no shift is measured

Shift = tuple[float, float]  # picture shift, px a frame (x, y): where the scene's points went


class Scaled(Protocol):
    """A network that can run at any scale: CenterFace."""

    def detect_at(self, image: Image, scale: float, threshold: float | None = None) -> Detections: ...


def _multiple(every: int, fps: float, per_second: float) -> int:
    """The frame step nearest `fps / per_second` that is a multiple of `every`."""
    return every * max(1, round(fps / per_second / every))


@dataclass(frozen=True)
class Cadence:
    """Which passes run on which frame numbers, for one clip."""

    every: int  # any detection at all: frames index % every == 0
    full_every: int  # the whole picture (at `coarse`)
    fine_every: int  # the whole picture at full size (when `coarse` is set)
    coarse: float | None  # scale of the whole-picture pass; None: full size
    small_every: int  # the whole picture at 2x; 0: never
    looks: bool = True  # between whole-picture passes: crops around faces and motion
    sweep: bool = False  # no `small_every`: the whole picture at 2x on the first look, then by parts

    @classmethod
    def for_clip(cls, fps: float, width: int, height: int, scalable: bool) -> Cadence:
        every = max(1, round(fps / DETECTIONS_PER_SECOND))
        if not scalable:
            return cls(every, every, every, None, 0, looks=False)
        full = _multiple(every, fps, FULL_PER_SECOND)
        big = width * height >= SPLIT_PIXELS
        fine = _multiple(full, fps, FINE_PER_SECOND) if big else full
        small = _multiple(full, fps, SMALL_PER_SECOND) if width * height <= SMALL_MAX_PIXELS else 0
        sweep = not small and width * height <= SWEEP_MAX_PIXELS
        return cls(every, full, fine, COARSE_SCALE if big else None, small, sweep=sweep)

    @property
    def slowest(self) -> int:
        """Frames between two runs of the rarest pass: how long a small face can go unseen."""
        return max(self.every, self.full_every, self.fine_every, self.small_every)


class VideoDetector:
    """Faces on frame `index` of a clip, by the cadence; `detect` alone for any other detector.

    Frames come in increasing order from one thread: what the last look found and the last
    frame's motion map are kept between calls.
    """

    def __init__(self, detector: Detector, cadence: Cadence) -> None:
        self.detector = detector
        self.cadence = cadence
        self.seconds: defaultdict[str, float] = defaultdict(float)  # per pass, for the breakdown
        self.network, threshold = _network(detector)
        self.threshold = 0.2 if threshold is None else threshold
        self.seen: dict[int, FloatArray] = {}  # frame -> faces found there, the last few looks
        self.last: tuple[int, Image] | None = None  # the previous look's frame and grey map
        self.camera: Shift | None = None  # the picture's shift a frame since the previous look
        self.path: dict[int, FloatArray] = {}  # frame -> where the picture has moved, the last looks
        self._window: Image | None = None
        self._shift: FloatArray | None = None  # the last sure shift a frame, to tell a steady one
        self._swept = 0  # the sweep's next part

    @classmethod
    def for_clip(cls, detector: Detector, fps: float, width: int, height: int) -> VideoDetector:
        network, _ = _network(detector)
        return cls(detector, Cadence.for_clip(fps, width, height, network is not None))

    def wants(self, index: int) -> bool:
        return index % self.cadence.every == 0

    def whole_at(self, index: int) -> bool:
        """Whether frame `index` gets the whole-picture passes."""
        return index % self.cadence.full_every == 0 or not self.cadence.looks

    def detect(self, image: Image, index: int, whole: bool = False) -> Detections:
        """Upright `image` in, faces in its pixels out (`whole`: the whole-picture passes
        whatever the cadence says)."""
        if self.network is None:
            started = time.perf_counter()
            found = self.detector.detect(image)
            self.seconds["detect"] += time.perf_counter() - started
            name = type(self.detector).__name__.lower()
            return found.with_source(name) if len(found) and not found.sources.any() else found
        c = self.cadence
        moving = self._motion(image, index)
        # a segment's first frame, or after a gap, has nothing to look around: the whole picture
        forced = whole
        whole = forced or self.whole_at(index) or self.last is None or moving is None
        parts = (
            self._whole(image, index, forced, moving is None) if whole else self._around_faces(image, index)
        )
        if c.looks and moving is not None and len(moving):
            parts.append(self._around_motion(image, moving))
        found = nms(Detections.merge(parts), 0.3)
        self.seen = {at: boxes for at, boxes in self.seen.items() if index - at < c.full_every}
        self.seen[index] = found.boxes.copy()
        self.path = {at: p for at, p in self.path.items() if index - at <= c.full_every}
        return found

    def _whole(self, image: Image, index: int, forced: bool = False, first: bool = False) -> list[Detections]:
        """The whole-picture passes due on frame `index` (`forced`: all of them; `first`: no look
        before it to compare with, the start of a clip or a segment, or after a gap)."""
        c = self.cadence
        fine = c.coarse is not None and (forced or index % c.fine_every == 0)
        parts = []
        # a full-size pass in one network run sees the big faces too; a tiled one may cut them
        if not fine or image.shape[0] * image.shape[1] > TILE_PIXELS:
            parts.append(self._run(image, c.coarse or 1.0, self.threshold, "whole").with_source("centerface"))
        if fine:
            parts.append(self._run(image, 1.0, self.threshold, "whole").with_source("centerface@1"))
        if c.small_every and (forced or index % c.small_every == 0):
            small = self._run(image, 2.0, self.threshold * 0.5, "whole")
            parts.append(small[small.heights <= SMALL_PX].with_source("centerface@2"))
        if c.sweep:
            small = self._run(image, 2.0, self.threshold * 0.5, "whole") if first else self._sweep(image)
            parts.append(small[small.heights <= SMALL_PX].with_source("centerface@2"))
        return parts

    def _sweep(self, image: Image) -> Detections:
        """The next part of the picture at 2x (parts of SWEEP_BUDGET network pixels, overlapping)."""
        h, w = image.shape[:2]
        side = int(np.sqrt(SWEEP_BUDGET) / 2.0)  # source pixels a side: 2x makes it the budget
        step = max(1, side - SWEEP_OVERLAP)
        xs = list(range(0, max(1, w - SWEEP_OVERLAP), step))
        ys = list(range(0, max(1, h - SWEEP_OVERLAP), step))
        at = self._swept % (len(xs) * len(ys))
        self._swept += 1
        x0, y0 = xs[at % len(xs)], ys[at // len(xs)]
        part = np.ascontiguousarray(image[y0 : y0 + side, x0 : x0 + side])
        return self._run(part, 2.0, self.threshold * 0.5, "sweep").shifted(x0, y0)

    def _around_faces(self, image: Image, index: int) -> list[Detections]:
        """Each face seen in the last looks, looked for again in a crop around it."""
        if not any(len(boxes) for boxes in self.seen.values()):
            return []
        # the newest box of each face wins (scored by recency); an older one reaches further
        ages = np.concatenate([np.full(len(b), index - at, np.float32) for at, b in self.seen.items()])
        # each box where the picture's shift since its look took it (a pan moves every face)
        here = self.path.get(index)
        moved = [
            b + np.tile(here - self.path[at], 2) if here is not None and at in self.path else b
            for at, b in self.seen.items()
        ]
        known = Detections(np.concatenate(moved), (1.0 - ages / (index + 1.0)).astype(np.float32))
        kept = nms(known, 0.3)
        # faces cross a 4K frame in as many frames as a 1080p one: twice the pixels a frame
        per_look = CROP_REACH * max(1.0, max(image.shape[:2]) / REACH_SIDE)
        crops = []
        for box, score in zip(kept.boxes, kept.scores, strict=True):
            age = (1.0 - float(score)) * (index + 1.0)
            size = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
            scale = float(np.clip(CROP_FACE_PX / size, *CROP_SCALES))
            reach = max(0.5 * size, per_look * max(1.0, age / self.cadence.every))
            # a face of 30-48 px is looked at upscaled too: what is kept reaches past its size
            crop = Crop.around(box, reach, image.shape, scale, max(SMALL_PX, KNOWN_GROWTH * size))
            if crop is not None:
                crops.append(crop)
        parts = []
        for crop in join_crops(crops):
            found = self._crop(image, crop, "around faces")
            parts.append(found.with_source("centerface" if crop.scale <= 1 else f"centerface@{crop.scale:g}"))
        return parts

    def _crop(self, image: Image, crop: Crop, label: str) -> Detections:
        """Faces in `crop` of `image`, in image pixels; upscaled, only those up to its `max_px`
        tall (bigger ones are fragments of a bigger face)."""
        threshold = self.threshold * 0.5 if crop.upscaled else self.threshold
        part = np.ascontiguousarray(image[crop.y1 : crop.y2, crop.x1 : crop.x2])
        found = self._run(part, crop.scale, threshold, label)
        if crop.upscaled:
            found = found[found.heights <= crop.max_px]  # upscaled: trusted for small faces only
        return found.shifted(crop.x1, crop.y1)

    def _motion(self, image: Image, index: int) -> FloatArray | None:
        """Boxes of what changed since the previous look (empty when the camera moves), or None
        with no previous look to compare with."""
        started = time.perf_counter()
        h, w = image.shape[:2]
        factor = max(1, -(-w // MOTION_SIDE))
        small = cv2.resize(image, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
        grey: Image = np.asarray(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), np.uint8)
        last, self.last = self.last, (index, grey)
        self.camera = None
        if last is None or index - last[0] > self.cadence.every or last[1].shape != grey.shape:
            self.path = {}
            self.seconds["motion map"] += time.perf_counter() - started
            return None
        self._follow_camera(last[1], grey, factor, index, index - last[0])
        changed = np.asarray(cv2.absdiff(grey, last[1]) > MOTION_LEVEL, np.uint8)
        if changed.mean() > MOTION_MAX_SHARE:
            self.seconds["motion map"] += time.perf_counter() - started
            return np.empty((0, 4), np.float32)
        changed = np.asarray(cv2.dilate(changed, np.ones((3, 3), np.uint8), iterations=2), np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        boxes: FloatArray = np.asarray(stats[1:count, :4], np.float32) * factor  # x, y, w, h
        boxes[:, 2:] += boxes[:, :2]
        self.seconds["motion map"] += time.perf_counter() - started
        return boxes

    def _follow_camera(self, before: Image, now: Image, factor: int, index: int, frames: int) -> None:
        """The picture's shift between two looks' grey maps, when it is one steady shift (a pan, a
        tilt, a still camera): `camera` per frame, and `path`, where the picture has moved since
        the first look it was followed on. The path between looks is taken as straight, so a
        shift that is unsure, or not near the sure one before it (a shaking hand), breaks it."""
        if frames <= 0:
            return  # the same frame again
        step = max(1, -(-max(now.shape) // CAMERA_SIDE))
        a = np.asarray(before[::step, ::step], np.float32)
        b = np.asarray(now[::step, ::step], np.float32)
        if min(a.shape) < CAMERA_MIN_SIDE:
            self.path = {}  # a picture this small has no shift worth following
            return
        if self._window is None or self._window.shape != a.shape:
            self._window = np.asarray(cv2.createHanningWindow(a.shape[::-1], cv2.CV_32F), np.float32)
        (dx, dy), response = cv2.phaseCorrelate(a, b, self._window)
        shift = np.asarray([dx, dy], np.float32) * step * factor / frames
        steady, self._shift = self._shift, shift if response >= CAMERA_CONFIDENCE else None
        previous = self.path.get(index - frames)
        if self._shift is None or steady is not None and not _steady(steady, shift):
            self.path = {}
            return
        self.camera = (float(shift[0]), float(shift[1]))
        start = previous if previous is not None else np.zeros(2, np.float32)
        if previous is None:
            self.path[index - frames] = start
        self.path[index] = (start + shift * frames).astype(np.float32)

    def _around_motion(self, image: Image, moving: FloatArray) -> Detections:
        """Small faces at 4x in crops around what moved, the smallest regions first, within a
        budget; neighbouring ones (a walker's hands and hair) share a run where that is cheaper."""
        sides = np.maximum(moving[:, 2] - moving[:, 0], moving[:, 3] - moving[:, 1])
        budget = MOTION_BUDGET
        crops = []
        for k in np.argsort(sides):
            if sides[k] > MOTION_MAX_SIDE:
                break
            reach = max(8.0, 0.5 * float(sides[k]))
            cost = ((sides[k] + 2 * reach) * MOTION_SCALE) ** 2
            if cost > budget:
                break
            budget -= cost
            crop = Crop.around(moving[k], reach, image.shape, MOTION_SCALE, SMALL_PX)
            if crop is not None:
                crops.append(crop)
        parts = [self._crop(image, crop, "around motion") for crop in join_crops(crops)]
        return nms(Detections.merge(parts), 0.3).with_source(f"centerface@{MOTION_SCALE:g}")

    def _run(self, image: Image, scale: float, threshold: float, label: str) -> Detections:
        assert self.network is not None
        started = time.perf_counter()
        found = self.network.detect_at(image, scale, threshold)
        name = f"detect {label} {scale:g}x" if label in ("whole", "sweep") else f"detect {label}"
        self.seconds[name] += time.perf_counter() - started
        return found


def _steady(before: FloatArray, now: FloatArray) -> bool:
    """Two shifts a frame (px) near enough to be one motion: within a quarter of the larger, or
    a pixel a frame (a still camera's jitter)."""
    return float(np.abs(now - before).max()) <= max(1.0, 0.25 * float(np.abs(np.stack([before, now])).max()))


def _network(detector: Detector) -> tuple[Scaled | None, float | None]:
    """The scalable network behind a detector (itself, or a MultiScale's) and its threshold."""
    if hasattr(detector, "detect_at"):
        return detector, getattr(detector, "threshold", None)  # type: ignore[return-value]
    inner = getattr(detector, "detector", None)
    if inner is not None and hasattr(inner, "detect_at"):
        return inner, getattr(detector, "threshold", None)
    return None, None
