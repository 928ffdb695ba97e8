"""PP-OCRv4's text detector (DB, Apache-2.0), run by OpenCV DNN from the ONNX file that ships in
PyPI `rapidocr-onnxruntime`.

That package is never imported: it imports onnxruntime, whose official builds carry a telemetry
SDK (SECURITY.md). The file is found through the distribution's record of installed files.
"""

from __future__ import annotations

import importlib.metadata
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from unseen.detect.base import nms
from unseen.detect.tiles import kept_spans, starts, tiling
from unseen.dnn import Network
from unseen.errors import MissingExtra, UnseenError
from unseen.text.db import DBParams, quads_to_boxes, text_quads
from unseen.types import Detections, Image

DISTRIBUTION = "rapidocr-onnxruntime"
WEIGHTS = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
EXTRA = "text"


class TextDetector(Protocol):
    """Finds text regions in an RGB image: axis-aligned boxes in its pixels, with scores."""

    def detect(self, image: Image) -> Detections: ...


def weights_path() -> Path:
    """Where pip put the PP-OCRv4 detector's ONNX file; MissingExtra names the extra if absent."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingExtra(DISTRIBUTION, EXTRA) from exc
    path = Path(str(dist.locate_file(WEIGHTS)))
    if not path.is_file():
        raise UnseenError(f"the text detector's weights are missing from {DISTRIBUTION}: {path}")
    return path


def text_available() -> bool:
    """True when the text detector's weights are installed (the `text` extra)."""
    try:
        weights_path()
    except UnseenError:
        return False
    return True


class PPOCRText:
    """PP-OCRv4 mobile DB detector; text about 8 px tall and up at the network's input size.

    Small images are upscaled so the longer side is at least MIN_SIDE (up to MAX_UPSCALE), large
    ones downscaled to MAX_SIDE: bounded time and memory. Callers enlarge crops further by need.
    """

    MIN_SIDE = 960
    MAX_SIDE = 2400
    MAX_UPSCALE = 3.0
    TILE_PIXELS = 2_400_000  # one network run at most: ~650 MB of OpenCV's buffers
    TILE_OVERLAP = 256  # network pixels; each tile's map is kept at least half of it from its edge
    MEAN = np.array([0.485, 0.456, 0.406], np.float32)  # ImageNet statistics, on BGR as PaddleOCR feeds it
    STD = np.array([0.229, 0.224, 0.225], np.float32)

    def __init__(self, params: DBParams | None = None) -> None:
        self.params = params or DBParams()
        self._net = Network(weights_path())

    def _probability(self, blob: np.ndarray) -> np.ndarray:
        """The text probability map of a (1, 3, h, w) input. Past TILE_PIXELS it is run in tiles of
        one size and stitched, each tile's map kept away from its inner edges: the network holds
        memory for one tile (a whole 2400 x 1800 look held 1.1 GB). DB's map depends a little on
        what else is in its input, so a tiled map is close to the whole one, not equal (tested)."""
        _, _, h, w = blob.shape
        if h * w <= self.TILE_PIXELS:
            return np.asarray(self._net.run(blob)[0][0, 0], np.float32)
        size = tiling(w, h, self.TILE_OVERLAP, lambda tw, th: _ceil32(tw) * _ceil32(th), self.TILE_PIXELS)
        tile_w, tile_h = (min(w, _ceil32(n)) for n in size) if size else (w, h)
        xs, ys = starts(w, tile_w, self.TILE_OVERLAP), starts(h, tile_h, self.TILE_OVERLAP)
        probability = np.empty((h, w), np.float32)
        for y0, (ky0, ky1) in zip(ys, kept_spans(ys, tile_h, h), strict=True):
            for x0, (kx0, kx1) in zip(xs, kept_spans(xs, tile_w, w), strict=True):
                tile = np.ascontiguousarray(blob[:, :, y0 : y0 + tile_h, x0 : x0 + tile_w])
                found = self._net.run(tile)[0][0, 0]
                probability[ky0:ky1, kx0:kx1] = found[ky0 - y0 : ky1 - y0, kx0 - x0 : kx1 - x0]
        return probability

    def scale_for(self, width: int, height: int) -> float:
        longest = max(width, height, 1)
        if longest < self.MIN_SIDE:
            return min(self.MIN_SIDE / longest, self.MAX_UPSCALE)
        return min(1.0, self.MAX_SIDE / longest)

    def detect(self, image: Image, scale: float | None = None) -> Detections:
        """Text regions in `image`, fed to the network at `scale` (default: `scale_for` its size)."""
        h, w = image.shape[:2]
        if h < 4 or w < 4:
            return Detections.empty()
        scale = self.scale_for(w, h) if scale is None else scale
        nw = max(32, int(round(w * scale / 32)) * 32)
        nh = max(32, int(round(h * scale / 32)) * 32)
        interp = cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA
        bgr = cv2.resize(np.ascontiguousarray(image[:, :, ::-1]), (nw, nh), interpolation=interp)
        blob = np.empty((1, 3, nh, nw), np.float32)
        for c in range(3):  # in place, channel by channel: no full-size float copies beside the network
            plane = blob[0, c]
            plane[:] = bgr[:, :, c]
            plane /= 255.0
            plane -= self.MEAN[c]
            plane /= self.STD[c]
        del bgr
        probability = self._probability(blob)
        quads, scores = text_quads(probability, self.params)
        boxes = quads_to_boxes(quads)
        boxes[:, [0, 2]] = (boxes[:, [0, 2]] * (w / nw)).clip(0, w)
        boxes[:, [1, 3]] = (boxes[:, [1, 3]] * (h / nh)).clip(0, h)
        return Detections(boxes, scores).with_source("text")


def _ceil32(n: int) -> int:
    return -(-n // 32) * 32


class FakeTextDetector:
    """For fast tests: reports each connected patch of one of the `inks` colours as text.

    It looks at content, not positions, so it works on crops, and a patch goes away once a mask
    covers it, as real text does.
    """

    def __init__(self, inks: list[tuple[int, int, int]], min_pixels: int = 20) -> None:
        self.inks = inks
        self.min_pixels = min_pixels
        self.calls = 0

    def detect(self, image: Image) -> Detections:
        self.calls += 1
        found = []
        for ink in self.inks:
            patch = (image == np.array(ink, np.uint8)).all(axis=2).astype(np.uint8)
            outlines, _ = cv2.findContours(patch, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            for outline in outlines:  # outer outlines only: a letter's hole is no patch of its own
                x, y, w, h = cv2.boundingRect(outline)
                if w * h >= self.min_pixels:
                    found.append((x, y, x + w, y + h))
        boxes = np.asarray(found, np.float32).reshape(-1, 4)
        return Detections(boxes, np.ones(len(boxes), np.float32)).with_source("text")


def merge_text(parts: list[Detections]) -> Detections:
    """Text found in overlapping crops, once: the same word found twice keeps one box."""
    merged = Detections.merge(parts)
    return nms(merged, 0.5) if len(merged) else merged


@lru_cache(maxsize=1)
def default_text_detector() -> PPOCRText:
    """One PP-OCR text detector per process, loaded on first use."""
    return PPOCRText()
