"""Re-detection: detectors that did not decide the masks look for faces in the masked output.

The default attacker is RetinaFace-mnet0.25, anchor-based where the CenterFace that placed the
masks is anchor-free, so it fails on other faces. It looks upright on a copy with a mirrored border
(a face cut by the frame's edge reads whole enough: the astronaut cut 60% by the edge scored 0
without it, 0.99 with it), and turned by 90, 180 and 270 degrees on a smaller copy at a stricter
threshold (a 60-px sideways or upside-down head: 0 upright, 1.0 turned back). On 60 masked dev
photos (bench/attack_study.py, solid masks) MTCNN, the attacker before, caught 0 of the 3 faces
of 32 px and up the detector had left bare, with 0.28 false alarms a photo, in 1.10 s a photo;
RetinaFace upright at 0.5 caught 1, with 0.18, in 0.51 s; on the turned and cut astronaut MTCNN
missed 5 of 6. So MTCNN is off by default (Attack(mtcnn=True) brings it back). A sensitive
CenterFace pass is available too but off: at 0.1 it raised 7-10 false alarms a photo.
A face found not mostly under a mask is a miss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from unseen.detect.base import nms
from unseen.types import Detections, Image
from unseen.verify import models

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Attack:
    """Which passes re-detection runs, and how sensitive they are."""

    mtcnn: bool = False  # MTCNN too (the attacker before RetinaFace; see the module docstring)
    mtcnn_min_face: int = 20  # MTCNN's own default; 12 costs 2-3x
    mtcnn_upscale_max_side: int = 640  # also run MTCNN on a 2x upscale when the image is this small
    centerface_threshold: float | None = None  # e.g. 0.1; the pipeline masks at 0.2
    centerface_scales: tuple[float, ...] = (1.0, 2.0)
    small_face_px: float = 40.0  # upscaled passes keep only faces this small (as MultiScale does)
    # MTCNN's pyramid costs ~pixels: a bigger image is attacked resized to this size (a 12 MP photo
    # at 0.5x: 3-5 s -> ~1 s here; faces from ~40 px there, 2x the detector's working size)
    max_pixels: int = 3_000_000
    covered: float = 0.7  # share of a found face's box under a mask for it to count as masked
    retinaface_threshold: float | None = 0.5  # RetinaFace-mnet (anchor-based) too; None: off
    retinaface_pixels: int = 1_500_000  # its upright pass on a copy of at most this many pixels
    pad: float = 0.05  # border added on every side (share of the long side) for faces cut by the edge
    upright: bool = True  # RetinaFace's upright pass (off only to study the turned ones alone)
    rotation_threshold: float = 0.8  # the turned passes see more texture as faces: stricter
    rotations: tuple[int, ...] = (1, 2, 3)  # quarter turns (np.rot90's k) searched too: sideways, upside down
    rotation_side: int = 800  # the turned passes run on a copy with at most this long a side


def redetect_faces(image: Image, attack: Attack = Attack()) -> Detections:
    """Every face the attacking detectors see in `image` (sources "mtcnn@1", "retinaface@rot90", ...)."""
    h, w = image.shape[:2]
    parts = []
    if attack.mtcnn:
        parts.append(_mtcnn(image, min(1.0, float(np.sqrt(attack.max_pixels / (w * h)))), attack))
        if max(image.shape[:2]) <= attack.mtcnn_upscale_max_side:
            parts.append(_mtcnn(image, 2.0, attack))
    if attack.retinaface_threshold is not None:
        parts.append(retinaface_faces(image, attack))
    if attack.centerface_threshold is not None:
        detector = models.centerface()
        for scale in attack.centerface_scales:
            found = detector.detect_at(image, scale, attack.centerface_threshold)
            if scale > 1:
                found = found[found.heights <= attack.small_face_px]
            parts.append(found.with_source(f"centerface@{scale:g}"))
    return nms(Detections.merge(parts), 0.3)


def retinaface_faces(image: Image, attack: Attack = Attack()) -> Detections:
    """RetinaFace's faces in `image`: upright on a padded copy, then turned by each of
    `attack.rotations` quarter turns on a smaller copy; boxes in `image`'s pixels."""
    threshold = 0.5 if attack.retinaface_threshold is None else attack.retinaface_threshold
    detector = models.retinaface()
    h, w = image.shape[:2]
    scale = min(1.0, float(np.sqrt(attack.retinaface_pixels / (w * h))))
    parts = []
    if attack.upright:
        found = _padded(image, scale, attack.pad, lambda im, s: detector.detect_at(im, s, threshold))
        parts.append(found.with_source("retinaface@1"))
    if attack.rotations:
        small = min(1.0, attack.rotation_side / max(h, w))
        for k in attack.rotations:
            turned = np.ascontiguousarray(np.rot90(image, k))
            found = detector.detect_at(turned, small, attack.rotation_threshold)
            parts.append(_unturn(found, k, w, h).with_source(f"retinaface@rot{90 * k}"))
    return nms(Detections.merge(parts), 0.3)


def _padded(image: Image, scale: float, pad: float, run: Callable[[Image, float], Detections]) -> Detections:
    """`run` on `image` with a border of `pad` x its long side on every side, filled with the
    edge pixels mirrored, so a face cut by the frame reads whole enough to the network."""
    if pad <= 0:
        return run(image, scale)
    h, w = image.shape[:2]
    border = max(1, int(round(pad * max(h, w))))
    grown = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_REFLECT_101)
    found = run(np.asarray(grown, np.uint8), scale).shifted(-border, -border)
    boxes = found.boxes.copy()
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    keep = (boxes[:, 2] - boxes[:, 0] > 1) & (boxes[:, 3] - boxes[:, 1] > 1)
    return Detections(boxes, found.scores, found.sources, found.grow)[keep]


def _unturn(found: Detections, k: int, w: int, h: int) -> Detections:
    """Boxes found in np.rot90(image, k) back in the w x h image's pixels."""
    if len(found) == 0:
        return found
    x1, y1, x2, y2 = (found.boxes[:, i] for i in range(4))
    k %= 4
    if k == 1:  # turned counter-clockwise: (x, y) there was (w - y, x) here
        boxes = np.stack([w - y2, x1, w - y1, x2], axis=1)
    elif k == 2:
        boxes = np.stack([w - x2, h - y2, w - x1, h - y1], axis=1)
    elif k == 3:  # clockwise: (x, y) there was (y, h - x) here
        boxes = np.stack([y1, h - x2, y2, h - x1], axis=1)
    else:
        boxes = found.boxes
    return Detections(np.asarray(boxes, np.float32), found.scores, found.sources, found.grow)


def uncovered(found: Detections, area: BoolArray, covered: float = Attack.covered) -> Detections:
    """The found faces of which less than `covered` of the box lies inside the mask area."""
    if len(found) == 0:
        return found
    return found[coverage(found.boxes, area) < covered]


def coverage(boxes: npt.NDArray[np.float32], area: BoolArray) -> npt.NDArray[np.float64]:
    """Share of each box (x1, y1, x2, y2; clipped to the image) that lies inside `area`."""
    if len(boxes) == 0:
        return np.zeros(0)
    integral = cv2.integral(area.astype(np.uint8))  # (h+1, w+1): O(1) box sums
    h, w = area.shape
    b = boxes.round().astype(int)
    x1, x2 = b[:, 0].clip(0, w), b[:, 2].clip(0, w)
    y1, y2 = b[:, 1].clip(0, h), b[:, 3].clip(0, h)
    inside = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
    return np.asarray(inside / np.maximum((x2 - x1) * (y2 - y1), 1), np.float64)


def _mtcnn(image: Image, scale: float, attack: Attack) -> Detections:
    """MTCNN's boxes (x1, y1, x2, y2) and scores, in `image`'s pixels; MTCNN wants RGB."""
    h, w = image.shape[:2]
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=interp)
    raw = np.asarray(models.mtcnn(attack.mtcnn_min_face).detect_faces_raw(scaled)[0], np.float32)
    if raw.size == 0:
        return Detections.empty()
    boxes = raw.reshape(len(raw), -1)[:, :4] / scale
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
    return Detections(boxes, raw.reshape(len(raw), -1)[:, 4]).with_source(f"mtcnn@{scale:g}")
