"""Attack a video's output: faces still detectable or recognizable, metadata still in the file.

Frames are checked with the verify package's Verifier (MTCNN, a model family other than the
CenterFace that placed the masks, and the dlib recognizer); without it, CenterFace at a low
threshold is the check.
"""

from __future__ import annotations

import functools
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
import numpy.typing as npt

from unseen.detect.centerface import CenterFace
from unseen.types import Check, Detections, Image

# what libavformat writes by itself and what says nothing about who filmed
_HARMLESS_TAGS = {"major_brand", "minor_version", "compatible_brands", "language", "duration"}
_HARMLESS_VALUES = {
    "handler_name": ("VideoHandler", "SoundHandler"),
    "vendor_id": ("[0][0][0][0]", "FFMP"),
    "encoder": ("Lavf", "Lavc"),
}


FALLBACK_THRESHOLD = 0.3  # CenterFace on the output when the verify package is missing


def check_frame(original: Image, masked: Image, faces: Detections, area: npt.NDArray[np.bool_]) -> Check:
    """Attack one masked frame: faces still detectable outside the masks, faces still recognizable."""
    try:
        from unseen.verify.verifier import default_verifier
    except ImportError:
        # hook: without the verify package, CenterFace at a low threshold is the attacker
        found = _uncovered(_centerface().detect_at(masked, 1.0, FALLBACK_THRESHOLD), area, 0.7)
        boxes = found.boxes.round().astype(int).tolist()
        return Check(redetected=len(found), redetected_boxes=[(a, b, c, d) for a, b, c, d in boxes])
    check: Check = default_verifier().check(original, masked, faces, area)
    return check


@functools.lru_cache(maxsize=1)
def _centerface() -> CenterFace:
    return CenterFace(threads=1)


def _uncovered(found: Detections, area: npt.NDArray[np.bool_], covered: float) -> Detections:
    if len(found) == 0:
        return found
    integral = cv2.integral(area.astype(np.uint8))  # O(1) box sums
    h, w = area.shape
    boxes = found.boxes.round().astype(int)
    x1, x2 = boxes[:, 0].clip(0, w), boxes[:, 2].clip(0, w)
    y1, y2 = boxes[:, 1].clip(0, h), boxes[:, 3].clip(0, h)
    inside = integral[y2, x2] - integral[y1, x2] - integral[y2, x1] + integral[y1, x1]
    return found[inside / np.maximum((x2 - x1) * (y2 - y1), 1) < covered]


def read_back(path: Path) -> list[str]:
    """What in the written file could identify: tags beyond the muxer's own, tracks beyond video/audio."""
    left: list[str] = []
    with av.open(
        str(Path(path).absolute()), metadata_errors="replace", options={"protocol_whitelist": "file"}
    ) as container:
        tags = [("file", k, v) for k, v in container.metadata.items()]
        for stream in container.streams:
            tags += [(f"stream {stream.index}", k, v) for k, v in stream.metadata.items()]
            if stream.type not in ("video", "audio"):
                left.append(f"{stream.type} track")
        for where, key, value in tags:
            lowered = key.lower()
            if lowered in _HARMLESS_TAGS:
                continue
            allowed = _HARMLESS_VALUES.get(lowered, ())
            if any(value.startswith(prefix) for prefix in allowed) or "libx264" in value:
                continue
            left.append(f"{where}: {key}")
    return left
