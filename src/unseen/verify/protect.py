"""Mask, attack, mask harder, attack again: a masked image is returned only once it passes.

Escalation is per face. A face the recognizer still matches gets a bigger head region and a
stronger blur or coarser pixelation; after its second failure it is switched to solid. A face
re-detection finds outside every mask is added to the detections (source "verify"), but where a
person removed a mask (`bare`): that stays bare, as they asked, and the check names it
(`left_bare`). After `max_rounds` verifications without a pass, protect fails closed: passed is
False.
"""

from __future__ import annotations

import time

import numpy as np

from unseen.detect.base import iou_matrix
from unseen.edits import left_bare
from unseen.redact import apply_masks, mask_area
from unseen.settings import Settings
from unseen.types import Check, Detections, Finding, FloatArray, Image, MaskShape, MaskStyle
from unseen.verify.redetect import BoolArray
from unseen.verify.verifier import Verifier, default_verifier

GROW_STEP = 1.25  # head region per failed round
STRENGTH_STEP = 2.0  # blur sigma / pixel block size per failed round
SOLID_AFTER = 2  # failed rounds before a leaking face is filled solid
# Opaque styles go on last, so where masks overlap the face-free fill wins.
_ORDER = {MaskStyle.BLUR: 0, MaskStyle.PIXELATE: 1, MaskStyle.NOISE: 2, MaskStyle.SOLID: 3}


class _Faces:
    """Detections with how hard each one is masked."""

    def __init__(self, detections: Detections, settings: Settings, strength: float) -> None:
        self.detections = detections
        n = len(detections)
        self.grow = np.full(n, settings.grow, np.float64)
        self.strength = np.full(n, strength, np.float64)
        self.style = [settings.mask] * n
        self.failures = np.zeros(n, int)
        self.settings = settings
        self.strength_start = strength

    def add(self, found: Detections) -> None:
        self.detections = Detections.merge([self.detections, found.with_source("verify")])
        n = len(found)
        self.grow = np.concatenate([self.grow, np.full(n, self.settings.grow)])
        self.strength = np.concatenate([self.strength, np.full(n, self.strength_start)])
        self.style += [self.settings.mask] * n
        self.failures = np.concatenate([self.failures, np.zeros(n, int)])

    def final(self) -> Detections:
        """The detections with each face's mask scale as it was last drawn."""
        return self.detections.with_grow(self.detections.grow * self.grow)

    def escalate(self, index: int) -> None:
        self.failures[index] += 1
        self.grow[index] *= GROW_STEP
        self.strength[index] *= STRENGTH_STEP
        if self.failures[index] >= SOLID_AFTER:
            self.style[index] = MaskStyle.SOLID

    def mask(self, image: Image, shape: MaskShape, rng: np.random.Generator) -> tuple[Image, BoolArray]:
        """The masked image and the union of mask areas, one apply_masks call per style (each
        face with its own grow and strength, so overlapping blurs keep the strongest)."""
        out = image
        area = np.zeros(image.shape[:2], bool)
        styles = np.asarray([s.value for s in self.style])
        for style in sorted(set(self.style), key=lambda s: _ORDER[s]):
            members = np.flatnonzero(styles == style.value)
            faces = self.detections[members]
            faces = faces.with_grow(faces.grow * self.grow[members])
            out = apply_masks(out, faces, style, shape, 1.0, self.strength[members], rng)
            area |= mask_area(image.shape, faces, shape)
        return (out if out is not image else image.copy()), area

    def opaque(self) -> BoolArray:
        """Which faces are filled with something that holds nothing of them (solid or noise)."""
        return np.asarray([s in (MaskStyle.SOLID, MaskStyle.NOISE) for s in self.style], bool)


def protect(
    image: Image,
    detections: Detections,
    settings: Settings,
    verifier: Verifier | None = None,
    max_rounds: int = 3,
    rng: np.random.Generator | None = None,
    strength: float = 1.0,
    bare: FloatArray | None = None,
) -> tuple[Image, Detections, Check, bool]:
    """Mask `detections` in `image` and verify, escalating until the result passes.

    Returns the last masked image, the detections it masks (misses found on the way added), the
    last Check (its `rounds` and total `seconds` cover every round) and whether it passed. When
    it did not, the caller must not write the image. `strength` is where blur and pixelate start.
    What the check finds where `bare` says a person removed a mask is left bare and listed in the
    check's `left_bare`, not masked.
    """
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, not {max_rounds}")
    verifier = verifier or default_verifier()
    rng = rng or np.random.default_rng()
    faces = _Faces(detections, settings, strength)
    seconds = 0.0
    for round_ in range(1, max_rounds + 1):
        masked, area = faces.mask(image, settings.shape, rng)
        start = time.perf_counter()
        check = verifier.check(image, masked, faces.detections, area, faces.opaque())
        seconds += time.perf_counter() - start
        check.rounds, check.seconds = round_, seconds
        if bare is not None:
            set_bare(check, bare)
        if check.passed:
            return masked, faces.final(), check, True
        if round_ == max_rounds:
            break
        for index in _leaking(check, faces.detections):
            faces.escalate(index)
        if check.redetected_boxes:
            boxes = np.asarray(check.redetected_boxes, np.float32)
            faces.add(Detections(boxes, np.ones(len(boxes), np.float32)))
    return masked, faces.final(), check, False


def set_bare(check: Check, bare: FloatArray, frame: int = 0) -> None:
    """Move what `check` re-detected where a person said to leave a face bare into `left_bare`."""
    if not check.redetected_boxes or not len(bare):
        return
    found = np.asarray(check.redetected_boxes, np.float32).reshape(-1, 4)
    asked = left_bare(found, bare)
    check.left_bare += [Finding(frame, b) for b, a in zip(check.redetected_boxes, asked, strict=True) if a]
    check.redetected_boxes = [b for b, a in zip(check.redetected_boxes, asked, strict=True) if not a]
    check.redetected = len(check.redetected_boxes)


def _leaking(check: Check, detections: Detections) -> list[int]:
    """Indices of the detections the check's leaking boxes name (best IoU; boxes are rounded)."""
    if not check.leaking_boxes or len(detections) == 0:
        return []
    ious = iou_matrix(np.asarray(check.leaking_boxes, np.float32), detections.boxes)
    return sorted({int(i) for i in ious.argmax(axis=1)[ious.max(axis=1) > 0.5]})
