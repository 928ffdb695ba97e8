"""A person's corrections to the automatic masks, saved beside the output as a sidecar file.

`unseen review` writes them as the person works; `unseen` and `unseen batch` apply them.
Boxes are x1, y1, x2, y2 in the pixels of the (orientation-corrected) input.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from unseen.detect.base import iou_matrix
from unseen.tempfiles import make_temp
from unseen.types import Detections

Box = tuple[float, float, float, float]
SIDECAR_SUFFIX = ".unseen-edits.json"
REMOVED_IOU = 0.3  # a detection overlapping a removed box this much is the one the person removed


@dataclass
class Edits:
    """Masks a person added, masks they removed, and a style they chose for this file."""

    added: list[Box] = field(default_factory=list)
    removed: list[Box] = field(default_factory=list)
    mask: str | None = None  # a MaskStyle value, or None for the run's setting
    # video: track ids switched off, and added masks over frame ranges
    tracks_off: list[int] = field(default_factory=list)
    added_ranges: list[dict[str, object]] = field(default_factory=list)

    def apply(self, detections: Detections) -> Detections:
        """The detections after the person's corrections: removed ones dropped, added ones in."""
        kept = detections
        if self.removed and len(detections):
            overlap = iou_matrix(detections.boxes, np.array(self.removed, np.float32).reshape(-1, 4)).max(
                axis=1
            )
            kept = detections[overlap < REMOVED_IOU]
        if not self.added:
            return kept
        added = Detections(
            np.array(self.added, np.float32).reshape(-1, 4), np.ones(len(self.added), np.float32)
        ).with_source("review")
        return Detections.merge([kept, added])

    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.mask or self.tracks_off or self.added_ranges)

    @classmethod
    def load(cls, path: Path) -> Edits:
        data = json.loads(path.read_text())
        return cls(
            added=[tuple(map(float, b)) for b in data.get("added", [])],  # type: ignore[misc]
            removed=[tuple(map(float, b)) for b in data.get("removed", [])],  # type: ignore[misc]
            mask=data.get("mask"),
            tracks_off=[int(t) for t in data.get("tracks_off", [])],
            added_ranges=list(data.get("added_ranges", [])),
        )

    def save(self, path: Path) -> None:
        """Atomic write, so a crash never leaves half a sidecar."""
        fd, temp = make_temp(path.parent, ".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(asdict(self), f, indent=1)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)


def sidecar_for(output: Path) -> Path:
    """The edits file of an output: photo.unseen.jpg -> photo.unseen.jpg.unseen-edits.json."""
    return output.with_name(output.name + SIDECAR_SUFFIX)
