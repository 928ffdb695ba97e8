"""Re-identification: does a masked face still match the original face it hides?

The attacker is told where the face was: both chips are cut with the landmarks found on the
ORIGINAL, so a mask cannot pass by merely confusing the aligner. dlib's ResNet encoder puts two
photos of one person under 0.6 apart; the same photo lightly blurred lands far closer.

Closeness alone is not a leak: on WIDER photos (small, turned, badly lit faces) a plain black
chip is itself under 0.6 from 61% of the originals. So a masked face leaks only when it is also
clearly closer to the original than a black chip is (NULL_MARGIN). Measured on 227 WIDER faces
of 16 px and up: solid never flags, noise 1%, Gaussian blur sigma 1: 97%, sigma 2: 71%, sigma 4: 31%.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from unseen.types import Detections, Image
from unseen.verify import models

SAME_PERSON = 0.6  # dlib's own threshold (99.38% on LFW): what an attacker with a gallery uses
# The check compares with ONE photo, the attacker with many: on LFW, masked probes 0.60-0.72 from
# their own original still matched another photo of the same person under 0.6. So a masked face
# counts as recognizable up to LEAK_DISTANCE from its original, not just SAME_PERSON.
LEAK_DISTANCE = 0.7
NULL_MARGIN = 0.1  # how much closer than a black chip a masked face must be to count as a leak
# Smallest face box (short side, px) compared. Measured on 60 LFW people (probe shrunk to a face
# this wide, scaled back up, aligned with the original's box, against the others' gallery): still
# rank-1 identified under 0.6 in 100% of cases at 20 px, 95% at 16 px, 65% at 12 px. Smaller
# faces are not compared (a known gap, each comparison costs ~60-120 ms): re-detection and the
# mask's own floor (blur sigma >= 4, a head of 5 pixel blocks) guard those.
RECOGNIZABLE_PX = 16.0
CHIP_SIZE = 150
CHIP_PADDING = 0.25

Embedding = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Comparison:
    """One masked face against its original: index into the detections, distance apart."""

    index: int
    box: tuple[int, int, int, int]
    distance: float | None  # original to masked; None when the masked chip is blank (see compare)
    blank_distance: float | None  # original to a black chip: what a face with nothing left scores

    @property
    def leaks(self) -> bool:
        if self.distance is None or self.blank_distance is None:
            return False
        return self.distance < LEAK_DISTANCE and self.distance < self.blank_distance - NULL_MARGIN


class Recognizer:
    """Embeds face chips with dlib; identical chips are embedded once (across protect's rounds)."""

    def __init__(self, min_face_px: float = RECOGNIZABLE_PX, cache_size: int = 256) -> None:
        self.min_face_px = min_face_px
        self._cache: OrderedDict[bytes, Embedding] = OrderedDict()
        self._cache_size = cache_size

    def compare(self, original: Image, masked: Image, detections: Detections) -> list[Comparison]:
        """Distances between each big-enough face in `original` and the same place in `masked`."""
        import dlib

        found = []
        blank = self.embed(np.zeros((CHIP_SIZE, CHIP_SIZE, 3), np.uint8))
        short = np.minimum(detections.widths, detections.heights)
        for index in np.flatnonzero(short >= self.min_face_px):
            shape = landmarks_for(original, detections.boxes[index])
            box: tuple[int, int, int, int] = tuple(int(v) for v in detections.boxes[index].round())  # type: ignore[assignment]
            after = self.embed(dlib.get_face_chip(masked, shape, CHIP_SIZE, CHIP_PADDING))
            if np.linalg.norm(after - blank) <= NULL_MARGIN:
                # cannot leak, original unseen: d(orig, after) >= d(orig, blank) - NULL_MARGIN
                found.append(Comparison(int(index), box, None, None))
                continue
            before = self.embed(dlib.get_face_chip(original, shape, CHIP_SIZE, CHIP_PADDING))
            distance, blank_distance = np.linalg.norm(before - after), np.linalg.norm(before - blank)
            found.append(Comparison(int(index), box, float(distance), float(blank_distance)))
        return found

    def embed(self, chip: Image) -> Embedding:
        """128-d dlib embedding of an aligned 150 x 150 chip."""
        key = hashlib.blake2b(np.ascontiguousarray(chip).tobytes(), digest_size=16).digest()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        vector = np.asarray(models.encoder().compute_face_descriptor(chip), np.float64)
        self._cache[key] = vector
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return vector


def landmarks_for(image: Image, box: npt.NDArray[np.float32]) -> Any:
    """dlib's 5-point shape for the face in `box` (a CenterFace-style brow-to-chin box)."""
    return models.landmarks()(image, _square_rect(box))


def _square_rect(box: npt.NDArray[np.float32]) -> Any:
    """A square of the box's width on its centre: the framing dlib's landmark model was trained on
    (on the astronaut it gives the same landmarks as dlib's own detector)."""
    import dlib

    x1, y1, x2, y2 = (float(v) for v in box)
    half = (x2 - x1) / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top, right, bottom = (int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
    return dlib.rectangle(left, top, right, bottom)
