"""Text seen on a person, kept on them: a look that misses a name tag it found before (the wearer
turned a little, the tag caught the light) does not bare it while the wearer's face is tracked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from unseen.types import FloatArray
from unseen.video.painting import Masks
from unseen.video.text_looks import MOTION_PAD, SAME_TEXT_IOU, Look, iou, tracks_of

WORN_LOOKS = 60  # text seen on a person stays on them this many looks (~30 s) after it was last seen

Shift = Callable[[int, int], FloatArray | None]  # how far the picture moved from one frame to another


@dataclass
class _Worn:
    """One region on a face track's body, where it sits on the wearer (relative to the face)."""

    offset: FloatArray  # (box - face corner) / face width
    grow: float
    look: int  # the look number it was last seen at
    box: FloatArray  # where it was then
    at: int  # the frame of that look


@dataclass
class WornText:
    """The text each face track was seen wearing, by track key (`tracks_of`)."""

    tracks: dict[int, list[_Worn]] = field(default_factory=dict)

    def remember(self, look: Look, number: int) -> None:
        """Add what look number `number` found on people (the same region again: moved, kept once)."""
        offsets = look.offsets
        for i, track in enumerate(look.tracks):
            if track is None:
                continue
            worn = self.tracks.setdefault(track, [])
            grow = float(look.grow[i]) * MOTION_PAD
            same = [w for w in worn if iou(w.offset, offsets[i]) > SAME_TEXT_IOU]
            if same:
                same[0].offset, same[0].look = offsets[i].copy(), number
                same[0].grow = max(same[0].grow, grow)
                same[0].box, same[0].at = look.boxes[i].copy(), look.at
            else:
                worn.append(_Worn(offsets[i].copy(), grow, number, look.boxes[i].copy(), look.at))

    def on(self, index: int, masks: Masks, shift: Shift, reach: int) -> tuple[FloatArray, FloatArray]:
        """The regions each face on frame `index` was seen wearing, placed by its face now, and for
        `reach` frames after their look also where the picture's shift alone takes them (the face
        they were tied to may be another person's, or its track another face's by now); their grow."""
        boxes: list[FloatArray] = []
        grows: list[float] = []
        for j, track in enumerate(tracks_of(masks)):
            for worn in self.tracks.get(track, []) if track is not None else []:
                face = masks.cores[j]
                boxes.append(np.tile(face[:2], 2) + worn.offset * max(float(face[2] - face[0]), 1.0))
                grows.append(worn.grow)
                moved = shift(worn.at, index) if abs(index - worn.at) <= reach else None
                if moved is not None:
                    boxes.append(worn.box + np.tile(moved, 2))
                    grows.append(worn.grow)
        if not boxes:
            return np.empty((0, 4), np.float32), np.empty(0, np.float32)
        return np.asarray(boxes, np.float32), np.asarray(grows, np.float32)

    def forget(self, number: int) -> None:
        """Drop what was last seen more than WORN_LOOKS looks before look `number`."""
        for track, worn in list(self.tracks.items()):
            kept = [w for w in worn if number - w.look <= WORN_LOOKS]
            if kept:
                self.tracks[track] = kept
            else:
                del self.tracks[track]
