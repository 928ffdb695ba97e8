"""Text masking for one video frame: the hook the video pipeline calls after masking faces."""

from __future__ import annotations

import numpy as np

from unseen.settings import TextMode
from unseen.text.model import TextDetector
from unseen.text.people import on_people
from unseen.text.protect import fill_text, find_text, should_mask
from unseen.types import Detections, Image


def mask_text_in_frame(
    frame: Image, masked: Image, faces: Detections, mode: TextMode, detector: TextDetector
) -> tuple[Image, Detections, int]:
    """Mask the text `mode` covers on `masked` (the frame with its faces masked), found in `frame`.

    Returns the new frame, the text regions masked (a tracker can hold them over frames), and how
    many text regions on people were left (what `off` leaves). No re-check: a caller verifying
    sampled frames runs `find_text` on its output.
    """
    if mode is TextMode.OFF and len(faces) == 0:
        return masked, Detections.empty(), 0
    found = find_text(frame, faces, mode, detector)
    chosen = should_mask(found, faces, mode, frame.shape)
    left = int((on_people(found, faces, frame.shape) & ~chosen).sum())
    regions = found[chosen]
    out = fill_text(masked, regions.boxes, np.ones(len(regions), np.float32)) if len(regions) else masked
    return out, regions, left
