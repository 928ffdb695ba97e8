"""Masks on a video frame: painted once, accounted for in the report, measured against the faces.

What a frame gets is a `Masks`: the boxes to mask (tracks, faces the check found, ranges a person
added), for each the record it is reported under, and the box without the tracker's doubt. The
painter draws them (what the check found solid and larger), keeps for each record the largest
head region painted, and measures how much of the picture the masks took beyond the faces: a
track guessing where a lost face went grows with doubt, and the report says when that costs
more than a few percent of the picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from unseen.redact.masks import apply_masks, head_boxes, mask_area
from unseen.settings import Settings
from unseen.types import Coverage, Detections, FaceRecord, FloatArray, Image, MaskStyle

SEED_GROW = 1.25  # a face the check found is masked solid over a head this much larger
STATS_SCALE = 0.25  # coverage is measured on a quarter-size grid: cheap, and a share is a share
BEYOND_FACES_NOTE = 0.03  # past this share of the clip's pixels masked beyond its faces, say so

BoolArray = npt.NDArray[np.bool_]


@dataclass
class Masks:
    """What is masked on one frame (upright pixels)."""

    faces: Detections  # sources "track", "check" (found by the attack), "review"
    cores: FloatArray  # each box without the doubt: where the face most likely is
    records: list[FaceRecord | None] = field(default_factory=list)  # reported under, per box

    @classmethod
    def empty(cls) -> Masks:
        return cls(Detections.empty(), np.empty((0, 4), np.float32), [])

    def __len__(self) -> int:
        return len(self.faces)

    def merge(self, other: Masks) -> Masks:
        return Masks(
            Detections.merge([self.faces, other.faces]),
            np.concatenate([self.cores, other.cores]).astype(np.float32),
            [*self.records, *other.records],
        )

    def signature(self) -> bytes:
        """Equal for equal masks: a frame masked for its check is not masked again for the encoder."""
        return self.faces.boxes.tobytes() + "|".join(map(str, self.faces.sources)).encode()


class Painter:
    """Paints `Masks` in one style and shape, and keeps the clip's coverage figures."""

    def __init__(self, settings: Settings, width: int, height: int) -> None:
        self.settings = settings
        self.width, self.height = width, height
        self.small = (max(1, round(height * STATS_SCALE)), max(1, round(width * STATS_SCALE)))
        self.frames = 0
        self.masked_px = 0
        self.beyond_px = 0
        self.worst: tuple[float, int | None] = (0.0, None)
        self.found_px = 0  # under the masks of what only the check found
        self.worst_found: tuple[float, int | None] = (0.0, None)

    def paint(self, image: Image, masks: Masks, with_area: bool = False) -> tuple[Image, BoolArray | None]:
        """`image` with `masks` drawn; with `with_area` also where (for the check's coverage rule)."""
        seeds = masks.faces.sources == "check"
        grow, shape, style = self.settings.grow, self.settings.shape, self.settings.mask
        regular, found = masks.faces[~seeds], masks.faces[seeds]
        area = mask_area(image.shape, regular, shape, grow) if len(regular) else None
        if area is not None and style in (MaskStyle.SOLID, MaskStyle.NOISE):
            out = image.copy()
            if style is MaskStyle.SOLID:
                out[area] = 0
            else:
                out[area] = np.random.default_rng().integers(0, 256, (int(area.sum()), 3), dtype=np.uint8)
        else:
            out = apply_masks(image, regular, style, shape, grow)
        if len(found):
            seed_area = mask_area(image.shape, found, shape, grow * SEED_GROW)
            out[seed_area] = 0
            area = seed_area if area is None else area | seed_area
        if with_area and area is None:
            area = np.zeros(image.shape[:2], bool)
        return out, (area if with_area else None)

    def areas(self, masks: Masks) -> tuple[BoolArray, BoolArray | None] | None:
        """For solid and noise styles: where black goes and where noise goes (upright, full
        size), for painting on the encoder's own planes; None for styles that need the pixels."""
        style = self.settings.mask
        if style not in (MaskStyle.SOLID, MaskStyle.NOISE):
            return None
        shape, grow = self.settings.shape, self.settings.grow
        size = (self.height, self.width)
        seeds = masks.faces.sources == "check"
        styled = mask_area(size, masks.faces[~seeds], shape, grow)
        solid = mask_area(size, masks.faces[seeds], shape, grow * SEED_GROW) if seeds.any() else None
        if style is MaskStyle.SOLID:
            return (styled if solid is None else styled | solid), None
        if solid is None:
            return np.zeros(size, bool), styled
        return solid, styled & ~solid

    def account(self, index: int, masks: Masks) -> None:
        """Count frame `index`'s masks: the clip's coverage, and each record's largest mask."""
        self.frames += 1
        if not len(masks):
            return
        grows = (np.where(masks.faces.sources == "check", SEED_GROW, 1.0) * self.settings.grow).astype(
            np.float32
        )
        heads = head_boxes(masks.faces.with_grow(masks.faces.grow * grows), (self.height, self.width))
        for record, head in zip(masks.records, heads.round().astype(int), strict=True):
            if record is None:
                continue
            box = (int(head[0]), int(head[1]), int(head[2]), int(head[3]))
            if record.max_mask_box is None or _area(box) > _area(record.max_mask_box):
                record.max_mask_box = box
        # what only the check found is drawn once: counted apart, and part of what was painted
        seeds = masks.faces.sources == "check"
        found = self._area(masks.faces[seeds], grows[seeds]) if seeds.any() else None
        painted = self._area(masks.faces[~seeds], grows[~seeds])
        if found is not None:
            painted |= found
        core = self._area(
            Detections(masks.cores, masks.faces.scores, masks.faces.sources, masks.faces.grow), grows
        )
        beyond = int((painted & ~core).sum())
        self.masked_px += int(painted.sum())
        self.beyond_px += beyond
        share = beyond / (self.small[0] * self.small[1])
        if share > self.worst[0]:
            self.worst = (share, index)
        if found is not None:
            self.found_px += int(found.sum())
            share = int(found.sum()) / (self.small[0] * self.small[1])
            if share > self.worst_found[0]:
                self.worst_found = (share, index)

    def _area(self, faces: Detections, grows: FloatArray) -> BoolArray:
        scaled = faces.scaled(STATS_SCALE)
        return mask_area(self.small, scaled.with_grow(scaled.grow * grows), self.settings.shape)

    def coverage(self) -> Coverage:
        pixels = max(1, self.frames * self.small[0] * self.small[1])
        return Coverage(
            masked=round(self.masked_px / pixels, 4),
            beyond_faces=round(self.beyond_px / pixels, 4),
            worst_frame=self.worst[1],
            worst_share=round(self.worst[0], 4),
            found=round(self.found_px / pixels, 4),
            found_frame=self.worst_found[1],
            found_share=round(self.worst_found[0], 4),
        )


def wide_masks(coverage: Coverage) -> list[tuple[str, float, int | None, float]]:
    """What took much of the picture, past BEYOND_FACES_NOTE of the clip's pixels: (kind, share,
    worst frame, its share) for "beyond_faces" (the tracker's doubt) and "found" (what only the
    check found: the attacking detector's findings are masked as faces, solid and larger; one
    that is no face blacks out as much as a head that size)."""
    out = []
    if coverage.beyond_faces > BEYOND_FACES_NOTE:
        out.append(("beyond_faces", coverage.beyond_faces, coverage.worst_frame, coverage.worst_share))
    if coverage.found > BEYOND_FACES_NOTE:
        out.append(("found", coverage.found, coverage.found_frame, coverage.found_share))
    return out


def coverage_notes(coverage: Coverage) -> list[str]:
    """The report line's warnings when masks took much of the picture (`wide_masks`)."""
    notes = []
    for kind, share, frame, frame_share in wide_masks(coverage):
        if kind == "beyond_faces":
            notes.append(
                f"masks cover {share:.0%} of the picture beyond the faces (up to {frame_share:.0%} of "
                f"frame {frame}): faces the tracker lost are masked where they may have gone"
            )
        else:
            notes.append(
                f"what only the check found is masked over {share:.0%} of the picture (up to "
                f"{frame_share:.0%} of frame {frame}): the attacking detector took it for faces; look "
                "at those frames"
            )
    return notes


def _area(box: tuple[int, int, int, int]) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])
