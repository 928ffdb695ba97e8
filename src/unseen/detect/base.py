"""The Detector protocol, a fake for fast tests, and box arithmetic they share."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from unseen.types import Detections, FloatArray, Image


class Detector(Protocol):
    """Finds faces in an RGB uint8 image."""

    def detect(self, image: Image) -> Detections: ...


class FakeDetector:
    """Returns the boxes it was given, clipped to the image: for unit tests."""

    def __init__(self, boxes: list[tuple[float, float, float, float]], score: float = 0.9) -> None:
        self.boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        self.score = score
        self.calls = 0

    def detect(self, image: Image) -> Detections:
        self.calls += 1
        h, w = image.shape[:2]
        boxes = self.boxes.copy()
        boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, w)
        boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, h)
        return Detections(boxes, np.full(len(boxes), self.score, np.float32)).with_source("fake")


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """Intersection over union of every box in a with every box in b."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = (x2 - x1).clip(0) * (y2 - y1).clip(0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    ious: FloatArray = (inter / np.maximum(union, 1e-6)).astype(np.float32)
    return ious


def nms(detections: Detections, iou_threshold: float = 0.3) -> Detections:
    """Greedy non-maximum suppression, highest score first.

    Each kept box drops the later boxes it overlaps, so the work is (kept x candidates), not
    candidates squared: a 2x pass over a crowd decodes ~10,000 candidates, and a full IoU matrix
    of those took 20 s and over 1 GB.
    """
    if len(detections) <= 1:
        return detections
    order = np.argsort(-detections.scores, kind="stable")
    b = detections.boxes[order].astype(np.float64)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    rest = np.arange(len(order))
    keep = []
    while len(rest):
        i, rest = rest[0], rest[1:]
        keep.append(i)
        if not len(rest):
            break
        w = (np.minimum(b[i, 2], b[rest, 2]) - np.maximum(b[i, 0], b[rest, 0])).clip(0)
        h = (np.minimum(b[i, 3], b[rest, 3]) - np.maximum(b[i, 1], b[rest, 1])).clip(0)
        inter = w * h
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-6)
        rest = rest[iou <= iou_threshold]
    return detections[order[np.asarray(keep)]]
