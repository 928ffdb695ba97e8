"""The Verifier protocol: attack one masked image and say what still shows. A real one and a fake."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from unseen.detect.base import iou_matrix
from unseen.types import Check, Detections, Image
from unseen.verify.recognize import Recognizer
from unseen.verify.redetect import Attack, BoolArray, coverage, redetect_faces, uncovered

Box = tuple[int, int, int, int]


class Verifier(Protocol):
    """Attacks `masked`, made from `original` by masking `detections` over `area` (H x W bool).

    `opaque[i]` says face i is filled solid or with noise: nothing of it is left to recognise
    wherever the fill covers its whole box, which geometry proves without a recognizer.
    """

    def check(
        self,
        original: Image,
        masked: Image,
        detections: Detections,
        area: BoolArray,
        opaque: BoolArray | None = None,
    ) -> Check: ...


class ModelVerifier:
    """Re-detection (MTCNN, optionally a sensitive CenterFace) plus re-identification (dlib)."""

    def __init__(self, attack: Attack | None = None, recognizer: Recognizer | None = None) -> None:
        self.attack = attack or Attack()
        self.recognizer = recognizer or Recognizer()

    def check(
        self,
        original: Image,
        masked: Image,
        detections: Detections,
        area: BoolArray,
        opaque: BoolArray | None = None,
    ) -> Check:
        start = time.perf_counter()
        misses = uncovered(redetect_faces(masked, self.attack), area, self.attack.covered)
        proved = proved_by_geometry(detections, area, opaque)
        comparisons = self.recognizer.compare(original, masked, detections[~proved])
        # comparisons index the unproved faces: map back to the caller's detections
        unproved = np.flatnonzero(~proved)
        comparisons = [replace(c, index=int(unproved[c.index])) for c in comparisons]
        return Check(
            redetected=len(misses),
            redetected_boxes=_boxes(misses.boxes),
            recognizable_faces=len(comparisons),
            min_embedding_distance=min(
                (c.distance for c in comparisons if c.distance is not None), default=None
            ),
            leaking_boxes=[c.box for c in comparisons if c.leaks],
            proved_by_geometry=int(proved.sum()),
            seconds=time.perf_counter() - start,
        )


def proved_by_geometry(detections: Detections, area: BoolArray, opaque: BoolArray | None) -> BoolArray:
    """Faces filled opaque over every pixel of their box: no recognizer can match what is not
    there (dlib never matched a solid-filled face, 0 of 227 WIDER faces; see recognize.py)."""
    if opaque is None or len(detections) == 0:
        return np.zeros(len(detections), bool)
    return np.asarray(opaque, bool) & (coverage(detections.boxes, area) >= 1.0)


@functools.lru_cache(maxsize=1)
def default_verifier() -> ModelVerifier:
    """One ModelVerifier per process; its models load on its first check."""
    return ModelVerifier()


class FakeVerifier:
    """Canned findings, for fast tests of whatever calls a Verifier.

    `misses` are faces it "finds" whenever less than `covered` of the box is under the mask area,
    so they go away once masked. `leaks[i]` are face boxes it reports as recognizable on call i
    (the last entry repeats; a reported box must match a detection, by IoU > 0.5, to count).
    """

    def __init__(
        self,
        misses: Sequence[Box] = (),
        leaks: Sequence[Sequence[Box]] = (),
        covered: float = Attack.covered,
    ) -> None:
        self.misses = Detections(np.asarray(misses, np.float32), np.ones(len(misses), np.float32))
        self.leaks = [list(round_leaks) for round_leaks in leaks]
        self.covered = covered
        self.calls: list[Detections] = []

    def check(
        self,
        original: Image,
        masked: Image,
        detections: Detections,
        area: BoolArray,
        opaque: BoolArray | None = None,
    ) -> Check:
        call = len(self.calls)
        self.calls.append(detections)
        misses = uncovered(self.misses, area, self.covered)
        canned = self.leaks[min(call, len(self.leaks) - 1)] if self.leaks else []
        leaks = [b for b in canned if _matches(b, detections)]
        return Check(
            redetected=len(misses),
            redetected_boxes=_boxes(misses.boxes),
            recognizable_faces=len(detections),
            min_embedding_distance=0.3 if leaks else (1.0 if len(detections) else None),
            leaking_boxes=leaks,
        )


def _boxes(boxes: np.ndarray) -> list[Box]:
    return [(int(a), int(b), int(c), int(d)) for a, b, c, d in boxes.round()]


def _matches(box: Box, detections: Detections) -> bool:
    if len(detections) == 0:
        return False
    return float(iou_matrix(np.asarray([box], np.float32), detections.boxes).max()) > 0.5
