"""A person's corrections to the automatic masks, saved as a sidecar file in unseen's state folder.

`unseen review` and the desk write them as the person works; `unseen` and `unseen batch` apply
them. The sidecar of OUT/photo.unseen.jpg is $XDG_STATE_HOME/unseen/edits/<key of OUT>/
photo.unseen.jpg.unseen-edits.json: never inside the output folder, which is meant for publishing
(the boxes a person removed say where a face was left on purpose). A sidecar that an earlier
version left beside its output is moved there when it is next looked for.
Boxes are x1, y1, x2, y2 in the pixels of the (orientation-corrected) input.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from unseen.detect.base import iou_matrix
from unseen.errors import UnreadableInput
from unseen.statehome import path_key, state_home
from unseen.tempfiles import make_temp
from unseen.types import Detections, FloatArray, MaskStyle

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
            kept = detections[~left_bare(detections.boxes, self.removed_boxes())]
        if not self.added:
            return kept
        added = Detections(
            np.array(self.added, np.float32).reshape(-1, 4), np.ones(len(self.added), np.float32)
        ).with_source("review")
        return Detections.merge([kept, added])

    def removed_boxes(self) -> FloatArray:
        """The masks the person removed, as an (n, 4) array."""
        return np.array(self.removed, np.float32).reshape(-1, 4)

    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.mask or self.tracks_off or self.added_ranges)

    @classmethod
    def load(cls, path: Path) -> Edits:
        """The edits saved in `path`; UnreadableInput naming the file when it is damaged or odd."""
        try:
            body = path.read_bytes()
        except OSError as error:
            raise UnreadableInput(
                f"{path}: the review's edits file cannot be read ({error.strerror})"
            ) from error
        return cls.parse(body, path)

    @classmethod
    def parse(cls, body: bytes, path: Path) -> Edits:
        """The edits in a sidecar's bytes (read where the batch was planned); errors name `path`."""
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            mask = data.get("mask")
            if mask is not None and mask not in {style.value for style in MaskStyle}:
                raise ValueError(f"unknown mask style {mask!r}")
            return cls(
                added=_boxes(data.get("added", [])),
                removed=_boxes(data.get("removed", [])),
                mask=mask,
                tracks_off=[_whole(t) for t in _list(data.get("tracks_off", []))],
                added_ranges=[_frame_range(r) for r in _list(data.get("added_ranges", []))],
            )
        except (ValueError, TypeError, RecursionError) as error:
            reason = " ".join(str(error).split())[:120] or type(error).__name__
            raise UnreadableInput(
                f"{path}: damaged edits file from unseen review ({reason}); fix it or delete it to start over"
            ) from error

    def save(self, path: Path) -> None:
        """Atomic write, so a crash never leaves half a sidecar; its folder is private (0700)."""
        _private_folder(path.parent)
        fd, temp = make_temp(path.parent, ".json")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(asdict(self), f, indent=1)
            os.replace(temp, path)
        finally:
            temp.unlink(missing_ok=True)


def left_bare(boxes: FloatArray, bare: FloatArray) -> npt.NDArray[np.bool_]:
    """Which of `boxes` are where a person said to leave a face bare (`bare`: masks removed,
    tracks switched off): overlapping one by REMOVED_IOU. The one rule for the detector's faces
    and for what the check finds, in photos and video."""
    if not len(boxes) or not len(bare):
        return np.zeros(len(boxes), bool)
    return np.asarray(iou_matrix(boxes, bare).max(axis=1) >= REMOVED_IOU)


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ValueError("a list was expected")
    return value


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _whole(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a frame or track number")
    return value


def _box(value: object) -> Box:
    numbers = _list(value)
    if len(numbers) != 4:
        raise ValueError("a box is four numbers")
    x1, y1, x2, y2 = (_number(v) for v in numbers)
    return (x1, y1, x2, y2)


def _boxes(value: object) -> list[Box]:
    return [_box(b) for b in _list(value)]


def _frame_range(value: object) -> dict[str, object]:
    if not isinstance(value, dict) or not {"box", "first", "last"} <= set(value):
        raise ValueError("a frame range is {box, first, last}")
    return {"box": list(_box(value["box"])), "first": _whole(value["first"]), "last": _whole(value["last"])}


def edits_root() -> Path:
    """Every sidecar is under here, one folder per output folder."""
    return state_home() / "edits"


def sidecar_for(output: Path) -> Path:
    """The edits file of an output, in the state folder: <key of its folder>/NAME.unseen-edits.json.

    A sidecar an earlier version wrote beside the output is moved here first, so the person's
    corrections are kept and the output folder no longer holds them.
    """
    output = Path(output)
    path = edits_root() / path_key(output.parent) / (output.name + SIDECAR_SUFFIX)
    legacy = output.with_name(output.name + SIDECAR_SUFFIX)
    if legacy.is_file() and not path.exists():
        _private_folder(path.parent)
        shutil.move(legacy, path)
    return path


def _private_folder(folder: Path) -> None:
    """Make `folder` and the parents it needs with mode 0700 (mkdir's parents=True would not)."""
    if not folder.is_dir():
        _private_folder(folder.parent)
        folder.mkdir(mode=0o700, exist_ok=True)
