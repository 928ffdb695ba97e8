"""The attack on a video's output, frame by frame, before the frames around it are encoded.

One output frame a second is attacked by the verify package's Verifier (the same one photos
use). A face it finds becomes a seeded track (masked solid over a larger head, from the
back-fill before to the hold after) and the frame is attacked again, up to CHECK_ATTEMPTS
times; the first frame after that hold is attacked too, around what was found, so a face only
the attacker sees stays masked for as long as it keeps being found. A finding is a face: one
that could not be one (most of the frame, or around a face already masked many times its size)
is set aside and named in the report, never masked as a frame-sized blob. A finding where a
person switched a track off in the review (a consenting speaker, a shirt the attacker takes for a
face) stays bare, as they asked, and is listed in the check's `left_bare`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import numpy.typing as npt

from unseen.detect.base import iou_matrix
from unseen.types import Check, Detections, Finding, FindingKind, FloatArray, Image
from unseen.verify.protect import set_bare
from unseen.verify.verifier import Verifier, default_verifier
from unseen.video.painting import Masks

CHECKS_PER_SECOND = 1.0  # output frames the attacking detector looks at
CHECK_ATTEMPTS = 3  # a checked frame is masked harder and checked again at most twice
MAX_FACE_SHARE = 0.5  # a finding covering more of the frame than this is not a face
CONTAINS_FACE = 4.0  # nor is one that holds a masked face this many times smaller

Box = tuple[int, int, int, int]
Region = tuple[int, int, int, int]
# the frame's masks and the masked picture, with the mask area, for frame `index`
Prepare = Callable[[int], tuple[Image, Image, Masks, npt.NDArray[np.bool_]]]


class Checks:
    """Schedules, runs (on a thread of its own) and settles the checks of one clip."""

    def __init__(
        self,
        verifier: Verifier | None,
        every: int,
        width: int,
        height: int,
        seed: Callable[[int, Detections], None],
        opaque: bool = True,
        switched_off: Callable[[int], FloatArray] | None = None,
    ) -> None:
        self.verifier = verifier or default_verifier()
        self.opaque = opaque  # the style fills a face solid or with noise: geometry proves it
        self.every, self.width, self.height = every, width, height
        self.seed = seed  # makes seeded tracks of what a check found on a frame
        self.switched_off = switched_off  # where a person said to leave faces bare, by frame
        self.left_bare: dict[int, list[Finding]] = {}  # findings there, by frame (the last attempt's)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unseen-check")
        self.results: dict[int, Check] = {}  # the last check of each checked frame
        self.running: dict[int, tuple[Future[Check], int]] = {}  # frame -> running check, attempt
        self.follow_ups: dict[int, Region] = {}  # frames to check because one before found a face
        self.masked: dict[int, tuple[bytes, Image]] = {}  # the masked picture a check saw, by frame
        self.faces: dict[int, Detections] = {}  # the masks a check of a frame was given
        self.set_aside: list[Finding] = []  # findings that cannot be faces
        self.rounds = 1

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def due(self, index: int, last: int) -> list[int]:
        """The frames from `index` to `last` that are checked: one a second, and follow-ups."""
        first = -(-index // self.every) * self.every
        follow = [at for at in self.follow_ups if index <= at <= last]
        return sorted({*range(first, last + 1, self.every), *follow})

    def settle(self, at: int, prepare: Prepare, wait: bool, hold: int) -> bool | None:
        """Check frame `at` (start it, or take its result): True when settled, False when a
        finding changed the masks (seeded; check again), None while it runs and `wait` is off."""
        if at in self.results:
            return True
        if at not in self.running:
            self.running[at] = (self._submit(at, prepare), 1)
        future, attempt = self.running[at]
        if not (future.done() or wait):
            return None
        found = future.result()
        boxes = self._faces(at, found)
        if boxes and attempt < CHECK_ATTEMPTS:
            # seeded as in the run the person reviewed, switched-off ones too (they get the ids they
            # had there, and are followed up as there: the same frames are checked, the same ids
            # given), so the check of this frame again finds those where they are switched off
            self.seed(at, _detections(boxes))
            self._follow_up(at + hold + 1, boxes)
            self.running[at] = (self._submit(at, prepare), attempt + 1)
            self.rounds = max(self.rounds, attempt + 1)
            return False
        self.results[at] = found
        del self.running[at]
        self.follow_ups.pop(at, None)
        return True

    def cached(self, index: int, masks: Masks) -> Image | None:
        """The masked picture the last check of frame `index` saw, if its masks are these."""
        entry = self.masked.pop(index, None)
        return entry[1] if entry is not None and entry[0] == masks.signature() else None

    def _submit(self, at: int, prepare: Prepare) -> Future[Check]:
        original, masked, masks, area = prepare(at)
        self.masked[at] = (masks.signature(), masked)
        self.faces[at] = masks.faces
        opaque = np.full(len(masks.faces), self.opaque) | (masks.faces.sources == "check")
        # a follow-up only looks around what was found: at 4K a whole-frame attack takes seconds
        region = None if at % self.every == 0 else self.follow_ups.get(at)
        if region is None:
            return self.pool.submit(self.verifier.check, original, masked, masks.faces, area, opaque)
        x1, y1, x2, y2 = region
        crop = (slice(y1, y2), slice(x1, x2))
        faces = masks.faces.shifted(-x1, -y1)
        # contiguous copies: dlib takes no strided arrays
        part, masked_part = np.ascontiguousarray(original[crop]), np.ascontiguousarray(masked[crop])
        future = self.pool.submit(
            self.verifier.check, part, masked_part, faces, np.ascontiguousarray(area[crop]), opaque
        )
        return _shifted(future, x1, y1)

    def _faces(self, at: int, check: Check) -> list[Box]:
        """What a check found that could be a face; the rest is set aside."""
        found = [*check.redetected_boxes, *check.leaking_boxes]
        masked = self.faces.pop(at, Detections.empty())
        faces = [box for box in found if self._plausible(box, check, masked)]
        aside = [box for box in found if box not in faces]
        self.set_aside += [Finding(at, box) for box in aside]
        check.redetected_boxes = [b for b in check.redetected_boxes if b in faces]
        check.redetected = len(check.redetected_boxes)
        if self.switched_off is not None:
            set_bare(check, self.switched_off(at), at)
            self.left_bare[at] = check.left_bare
            faces = [box for box in faces if box in check.redetected_boxes or box in check.leaking_boxes]
        return faces

    def _plausible(self, box: Box, check: Check, masked: Detections) -> bool:
        """A face-sized box: not most of the frame, not a scene around a face masked already."""
        if box in check.leaking_boxes:
            return True  # a masked face the recognizer matched: it is one
        area = max(0, box[2] - box[0]) * max(0, box[3] - box[1])
        return area <= MAX_FACE_SHARE * self.width * self.height and not contains_smaller_face(box, masked)

    def _follow_up(self, at: int, boxes: list[Box]) -> None:
        """Check frame `at` around `boxes` (which may move meanwhile: 1.5 sizes each way)."""
        found = np.asarray(boxes, np.float32).reshape(-1, 4)
        if at in self.follow_ups:
            found = np.concatenate([found, np.asarray([self.follow_ups[at]], np.float32)])
        self.follow_ups[at] = _around(found, self.width, self.height)

    def findings(self) -> list[Finding]:
        """What the last check of each frame still found, by frame."""
        out = []
        for at, check in sorted(self.results.items()):
            out += [Finding(at, box, FindingKind.DETECTED) for box in check.redetected_boxes]
            out += [Finding(at, box, FindingKind.RECOGNIZABLE) for box in check.leaking_boxes]
        return out

    def total(self) -> Check:
        """The clip's check: frames with a face re-detected, every box, the closest distance."""
        check = Check(rounds=self.rounds)
        for found in self.results.values():
            check.redetected += bool(found.redetected)  # counted in frames
            check.redetected_boxes += found.redetected_boxes
            check.leaking_boxes += found.leaking_boxes
            check.recognizable_faces += found.recognizable_faces
            distances = [
                d for d in (check.min_embedding_distance, found.min_embedding_distance) if d is not None
            ]
            check.min_embedding_distance = min(distances, default=None)
            check.seconds += found.seconds
        check.redetected_boxes = check.redetected_boxes[:100]
        check.findings = self.findings()
        check.left_bare = [f for at in sorted(self.left_bare) for f in self.left_bare[at]]
        return check


def contains_smaller_face(box: Box, faces: Detections) -> bool:
    """Whether `box` holds the centre of a masked face CONTAINS_FACE times smaller: a scene, not a face."""
    if not len(faces):
        return False
    centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    inside = (
        (centres[:, 0] > box[0])
        & (centres[:, 0] < box[2])
        & (centres[:, 1] > box[1])
        & (centres[:, 1] < box[3])
    )
    area = max(1, (box[2] - box[0]) * (box[3] - box[1]))
    small = faces.widths * faces.heights * CONTAINS_FACE < area
    near = iou_matrix(np.asarray([box], np.float32), faces.boxes)[0] < 0.5
    return bool((inside & small & near).any())


def _around(boxes: npt.NDArray[np.float32], width: int, height: int) -> Region:
    """The part of the picture within 1.5 face sizes (at least 64 px) of every box."""
    size = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    reach = np.maximum(1.5 * size, 64.0)[:, None]
    low = (boxes[:, :2] - reach).min(axis=0).clip(0)
    high = (boxes[:, 2:] + reach).max(axis=0)
    return int(low[0]), int(low[1]), min(width, int(high[0])), min(height, int(high[1]))


def _detections(boxes: list[Box]) -> Detections:
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32))


def _shifted(future: Future[Check], dx: int, dy: int) -> Future[Check]:
    """The check of a part of a frame, its boxes moved back into the frame's pixels."""
    out: Future[Check] = Future()

    def done(f: Future[Check]) -> None:
        try:
            check = f.result()
        except BaseException as error:  # noqa: BLE001 - handed on to whoever waits for it
            out.set_exception(error)
            return
        check.redetected_boxes = [(a + dx, b + dy, c + dx, d + dy) for a, b, c, d in check.redetected_boxes]
        check.leaking_boxes = [(a + dx, b + dy, c + dx, d + dy) for a, b, c, d in check.leaking_boxes]
        out.set_result(check)

    future.add_done_callback(done)
    return out
