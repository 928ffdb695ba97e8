"""Text in video frames: looked for at a cadence, held between looks, moved with the face it is on.

The text detector looks at every `every`-th frame (about twice a second; on the bodies below the
tracked faces for `people` and `off`, the whole frame too for `all`). A frame between two looks
gets the regions of both: the earlier held, the later back-filled, so text is masked from the
first frame it is on (the clip's last frame is a look too, for the frames after the last one).
A region on a person rides with that person's face track (a name patch moves with its wearer);
other text stays where it was seen, covering where it was at both looks. Checked frames are
looked at again after masking: what the mode should mask and is still found is masked harder
around that frame, and after MAX_ROUNDS the clip is refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from unseen.errors import MissingExtra
from unseen.settings import Settings, TextMode
from unseen.text import protect
from unseen.text.model import DISTRIBUTION, EXTRA, TextDetector, text_available
from unseen.text.people import on_people
from unseen.text.protect import (
    GROW_STEP,
    MAX_ROUNDS,
    _uncovered,
    fill_text,
    find_text,
    find_text_near,
    mask_boxes,
    should_mask,
    text_area,
)
from unseen.types import Detections, FloatArray, Image, TextRecord, TextReport
from unseen.video.painting import Masks
from unseen.video.text_looks import (
    MOTION_PAD,
    SAME_TEXT_IOU,
    Look,
    faces_of,
    in_faces,
    int_box,
    iou,
    place,
    place_both,
    tie,
)
from unseen.video.text_worn import Shift, WornText

TEXT_PER_SECOND = 2.0  # looks a second; capped by the look-ahead so the next look is decoded
REMEMBER_LOOKS = 3  # a region missing from this many looks in a row is a new one when seen again

BoolArray = npt.NDArray[np.bool_]


class Buffered(Protocol):
    """A frame waiting in the pipeline's look-ahead buffer."""

    index: int

    def upright(self) -> Image: ...


@dataclass
class FrameText:
    """The text masks of one frame."""

    boxes: FloatArray
    grow: FloatArray

    def fill(self, pixels: Image) -> Image:
        return fill_text(pixels, self.boxes, self.grow)

    def areas(
        self, areas: tuple[BoolArray, BoolArray | None], shape: tuple[int, int]
    ) -> tuple[BoolArray, BoolArray | None]:
        """The painter's (black, noise) areas with the text black on top."""
        black = text_area(shape, self.boxes, self.grow)
        noise = areas[1] & ~black if areas[1] is not None else None
        return areas[0] | black, noise


@dataclass
class _Object:
    """One piece of text followed over looks, for the report."""

    record: TextRecord
    track: int | None
    box: FloatArray
    offset: FloatArray  # the box relative to its face, when on one
    last_look: int
    first: int
    last: int


@dataclass
class VideoText:
    """The text of one clip (one job): looks, held masks, checks, and the counts for the report."""

    mode: TextMode
    detector: TextDetector
    every: int
    start: int
    verify: bool
    looks: dict[int, Look | None] = field(default_factory=dict)
    extras: dict[int, Look] = field(default_factory=dict)  # what checks found, by checked frame
    objects: list[_Object] = field(default_factory=list)
    worn: WornText = field(default_factory=WornText)  # text seen on each face track
    # how far the picture moved from one frame to another (the tracker's; None: not known)
    camera: Shift | None = None
    failures: list[tuple[int, tuple[int, int, int, int]]] = field(default_factory=list)
    seconds: float = 0.0
    rounds: int = 0
    _look_number: int = 0

    def at(
        self,
        index: int,
        current: Buffered,
        masks: Masks,
        buffer: Sequence[Buffered],
        masks_at: Callable[[int], Masks],
        forget: bool = True,
    ) -> FrameText | None:
        """The text masks of frame `index` (None: none); looks at the frames it needs first."""
        clock = time.perf_counter()
        first = self.start + (index - self.start) // self.every * self.every
        boxes: list[FloatArray] = []
        grows: list[FloatArray] = []
        for at in (first, _next_look(first + self.every, first, index, buffer)):
            look = self._look(at, index, current, buffer, masks_at)
            if look is not None and self.mode is not TextMode.OFF:
                placed, grow = place_both(look, masks, self._shift(at, index))
                boxes.append(placed)
                grows.append(grow * (1.0 if at == index else MOTION_PAD))
        for at, extra in self.extras.items():
            if abs(at - index) <= self.every:
                placed, grow = place_both(extra, masks, self._shift(at, index))
                boxes.append(placed)
                grows.append(grow)
        if self.mode is not TextMode.OFF:
            worn, grow = self.worn.on(index, masks, self._shift, 2 * self.every)
            boxes.append(worn)
            grows.append(grow)
        if forget:  # the frame is written: looks before it are done with
            self._forget(first)
        self.seconds += time.perf_counter() - clock
        if not boxes or not sum(len(b) for b in boxes):
            return None
        return FrameText(np.concatenate(boxes).astype(np.float32), np.concatenate(grows).astype(np.float32))

    def check(
        self,
        picture: Buffered,
        masked: Image,
        masks: Masks,
        buffer: Sequence[Buffered],
        masks_at: Callable[[int], Masks],
    ) -> Image:
        """Frame `index` masked for its check: text masked, looked at again, masked harder until
        the detector finds nothing the mode masks; what is still found after MAX_ROUNDS is kept
        for the refusal."""
        index, original = picture.index, picture.upright()
        text = self.at(index, picture, masks, buffer, masks_at, forget=False)
        out = text.fill(masked) if text is not None else masked
        if not self.verify or self.mode is TextMode.OFF:
            return out
        clock = time.perf_counter()
        faces = faces_of(masks)
        face_area = (masked != original).any(axis=2)
        shape = original.shape
        for round_ in range(1, MAX_ROUNDS + 1):
            self.rounds = max(self.rounds, round_)
            under = face_area.copy()
            if text is not None:
                under |= text_area(shape, text.boxes, text.grow)
            if index in self.extras:
                extra = self.extras[index]
                under |= text_area(shape, extra.boxes, extra.grow)
            # elsewhere the frame is as the look saw it; the look was not on this frame itself
            # (it was held or back-filled here), so a frame between looks is looked at whole
            if protect.RECHECK and (index in self.looks or round_ > 1):
                painted = self._painted(index, text, masks, shape)
                again = find_text_near(out, faces, self.mode, self.detector, painted)
            elif index in self.looks:
                # this frame was looked at: but for its masks, the masked frame is the one the
                # look saw, and text under the faces' masks does not count, so only the crops
                # holding text masks are looked at again (a whole second look cost 0.6-3 s a
                # checked frame at 1080p-2560p, a third of the clip's time on the shared clips)
                again = find_text(out, faces, self.mode, self.detector, touching=self._masked(index, text))
            else:
                again = find_text(out, faces, self.mode, self.detector)
            again = again[should_mask(again, faces, self.mode, shape)]
            left = again[_uncovered(again.boxes, under)]
            if len(left) == 0:
                break
            if round_ == MAX_ROUNDS:
                self.failures += [(index, int_box(b)) for b in left.boxes]
                break
            self._add_extra(index, left, faces, masks, GROW_STEP**round_)
            self._count(index, left, on_people(left, faces, shape), np.ones(len(left), bool), masks)
            extra = self.extras[index]
            out = fill_text(out, place(extra, masks), extra.grow)
        self.seconds += time.perf_counter() - clock
        return out

    def _painted(
        self, index: int, text: FrameText | None, masks: Masks, shape: tuple[int, ...]
    ) -> FloatArray:
        """The text masks on frame `index` as painted (padded, grown): the check's windows."""
        boxes: list[tuple[int, int, int, int]] = []
        if text is not None:
            boxes += mask_boxes(shape, text.boxes, text.grow)
        if index in self.extras:
            extra = self.extras[index]
            boxes += mask_boxes(shape, place(extra, masks), extra.grow)
        return np.asarray(boxes, np.float32).reshape(-1, 4)

    def _masked(self, index: int, text: FrameText | None) -> FloatArray:
        """The text masks on frame `index`: held and back-filled ones, and what checks added."""
        boxes = [text.boxes] if text is not None else []
        if index in self.extras:
            boxes.append(self.extras[index].boxes)
        return np.concatenate(boxes).astype(np.float32) if boxes else np.empty((0, 4), np.float32)

    def report(self) -> TextReport:
        """Counts over the text followed through the clip: each piece once, however many frames."""
        regions = [o.record for o in self.objects]
        people = [r for r in regions if r.on_person]
        others = [r for r in regions if not r.on_person]
        return TextReport(
            mode=self.mode.value,
            regions=regions,
            on_people_found=len(people),
            on_people_masked=sum(r.masked for r in people),
            on_people_left=sum(not r.masked for r in people),
            other_found=len(others),
            other_masked=sum(r.masked for r in others),
            other_left=sum(not r.masked for r in others),
            redetected=len(self.failures),
            redetected_boxes=[b for _, b in self.failures],
            rounds=self.rounds,
        )

    def refusal(self) -> str | None:
        """Why the clip is refused for its text (None: it is not)."""
        if not self.failures:
            return None
        where = ", ".join(f"frame {f} at ({b[0]},{b[1]})-({b[2]},{b[3]})" for f, b in self.failures[:5])
        return (
            f"verification still finds {len(self.failures)} unmasked text region(s) the --text "
            f"{self.mode.value} mode masks after {MAX_ROUNDS} rounds: {where}; nothing written "
            "(--force writes it marked unverified)"
        )

    def _look(
        self,
        at: int,
        index: int,
        current: Buffered,
        buffer: Sequence[Buffered],
        masks_at: Callable[[int], Masks],
    ) -> Look | None:
        if at in self.looks:
            return self.looks[at]
        pixels = current.upright() if at == index else _buffered(buffer, at)
        if pixels is None:
            return None  # past the clip's end, or already gone: nothing to hold from there
        masks = masks_at(at)
        faces = faces_of(masks)
        found = find_text(pixels, faces, self.mode, self.detector)
        found = found[~in_faces(found.boxes, faces.boxes)]
        shape = pixels.shape
        person = on_people(found, faces, shape)
        chosen = should_mask(found, faces, self.mode, shape)
        self._count(at, found, person, chosen, masks)
        look = tie(at, found[chosen], faces, masks, np.ones(int(chosen.sum()), np.float32))
        self.looks[at] = look
        self.worn.remember(look, self._look_number)
        return look

    def _shift(self, start: int, end: int) -> FloatArray | None:
        """How far the picture moved from frame `start` to `end`, when the tracker knows."""
        if start == end or self.camera is None:
            return None
        moved = self.camera(min(start, end), max(start, end))
        return None if moved is None else np.asarray(moved if start < end else -moved, np.float32)

    def _add_extra(self, index: int, left: Detections, faces: Detections, masks: Masks, grow: float) -> None:
        add = tie(index, left, faces, masks, np.full(len(left), grow, np.float32))
        old = self.extras.get(index)
        if old is not None:
            add = Look(
                index,
                np.concatenate([old.boxes, add.boxes]),
                [*old.tracks, *add.tracks],
                np.concatenate([old.grow * GROW_STEP, add.grow]),
                np.concatenate([old.anchors, add.anchors]),
            )
        self.extras[index] = add
        self.worn.remember(add, self._look_number)

    def _count(self, at: int, found: Detections, person: BoolArray, chosen: BoolArray, masks: Masks) -> None:
        """Follow each region from look to look: one record per piece of text."""
        self._look_number += 1
        tied = tie(at, found, faces_of(masks), masks, np.ones(len(found), np.float32))
        offsets = tied.offsets
        for i, box in enumerate(found.boxes):
            match = self._match(box, tied.tracks[i], offsets[i])
            if match is None:
                record = TextRecord(
                    int_box(box), round(float(found.scores[i]), 3), bool(person[i]), bool(chosen[i])
                )
                self.objects.append(
                    _Object(record, tied.tracks[i], box.copy(), offsets[i].copy(), self._look_number, at, at)
                )
                continue
            match.record.on_person |= bool(person[i])
            match.record.masked |= bool(chosen[i])
            match.box, match.offset, match.last_look = box.copy(), offsets[i].copy(), self._look_number
            match.first, match.last = min(match.first, at), max(match.last, at)

    def _match(self, box: FloatArray, track: int | None, offset: FloatArray) -> _Object | None:
        best, best_iou = None, SAME_TEXT_IOU
        for obj in self.objects:
            if self._look_number - obj.last_look > REMEMBER_LOOKS:
                continue
            # on the same wearer, compared where it sits on them: the wearer moved in between
            same = track is not None and obj.track == track
            overlap = iou(offset, obj.offset) if same else iou(box, obj.box)
            if overlap > best_iou:
                best, best_iou = obj, overlap
        return best

    def _forget(self, first: int) -> None:
        for at in [a for a in self.looks if a < first]:
            del self.looks[at]
        for at in [a for a in self.extras if a < first - self.every]:
            del self.extras[at]
        self.worn.forget(self._look_number)


def video_text(
    settings: Settings, every: int, start: int, detector: TextDetector | None = None
) -> VideoText | None:
    """The clip's text step for `settings.text` (None: off and no text detector installed).

    Raises MissingExtra when a mode that masks text is asked for without the text detector.
    """
    if detector is None:
        if not text_available():
            if settings.text is TextMode.OFF:
                return None
            raise MissingExtra(DISTRIBUTION, EXTRA)
        from unseen.text.model import default_text_detector

        detector = default_text_detector()
    return VideoText(settings.text, detector, max(1, every), start, settings.verify)


def text_every(fps: float, reach: int, check_every: int = 0) -> int:
    """Frames between looks: about TEXT_PER_SECOND a second, never past the look-ahead (the next
    look's frame must be decoded when a frame before it is masked), and a divisor of the checks'
    spacing when one is near: a checked frame is then a looked-at one, re-checked around its masks."""
    most = int(max(1, min(round(fps / TEXT_PER_SECOND), reach)))
    divisors = [d for d in range(most, 0, -1) if check_every and check_every % d == 0]
    return divisors[0] if divisors and divisors[0] * 2 > most else most


def _next_look(at: int, first: int, index: int, buffer: Sequence[Buffered]) -> int:
    """The look after `first`: at the cadence, or on the clip's last frame when the clip ends
    before it, so the frames after the last look are not held from one look alone (the wearer
    moves on; the face track carries the mask only as well as the face box follows)."""
    last = max(index, buffer[-1].index) if buffer else index  # frame `index` may be out of it
    return last if first < last < at else at


def _buffered(buffer: Sequence[Buffered], at: int) -> Image | None:
    if not buffer:
        return None
    position = at - buffer[0].index
    if not 0 <= position < len(buffer):
        return None
    picture = buffer[position]
    return picture.upright() if picture.index == at else None


__all__ = ["FrameText", "VideoText", "text_every", "video_text"]
