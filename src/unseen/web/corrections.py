"""The person's corrections as the page sends them, checked before anything is saved.

A photo's edits are boxes; a video's are also the tracks switched off and masks over frame
ranges. Everything is a JSON value from the browser: lengths are bounded, numbers must be finite,
boxes are clipped to the picture and frame ranges to the clip. Anything else is a ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from math import isfinite
from typing import Any

from unseen.edits import Box, Edits
from unseen.types import MaskStyle

MAX_BOXES = 2000
MAX_TRACK_ID = 2**31 - 1

FaceBoxFor = Callable[[Box], Box]  # the face box whose head mask covers a dragged region


def edits_from(
    body: dict[str, Any],
    old: Edits,
    size: tuple[int, int],
    face_box_for: FaceBoxFor,
    frames: int | None = None,
) -> Edits:
    """New Edits from the page's `body`; a field it leaves out keeps its `old` value.

    `add_mask` (a dragged region) adds the face box that masks all of it; for a video (`frames`
    given), `add_range` ({"region", "first", "last"}) does the same over a range of frames.
    """
    added = [box(b, size) for b in boxes(body["added"])] if "added" in body else list(old.added)
    removed = [box(b, size) for b in boxes(body["removed"])] if "removed" in body else list(old.removed)
    if body.get("add_mask") is not None:
        added.append(box(face_box_for(box(body["add_mask"], size)), None))
    mask = body.get("mask", old.mask)
    if mask is not None:
        mask = MaskStyle(mask).value
    tracks_off, ranges = list(old.tracks_off), list(old.added_ranges)
    if frames is not None:
        if "tracks_off" in body:
            tracks_off = track_ids(body["tracks_off"])
        if "added_ranges" in body:
            listed = boxes(body["added_ranges"])
            ranges = [frame_range(r, frames, box(_field(r, "box"), None)) for r in listed]
        if body.get("add_range") is not None:
            region = box(_field(body["add_range"], "region"), size)
            ranges.append(frame_range(body["add_range"], frames, box(face_box_for(region), None)))
    elif any(body.get(key) for key in ("tracks_off", "added_ranges", "add_range")):
        raise ValueError("tracks and frame ranges are for videos")
    if max(len(added), len(removed), len(ranges)) > MAX_BOXES:
        raise ValueError("too many masks")
    return Edits(added=added, removed=removed, mask=mask, tracks_off=tracks_off, added_ranges=ranges)


def boxes(value: object) -> list[Any]:
    if not isinstance(value, list) or len(value) > MAX_BOXES:
        raise ValueError("expected a list of boxes")
    return value


def box(value: object, size: tuple[int, int] | None) -> Box:
    """Four finite numbers, ordered, clipped to the picture when its size is given."""
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise ValueError("a box is [x1, y1, x2, y2]")
    if not all(_number(v) and abs(v) < 1e6 for v in value):
        raise ValueError("a box holds four finite numbers")
    x1, y1, x2, y2 = (float(v) for v in value)
    x1, x2 = sorted((x1, x2))
    y1, y2 = sorted((y1, y2))
    if size is not None:
        w, h = size
        x1, x2 = min(max(x1, 0.0), w), min(max(x2, 0.0), w)
        y1, y2 = min(max(y1, 0.0), h), min(max(y2, 0.0), h)
    if x2 - x1 < 1 or y2 - y1 < 1:
        raise ValueError("a box must be at least one pixel wide and high")
    return (round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1))


def track_ids(value: object) -> list[int]:
    if not isinstance(value, list) or len(value) > MAX_BOXES:
        raise ValueError("tracks_off: a list of track numbers")
    if not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t <= MAX_TRACK_ID for t in value):
        raise ValueError("tracks_off: a list of track numbers")
    return sorted(set(value))


def frame_range(value: object, frames: int, face: Box) -> dict[str, object]:
    """{"box", "first", "last"}: frames inside the clip, first <= last (swapped when not)."""
    first, last = _field(value, "first"), _field(value, "last")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (first, last)):
        raise ValueError("a frame range is two whole frame numbers")
    first, last = sorted((first, last))
    if first < 0 or last >= frames:
        raise ValueError(f"frames run from 0 to {frames - 1}")
    return {"box": list(face), "first": first, "last": last}


def _field(value: object, name: str) -> Any:
    if not isinstance(value, dict) or name not in value:
        raise ValueError(f"expected an object with {name!r}")
    return value[name]


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and isfinite(value)
