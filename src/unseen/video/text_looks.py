"""One look at a frame's text: each region tied to the face track whose body it is on, and
placed on other frames by that face (a name patch moves with its wearer)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from unseen.text.people import body_boxes
from unseen.types import Detections, FloatArray
from unseen.video.painting import Masks

SAME_TEXT_IOU = 0.3  # a region at a look is the one seen at the look before when they overlap this much
MOTION_PAD = 1.15  # regions between looks are masked this much larger: the wearer moves in between
IN_FACE = 0.5  # a region this much inside a face box is under the head's mask already
APART = 0.3  # two placements of a region (by its face, by the picture) differ past this x its height

BoolArray = npt.NDArray[np.bool_]


@dataclass
class Look:
    """What the text detector found on one frame, each region tied to a face track or not."""

    at: int
    boxes: FloatArray  # regions the mode masks
    tracks: list[int | None]  # the face track each is on (None: not on a person)
    grow: FloatArray
    anchors: FloatArray  # the face box each region was tied to at the look (zeros: none)

    @property
    def offsets(self) -> FloatArray:
        """Each box relative to its face: (box - face corner) / face width."""
        corner = np.tile(self.anchors[:, :2], 2)
        width = np.maximum(self.anchors[:, 2] - self.anchors[:, 0], 1.0)[:, None]
        return np.asarray((self.boxes - corner) / width, np.float32)


def faces_of(masks: Masks) -> Detections:
    """The faces of a frame's masks without the tracker's doubt: where the bodies are."""
    if not len(masks):
        return Detections.empty()
    return Detections(masks.cores.astype(np.float32), masks.faces.scores)


def tracks_of(masks: Masks) -> list[int | None]:
    """A key per face: its record, which a track keeps for its life (ids are given at the end)."""
    return [id(r) if r is not None else None for r in masks.records]


def tie(at: int, found: Detections, faces: Detections, masks: Masks, grow: FloatArray) -> Look:
    """Each region tied to the face whose body it is on (the nearest), with its offset."""
    anchors = np.zeros((len(found), 4), np.float32)
    tracks: list[int | None] = [None] * len(found)
    if len(found) and len(faces):
        bodies = body_boxes(faces, (10**9, 10**9))
        ids = tracks_of(masks)
        cx = (found.boxes[:, 0] + found.boxes[:, 2]) / 2
        cy = (found.boxes[:, 1] + found.boxes[:, 3]) / 2
        fcx = (faces.boxes[:, 0] + faces.boxes[:, 2]) / 2
        for i in range(len(found)):
            inside = (
                (bodies[:, 0] <= cx[i])
                & (cx[i] <= bodies[:, 2])
                & (bodies[:, 1] <= cy[i])
                & (cy[i] <= bodies[:, 3])
            )
            if not inside.any():
                continue
            j = int(np.argmin(np.where(inside, np.abs(fcx - cx[i]), np.inf)))
            if ids[j] is None:
                continue
            face = faces.boxes[j]
            tracks[i] = ids[j]
            anchors[i] = face
    return Look(at, found.boxes.astype(np.float32), tracks, grow.astype(np.float32), anchors)


def place(look: Look, masks: Masks, shift: FloatArray | None = None) -> FloatArray:
    """The look's regions on a frame with `masks`: those on a person moved with its face, the
    others (and those whose face is not on the frame) with the picture, by `shift` (how far the
    picture moved since the look; None: not known, they stay where they were seen).

    A region rides with its face two ways, and covers both: scaled with the face's box (the
    wearer came nearer) and shifted with the box's centre (the detector's box grew or shrank a
    little, as boxes do from look to look: scaled alone, a tag two face heights below moved by
    a tenth of a face height for a box 5% larger, off its letters)."""
    boxes = look.boxes.copy()
    if shift is not None and len(boxes):
        boxes += np.tile(np.asarray(shift, np.float32), 2)
    if not len(boxes) or not len(masks):
        return boxes
    where = {t: i for i, t in enumerate(tracks_of(masks)) if t is not None}
    offsets = look.offsets
    for i, track in enumerate(look.tracks):
        if track is None or track not in where:
            continue
        face = masks.cores[where[track]]
        scaled = np.tile(face[:2], 2) + offsets[i] * max(float(face[2] - face[0]), 1.0)
        anchor = look.anchors[i]
        shift = (face[:2] + face[2:]) / 2 - (anchor[:2] + anchor[2:]) / 2
        shifted = look.boxes[i] + np.tile(shift, 2)
        boxes[i] = np.concatenate([np.minimum(scaled[:2], shifted[:2]), np.maximum(scaled[2:], shifted[2:])])
    return boxes


def place_both(look: Look, masks: Masks, shift: FloatArray | None) -> tuple[FloatArray, FloatArray]:
    """`place`, and also where the picture's shift alone takes a region on a person whose face
    moved otherwise since the look (more than APART of its height): the regions, and their grow.

    A region is tied to the nearest face above it, and in a crowd that face can be another
    person's, or its track can pass to another face between looks; masking both places costs
    a word's area where they disagree, and leaves no word bare when the tie was wrong."""
    placed = place(look, masks, shift)
    if shift is None or not len(placed):
        return placed, look.grow
    panned = look.boxes + np.tile(np.asarray(shift, np.float32), 2)
    height = np.maximum(look.boxes[:, 3] - look.boxes[:, 1], 1.0)
    gap = np.abs((placed[:, :2] + placed[:, 2:]) - (panned[:, :2] + panned[:, 2:])).max(axis=1) / 2
    apart = gap > APART * height
    return (
        np.concatenate([placed, panned[apart]]).astype(np.float32),
        np.concatenate([look.grow, look.grow[apart]]).astype(np.float32),
    )


def in_faces(boxes: FloatArray, faces: FloatArray) -> BoolArray:
    """Regions mostly inside a face: the head's own mask destroys them (a face itself can look
    like text to the detector)."""
    if not len(boxes) or not len(faces):
        return np.zeros(len(boxes), bool)
    w = np.minimum(boxes[:, None, 2], faces[None, :, 2]) - np.maximum(boxes[:, None, 0], faces[None, :, 0])
    h = np.minimum(boxes[:, None, 3], faces[None, :, 3]) - np.maximum(boxes[:, None, 1], faces[None, :, 1])
    inter = w.clip(0) * h.clip(0)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1.0)
    return np.asarray((inter / area[:, None] >= IN_FACE).any(axis=1))


def iou(a: FloatArray, b: FloatArray) -> float:
    w = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    h = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    inter = w * h
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def int_box(b: FloatArray) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(v) for v in np.round(b))
    return x1, y1, x2, y2
