"""A person's corrections on a clip's frames: masks added over frame ranges, and where they said
to leave a face bare (tracks switched off, masks removed)."""

from __future__ import annotations

import numpy as np

from unseen.edits import Edits
from unseen.track import Tracker
from unseen.types import Detections, FaceRecord, FloatArray
from unseen.video.painting import Masks


def left_bare_at(tracker: Tracker, off: frozenset[int], edits: Edits | None, index: int) -> FloatArray:
    """Where a person said to leave a face bare on frame `index`: the tracks they switched off,
    and the masks they removed (on every frame, as the detections lose them)."""
    switched = tracker.switched_off(index, off)
    if edits is None or not edits.removed:
        return switched
    return np.concatenate([switched, edits.removed_boxes()])


def ranges_at(edits: Edits | None, index: int, records: dict[int, FaceRecord]) -> Masks:
    """The masks a person added over frame ranges that cover frame `index`; `records` keeps one
    FaceRecord per range for the report (made on its first frame)."""
    if edits is None or not edits.added_ranges:
        return Masks.empty()
    boxes: list[list[float]] = []
    kept: list[FaceRecord | None] = []
    for number, item in enumerate(edits.added_ranges):
        first, last = int(item["first"]), int(item["last"])  # type: ignore[call-overload]
        if not first <= index <= last:
            continue
        box = [float(v) for v in item["box"]]  # type: ignore[attr-defined]
        boxes.append(box)
        if number not in records:
            face = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
            records[number] = FaceRecord(face, 1.0, "review", first=first, last=last)
        kept.append(records[number])
    if not boxes:
        return Masks.empty()
    found = Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32))
    found = found.with_source("review")
    return Masks(found, found.boxes.copy(), kept)
