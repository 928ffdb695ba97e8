"""DB (Differentiable Binarization) post-processing: a text probability map into text boxes.

PP-OCR's detector outputs one map of per-pixel text probability; its text kernels are shrunk
versions of the text, so each connected blob is scored, fitted with a rotated rectangle and grown
back out ("unclipped") by the distance DB's training shrank it by: area x ratio / perimeter.
Written here because OpenCV's TextDetectionModel_DB wrapper failed on this model (an assertion).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
RotatedRect = tuple[tuple[float, float], tuple[float, float], float]


@dataclass(frozen=True)
class DBParams:
    """PaddleOCR's defaults for its DB detectors (0.3, 0.5), lowered: when unsure, mask."""

    threshold: float = 0.2  # a pixel is text above this probability
    box_threshold: float = 0.4  # a blob is text when its mean probability is above this
    unclip_ratio: float = 1.6  # how far a kernel is grown back to the text's extent
    min_size: float = 3.0  # blobs thinner than this (map pixels) are noise
    max_candidates: int = 1000


def text_quads(probability: FloatArray, params: DBParams | None = None) -> tuple[FloatArray, FloatArray]:
    """Rotated text boxes (n, 4, 2) as corner points (x, y) in map pixels, and their scores (n,)."""
    params = params or DBParams()
    prob = np.asarray(probability, np.float32)
    if prob.ndim != 2:
        raise ValueError(f"a probability map is 2-D, got shape {prob.shape}")
    # PaddleOCR dilates with a 2x2 kernel: kernels of adjacent letters join into one word
    bitmap = cv2.dilate((prob > params.threshold).astype(np.uint8), np.ones((2, 2), np.uint8))
    contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    quads: list[FloatArray] = []
    scores: list[float] = []
    for contour in contours[: params.max_candidates]:
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        rect: RotatedRect = ((float(cx), float(cy)), (float(w), float(h)), float(angle))
        if min(w, h) < params.min_size:
            continue
        score = blob_score(prob, np.asarray(contour, np.int32))
        if score < params.box_threshold:
            continue
        grown = unclip(rect, params.unclip_ratio)
        if min(grown[1]) < params.min_size + 2:
            continue
        quads.append(cv2.boxPoints(grown).astype(np.float32))
        scores.append(score)
    if not quads:
        return np.empty((0, 4, 2), np.float32), np.empty(0, np.float32)
    return np.stack(quads), np.asarray(scores, np.float32)


def blob_score(prob: FloatArray, contour: npt.NDArray[np.int32]) -> float:
    """Mean probability inside the blob's outline (PaddleOCR's 'slow' score: exact for bent text)."""
    x, y, w, h = cv2.boundingRect(contour)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [contour.reshape(-1, 2) - np.array([x, y], np.int32)], 1)
    return float(cv2.mean(prob[y : y + h, x : x + w], mask)[0])


def unclip(rect: RotatedRect, ratio: float) -> RotatedRect:
    """Grow a rotated rectangle on every side by area x ratio / perimeter (DB's shrink, undone).

    PaddleOCR offsets the polygon with pyclipper; for a rectangle that is the same offset with
    rounded corners, whose bounding rectangle this is.
    """
    (cx, cy), (w, h), angle = rect
    perimeter = 2 * (w + h)
    distance = w * h * ratio / perimeter if perimeter > 0 else 0.0
    return (cx, cy), (w + 2 * distance, h + 2 * distance), angle


def quads_to_boxes(quads: FloatArray) -> FloatArray:
    """Axis-aligned boxes (n, 4) x1, y1, x2, y2 around rotated quads (n, 4, 2): a mask covers them."""
    if len(quads) == 0:
        return np.empty((0, 4), np.float32)
    return np.concatenate([quads.min(axis=1), quads.max(axis=1)], axis=1).astype(np.float32)
