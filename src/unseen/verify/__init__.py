"""Prove every output: attack the masked image before it is written.

An independent detector looks for faces outside the masks; a recognizer compares each masked
face with the original it hides. `protect` masks, verifies and escalates until the result passes,
or reports that it did not (fail closed). Metadata read-back lives in unseen.media.metadata.
"""

from __future__ import annotations

from unseen.redact import mask_area
from unseen.settings import Settings
from unseen.types import Check, Detections, Image
from unseen.verify.protect import protect
from unseen.verify.recognize import LEAK_DISTANCE, RECOGNIZABLE_PX, SAME_PERSON, Recognizer
from unseen.verify.redetect import Attack, redetect_faces
from unseen.verify.verifier import FakeVerifier, ModelVerifier, Verifier, default_verifier

__all__ = [
    "LEAK_DISTANCE",
    "RECOGNIZABLE_PX",
    "SAME_PERSON",
    "Attack",
    "FakeVerifier",
    "ModelVerifier",
    "Recognizer",
    "Verifier",
    "redetect_faces",
    "protect",
    "verify",
]


def verify(
    original: Image,
    masked: Image,
    detections: Detections,
    settings: Settings,
    verifier: Verifier | None = None,
) -> Check:
    """Attack `masked` (made by masking `detections` with `settings`) and report what still shows."""
    area = mask_area(original.shape, detections, settings.shape, settings.grow)
    return (verifier or default_verifier()).check(original, masked, detections, area)
