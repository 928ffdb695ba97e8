"""Which text is on a person: the body region below a found face, and the crops searched for it.

A name tag, badge, lanyard card or a name on a jersey sits on the torso: within about a shoulder
width of the face's centre line and a few face heights below the chin. Text wider than a body
(a banner, a placard held up) is not on the person, even when it hangs in front of one.
"""

from __future__ import annotations

import numpy as np

from unseen.detect.tiles import merge_boxes
from unseen.types import Detections, FloatArray

BODY_WIDTH = 4.0  # face widths, centred on the face: shoulders and sleeves, a body seen from the side
BODY_ABOVE = 0.5  # face heights above the face's top: a name on a cap or a helmet
BODY_BELOW = 6.0  # face heights below the chin: chest, belly, a lanyard's card, shorts
MAX_CROPS = 12  # past this many separate bodies, searching the whole image is cheaper
SEARCH_MARGIN = 0.75  # face widths searched beyond each side of a body: a badge on its edge is whole


def body_boxes(faces: Detections, image_shape: tuple[int, ...], margin: float = 0.0) -> FloatArray:
    """The body region (x1, y1, x2, y2) of each face, `margin` face widths wider, clipped."""
    b = faces.boxes
    w = np.maximum(b[:, 2] - b[:, 0], 1.0)
    h = np.maximum(b[:, 3] - b[:, 1], 1.0)
    cx = (b[:, 0] + b[:, 2]) / 2
    half = w * (BODY_WIDTH / 2 + margin)
    body = np.stack([cx - half, b[:, 1] - h * BODY_ABOVE, cx + half, b[:, 3] + h * BODY_BELOW], axis=1)
    height, width = image_shape[:2]
    body[:, [0, 2]] = body[:, [0, 2]].clip(0, width)
    body[:, [1, 3]] = body[:, [1, 3]].clip(0, height)
    return body.astype(np.float32)


def on_people(text: Detections, faces: Detections, image_shape: tuple[int, ...]) -> np.ndarray:
    """For each text region, whether it lies on a person: its centre inside a body region and no
    wider than that body."""
    if len(text) == 0 or len(faces) == 0:
        return np.zeros(len(text), bool)
    bodies = body_boxes(faces, image_shape)
    face_w = np.maximum(faces.widths, 1.0)
    cx = (text.boxes[:, 0] + text.boxes[:, 2]) / 2
    cy = (text.boxes[:, 1] + text.boxes[:, 3]) / 2
    inside = (
        (cx[:, None] >= bodies[None, :, 0])
        & (cx[:, None] <= bodies[None, :, 2])
        & (cy[:, None] >= bodies[None, :, 1])
        & (cy[:, None] <= bodies[None, :, 3])
    )
    narrow = text.widths[:, None] <= face_w[None, :] * BODY_WIDTH
    return np.asarray((inside & narrow).any(axis=1))


def search_crops(faces: Detections, image_shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
    """Image regions to search for text on people: overlapping bodies merged into one crop.

    The whole image when the bodies cover most of it or are too many to search one by one.
    """
    height, width = image_shape[:2]
    whole = [(0, 0, width, height)]
    if len(faces) == 0:
        return []
    boxes = [tuple(float(v) for v in box) for box in body_boxes(faces, image_shape, SEARCH_MARGIN)]
    merged = merge_boxes([b for b in boxes if b[2] > b[0] and b[3] > b[1]])
    crops = [(int(x1), int(y1), int(np.ceil(x2)), int(np.ceil(y2))) for x1, y1, x2, y2 in merged]
    area = sum((x2 - x1) * (y2 - y1) for x1, y1, x2, y2 in crops)
    if len(crops) > MAX_CROPS or area > 0.6 * width * height:
        return whole
    return crops
