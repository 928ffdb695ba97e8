"""Mask styles over expanded head regions.

A detector's face box runs from brow to chin; identity also lives in hair, ears and head shape,
so every mask covers a head region grown from the face box. solid and noise carry nothing of the
face; blur and pixelate keep some, which is why verification attacks them.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from unseen.types import Detections, FloatArray, Image, MaskShape, MaskStyle

# Head region from a face box, as fractions of its width and height.
SIDE = 0.25  # each side: ears
TOP = 0.40  # above: forehead and hair
BOTTOM = 0.25  # below: chin; with SIDE 0.25 the ellipse then contains the whole face box
MIN_HEAD_PX = 12.0  # a mask never shrinks below this: tiny faces are the uncertain ones


def head_boxes(
    detections: Detections, image_shape: tuple[int, ...], grow: float = 1.0, clip: bool = True
) -> FloatArray:
    """Head regions (x1, y1, x2, y2) for each face, clipped to the image; `grow` enlarges them.

    Drawing uses the unclipped region: an ellipse fitted to a clipped box would shrink at the
    image edge and leave part of a face cut by the frame bare.
    """
    b = detections.boxes
    grows = grow * detections.grow
    w = np.maximum(b[:, 2] - b[:, 0], 1.0)
    h = np.maximum(b[:, 3] - b[:, 1], 1.0)
    cx = (b[:, 0] + b[:, 2]) / 2
    x1 = cx - w * (0.5 + SIDE) * grows
    x2 = cx + w * (0.5 + SIDE) * grows
    cy = (b[:, 1] - h * TOP + b[:, 3] + h * BOTTOM) / 2
    half_h = h * (1 + TOP + BOTTOM) / 2 * grows
    y1, y2 = cy - half_h, cy + half_h
    # small faces: a floor on the mask size, centred on the face
    min_half = MIN_HEAD_PX / 2
    half_w = np.maximum((x2 - x1) / 2, min_half)
    half_h = np.maximum((y2 - y1) / 2, min_half)
    cxh, cyh = (x1 + x2) / 2, (y1 + y2) / 2
    heads = np.stack([cxh - half_w, cyh - half_h, cxh + half_w, cyh + half_h], axis=1)
    if not clip:
        return heads.astype(np.float32)
    height, width = image_shape[:2]
    heads[:, [0, 2]] = heads[:, [0, 2]].clip(0, width)
    heads[:, [1, 3]] = heads[:, [1, 3]].clip(0, height)
    return heads.astype(np.float32)


def mask_area(
    image_shape: tuple[int, ...],
    detections: Detections,
    shape: MaskShape = MaskShape.ELLIPSE,
    grow: float = 1.0,
) -> npt.NDArray[np.bool_]:
    """Boolean H x W array: True where a mask will be drawn."""
    area = np.zeros(image_shape[:2], np.uint8)
    for x1, y1, x2, y2 in head_boxes(detections, image_shape, grow, clip=False):
        _draw(area, (x1, y1, x2, y2), shape)
    return area.astype(bool)


def _draw(area: npt.NDArray[np.uint8], box: tuple[float, float, float, float], shape: MaskShape) -> None:
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1:
        return
    if shape is MaskShape.BOX:
        top, left = max(0, int(np.floor(y1))), max(0, int(np.floor(x1)))
        area[top : max(0, int(np.ceil(y2))), left : max(0, int(np.ceil(x2)))] = 1
        return
    # ellipse through the box corners' midpoints, filled with sub-pixel precision
    shift = 4
    centre = (int(round((x1 + x2) / 2 * 2**shift)), int(round((y1 + y2) / 2 * 2**shift)))
    axes = (
        int(round((x2 - x1) / 2 * 2**shift)) + 2**shift // 2,
        int(round((y2 - y1) / 2 * 2**shift)) + 2**shift // 2,
    )
    cv2.ellipse(area, centre, axes, 0, 0, 360, 1, thickness=-1, lineType=cv2.LINE_8, shift=shift)


def apply_masks(
    image: Image,
    detections: Detections,
    style: MaskStyle = MaskStyle.SOLID,
    shape: MaskShape = MaskShape.ELLIPSE,
    grow: float = 1.0,
    strength: float | npt.ArrayLike = 1.0,
    rng: np.random.Generator | None = None,
) -> Image:
    """A masked copy of `image`; the input array is not changed.

    `strength` (one value, or one per face) scales blur radius and pixel block size; verification
    raises it when a face leaks. Where blurred or pixelated heads overlap, the strongest (largest
    blur or block) wins: heads are painted weakest first, so a weak box inside a face (a mouth
    found at a low score) cannot repaint a patch of it at a finer scale.
    """
    out = image.copy()
    if len(detections) == 0:
        return out
    if style in (MaskStyle.SOLID, MaskStyle.NOISE):
        area = mask_area(image.shape, detections, shape, grow)
        if style is MaskStyle.SOLID:
            out[area] = 0
        else:
            rng = rng or np.random.default_rng()
            out[area] = rng.integers(0, 256, size=(int(area.sum()), out.shape[2]), dtype=np.uint8)
        return out
    strengths = np.broadcast_to(np.asarray(strength, np.float64), (len(detections),))
    drawn = head_boxes(detections, image.shape, grow, clip=False)
    clipped = head_boxes(detections, image.shape, grow).round().astype(int)
    for i in np.argsort(mask_scale(clipped.astype(np.float32), strengths), kind="stable"):
        x1, y1, x2, y2 = clipped[i]
        if x2 <= x1 or y2 <= y1:
            continue
        sub = _own_area(drawn[i], (x1, y1, x2, y2), shape)
        region = image[y1:y2, x1:x2]
        s = float(strengths[i])
        filled = _blur(region, s) if style is MaskStyle.BLUR else _pixelate(region, s)
        out[y1:y2, x1:x2][sub] = filled[sub]
    return out


def _own_area(drawn: FloatArray, rect: tuple[int, int, int, int], shape: MaskShape) -> npt.NDArray[np.bool_]:
    """One head's mask inside `rect`, the same pixels mask_area draws for it: drawn whole on a
    canvas a little larger than the head (OpenCV rasterises an ellipse cut by the canvas edge
    differently), then cut to `rect`."""
    x1, y1, x2, y2 = rect
    ox, oy = int(np.floor(drawn[0])) - 2, int(np.floor(drawn[1])) - 2
    canvas = np.zeros((int(np.ceil(drawn[3])) + 3 - oy, int(np.ceil(drawn[2])) + 3 - ox), np.uint8)
    _draw(canvas, (drawn[0] - ox, drawn[1] - oy, drawn[2] - ox, drawn[3] - oy), shape)
    return canvas[y1 - oy : y2 - oy, x1 - ox : x2 - ox].astype(bool)


def mask_scale(heads: FloatArray, strength: npt.ArrayLike) -> FloatArray:
    """How coarse each head's blur or pixelation is (its blur sigma, or pixel block size, grows
    with head size x strength): the order in which overlapping heads must be painted."""
    size = np.maximum(heads[:, 2] - heads[:, 0], heads[:, 3] - heads[:, 1])
    return np.asarray(size * np.asarray(strength, np.float64), np.float64)


def _blur(region: Image, strength: float) -> Image:
    """Gaussian blur with sigma a quarter of the head size: dlib stops matching past ~sigma 8 at 150 px."""
    h, w = region.shape[:2]
    sigma = max(4.0, max(h, w) / 4.0 * strength)
    # blur a downscaled copy: the same result at a fraction of the cost for big sigmas
    factor = max(1, int(sigma // 4))
    small = cv2.resize(region, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma / factor, borderType=cv2.BORDER_REPLICATE)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)


def _pixelate(region: Image, strength: float) -> Image:
    """Blocks so large that a head is a handful of cells (5 across at strength 1)."""
    h, w = region.shape[:2]
    cells = max(1, int(round(5 / strength)))
    small = cv2.resize(region, (min(cells, w), min(cells, h)), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST), np.uint8)
