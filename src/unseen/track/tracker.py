"""Tie face detections on sampled frames into tracks, and say where every face is on every frame.

Detection runs on some frames only (every k-th) and misses faces now and then; the tracker turns
those sparse, flickering detections into a box on every frame a face may be on:
- between two detections of a track: linear interpolation, grown by half the displacement;
- after a track's last detection: held (moved along its velocity) for `hold` frames;
- before its first detection: back-filled for `backfill` frames, so a face is masked from the
  first frame it appears in, not from the first frame the detector happened to see it.
Every uncertain box is grown with the motion and the gap: when unsure, mask.

When the picture itself moves (a pan, a tilt), the detector says by how much (`camera`, px a
frame between two updates): a face seen once, held or back-filled then moves with the picture,
and only its motion against the picture counts as doubt. A crowd panned across at 24 px a frame
was left bare on 37 of 291 face-frames and masked over 43% of the picture beyond its faces when
every held face stood still and grew with the whole pan (tests/test_video_pan.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from unseen.detect.base import iou_matrix
from unseen.types import Detections, FaceRecord, FloatArray

GROW_PER_FRAME = 0.04  # share of the face size a box grows per frame it is guessed, not seen
UNKNOWN_SPEED = 0.2  # the same, for a face seen once (no velocity yet): it may be moving fast
MAX_GROW = 1.5  # never grow a guessed box by more than this many face sizes on each side
SIZE_CHANGE = 1.8  # a detection this much smaller or larger than a track's face is another face
IDS_PER_FRAME = 1000  # track id = first frame x this + its rank there: the same on every run
SEED_RANK = 500  # ranks of tracks the output check adds start here
# A face the check found is where the check saw it: around that frame it grows with doubt at
# the usual rate but never past this many face sizes a side (not MAX_GROW: a seed has no
# velocity, and UNKNOWN_SPEED over a half-second hold made a frame-sized blob of a big one)
SEED_MAX_GROW = 0.25
# between two detections the camera's path is known only at looks: a pan that is not straight
# in between is covered by this share of its shift
CAMERA_DOUBT = 0.2
# of its size a frame: the most a face moves from where its track predicts it, when the picture's
# own shift is known (else a whole size a frame: the shift is in the face's motion). A whole size
# let a track seen 12 frames ago in a pan take any face of the crowd 13 sizes away; a 36 px face
# walking 12 px a frame is a third of its size (tests/test_video_small.py)
FACE_SPEED = 0.35


@dataclass
class Track:
    """One face over time: its detected boxes by frame index."""

    id: int
    keys: dict[int, FloatArray] = field(default_factory=dict)
    score: float = 0.0
    source: str = ""
    record: FaceRecord | None = None  # what the report says of it; `last` kept up to date
    backfill: int = 0  # frames before its first detection it is masked on
    seeded: bool = False  # placed by the output check, not the detector: masked solid and larger

    @property
    def first(self) -> int:
        return min(self.keys)

    @property
    def last(self) -> int:
        return max(self.keys)

    def velocity(self, at_end: bool) -> FloatArray | None:
        """Box motion per frame between the two detections at the start (or end) of the track."""
        frames = sorted(self.keys)
        if len(frames) < 2:
            return None
        a, b = (frames[-2], frames[-1]) if at_end else (frames[0], frames[1])
        return ((self.keys[b] - self.keys[a]) / (b - a)).astype(np.float32)


def _grown(box: FloatArray, margin: FloatArray | float) -> FloatArray:
    """`box` with each side moved out by `margin` pixels (one value, or one per side)."""
    m = np.broadcast_to(np.asarray(margin, np.float32), (4,))
    return (box + np.asarray([-1, -1, 1, 1], np.float32) * m).astype(np.float32)


def _guess(
    box: FloatArray,
    velocity: FloatArray | None,
    frames: int,
    most: float = MAX_GROW,
    camera: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Where a box seen `frames` frames away probably is (negative frames: earlier), grown for
    doubt by at most `most` face sizes a side; and the box moved, without the doubt. `camera`:
    how far the picture moved over those frames (None: not known)."""
    size = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    still = box if camera is None else box + np.tile(camera, 2)  # where the picture took it
    if velocity is None:
        moved, rate = still, UNKNOWN_SPEED
    else:
        moved = _sized(box + velocity * frames, box)
        # only the motion against the picture is doubt: a face in a pan moves as it does
        own = velocity if camera is None or not frames else velocity - np.tile(camera, 2) / frames
        rate = GROW_PER_FRAME + 0.5 * float(np.abs(own).max()) / size
    doubt = min(most, rate * abs(frames)) * size
    # the box also covers where it would be standing still in the picture: a guess is never
    # worse than that
    union = np.concatenate([np.minimum(moved[:2], still[:2]), np.maximum(moved[2:], still[2:])])
    return _grown(union, doubt), moved.astype(np.float32)


def _sized(moved: FloatArray, box: FloatArray) -> FloatArray:
    """`moved` with its size kept within SIZE_CHANGE of `box`'s: a size that shrank between two
    detections, carried along a half-second hold, turned boxes inside out."""
    centre = (moved[:2] + moved[2:]) / 2
    size = np.clip(
        moved[2:] - moved[:2], (box[2:] - box[:2]) / SIZE_CHANGE, (box[2:] - box[:2]) * SIZE_CHANGE
    )
    return np.concatenate([centre - size / 2, centre + size / 2]).astype(np.float32)


class Tracker:
    """IoU tracker over detection frames; `boxes_at` answers for any frame once look-ahead is in."""

    def __init__(
        self, hold: int, backfill: int, min_iou: float = 0.1, small_backfill: int = 0, small_px: float = 0.0
    ) -> None:
        """Faces first seen smaller than `small_px` (high) are back-filled `small_backfill` frames,
        the others `backfill`: small faces may be looked for less often than big ones."""
        self.hold = hold
        self.big_backfill, self.small_backfill, self.small_px = backfill, small_backfill, small_px
        self.backfill = max(backfill, small_backfill)  # how far `boxes_at` needs to look ahead
        self.min_iou = min_iou
        self.tracks: list[Track] = []
        self.records: list[FaceRecord] = []
        # frame -> (stretch, where the picture has moved): frames of one stretch of known camera
        # shift, each stretch from its own zero
        self.path: dict[int, tuple[int, FloatArray]] = {}
        self.stretches = 0
        self.updated: int | None = None

    def update(self, index: int, detections: Detections, camera: tuple[float, float] | None = None) -> None:
        """Add the detections of frame `index` (called in increasing frame order); `camera`: the
        picture's shift a frame since the previous update, when the detector knows it."""
        self._follow(index, camera)
        alive = [t for t in self.tracks if index - t.last <= self.hold]
        unmatched = list(range(len(detections)))
        if alive and len(detections):
            predicted = np.stack([self._predict(t, index) for t in alive])
            gaps = np.asarray([index - t.last for t in alive], np.float32)
            # how far a face may go from its prediction: less when the picture's shift is known
            speed = [FACE_SPEED if self.camera(t.last, index) is not None else 1.0 for t in alive]
            reach = gaps * np.asarray(speed, np.float32)
            score = iou_matrix(predicted, detections.boxes) + _near(predicted, detections.boxes, reach)
            score = np.where(_alike(predicted, detections.boxes), score, 0.0)
            taken_tracks: set[int] = set()
            for flat in np.argsort(-score, axis=None):
                ti, di = np.unravel_index(flat, score.shape)
                if score[ti, di] < self.min_iou:
                    break
                if ti in taken_tracks or di not in unmatched:
                    continue
                alive[ti].keys[index] = detections.boxes[di].copy()
                alive[ti].score = max(alive[ti].score, float(detections.scores[di]))
                record = alive[ti].record
                if record is not None:
                    record.last = index + self.hold
                taken_tracks.add(int(ti))
                unmatched.remove(int(di))
        # ids by position in time, not by count: tracks an earlier frame gained on a second
        # round (from the verifier) do not renumber later ones, so a person's "track 4 off" holds
        for rank, di in enumerate(unmatched):
            small = float(detections.heights[di]) < self.small_px
            track = Track(
                index * IDS_PER_FRAME + min(rank, IDS_PER_FRAME - 1),
                {index: detections.boxes[di].copy()},
                float(detections.scores[di]),
                str(detections.sources[di]),
                backfill=self.small_backfill if small else self.big_backfill,
            )
            track.record = FaceRecord(
                int_box(detections.boxes[di]),
                track.score,
                track.source,
                track=track.id,
                first=max(0, index - track.backfill),
                last=index + self.hold,
            )
            self.tracks.append(track)
            self.records.append(track.record)

    def seed(self, index: int, detections: Detections) -> None:
        """Faces the output check found on frame `index` (which `update` may have passed): each
        is a track of its own, back-filled and held like a detection, its source "check"."""
        # a frame checked again after masking may seed more: ranks go on from the seeds it has
        taken = {r.track for r in self.records}
        rank = SEED_RANK
        for box in detections.boxes:
            while index * IDS_PER_FRAME + rank in taken and rank < IDS_PER_FRAME - 1:
                rank += 1
            key = index * IDS_PER_FRAME + rank
            taken.add(key)
            track = Track(key, {index: box.copy()}, 1.0, "check", backfill=self.big_backfill, seeded=True)
            self.tracks.append(track)
            track.record = FaceRecord(
                int_box(box),
                1.0,
                "check",
                track=track.id,
                first=max(0, index - track.backfill),
                last=index + self.hold,
            )
            self.records.append(track.record)

    def switched_off(self, index: int, off: frozenset[int]) -> FloatArray:
        """Where the tracks in `off` are on frame `index`: each box and each box without the
        doubt, (2n, 4). A person switched them off: what the check finds there stays bare."""
        if not off:
            return np.empty((0, 4), np.float32)
        found = [b for t in self.tracks if t.id in off and (b := self._box(t, index)) is not None]
        if not found:
            return np.empty((0, 4), np.float32)
        return np.concatenate([np.stack([b[0] for b in found]), np.stack([b[1] for b in found])])

    def boxes_at(self, index: int, off: frozenset[int] = frozenset()) -> Detections:
        """Every face box on frame `index` but those of tracks in `off` (source "track", or
        "check" for seeded ones); needs `update` for all detection frames up to index + backfill."""
        return self.faces_at(index, off)[0]

    def faces_at(
        self, index: int, off: frozenset[int] = frozenset()
    ) -> tuple[Detections, list[Track], FloatArray]:
        """`boxes_at`, the track of each box, and each box without the doubt (where the face
        most likely is: what the mask covers beyond that is the price of not knowing)."""
        live = [t for t in self.tracks if t.id not in off]
        found = [(t, b) for t in live if (b := self._box(t, index)) is not None]
        if not found:
            return Detections.empty(), [], np.empty((0, 4), np.float32)
        sources = np.asarray(["check" if t.seeded else "track" for t, _ in found], dtype="<U16")
        boxes = np.stack([b[0] for _, b in found])
        cores = np.stack([b[1] for _, b in found])
        return Detections(boxes, np.ones(len(found), np.float32), sources), [t for t, _ in found], cores

    def camera(self, start: int, end: int) -> FloatArray | None:
        """How far the picture moved from frame `start` to `end` (None: not known all the way)."""
        a, b = self.path.get(start), self.path.get(end)
        if a is None or b is None or a[0] != b[0]:
            return None
        return (b[1] - a[1]).astype(np.float32)

    def _follow(self, index: int, camera: tuple[float, float] | None) -> None:
        """Extend the picture's path from the previous update to `index`."""
        last, self.updated = self.updated, index
        if camera is None or last is None or index <= last:
            return
        if last not in self.path:
            self.stretches += 1
            self.path[last] = (self.stretches, np.zeros(2, np.float32))
        stretch, start = self.path[last]
        step = np.asarray(camera, np.float32)
        for f in range(last + 1, index + 1):
            self.path[f] = (stretch, (start + step * (f - last)).astype(np.float32))

    def _predict(self, track: Track, index: int) -> FloatArray:
        """The track's last box moved to frame `index`: along its velocity, or with the picture."""
        velocity = track.velocity(True)
        box = track.keys[track.last]
        if velocity is not None:
            return box + velocity * (index - track.last)
        shift = self.camera(track.last, index)
        return box if shift is None else box + np.tile(shift, 2)

    def forget_before(self, index: int) -> None:
        """Drop what frames before `index` no longer need: keeps memory flat on long videos."""
        for f in [f for f in self.path if f < index - 10 * (self.hold + self.backfill + 1)]:
            del self.path[f]
        self.tracks = [t for t in self.tracks if t.last + self.hold >= index]
        for t in self.tracks:
            old = [f for f in t.keys if f < index]
            for f in sorted(old)[:-2]:  # keep two: the box before `index` and a velocity
                del t.keys[f]

    def _box(self, track: Track, index: int) -> tuple[FloatArray, FloatArray] | None:
        """The box masked on frame `index` and the one without doubt, or None off the track."""
        first, last = track.first, track.last
        most = SEED_MAX_GROW if track.seeded else MAX_GROW
        if index in track.keys:
            return track.keys[index], track.keys[index]
        if first - track.backfill <= index < first:
            shift = self.camera(first, index)
            return _guess(track.keys[first], track.velocity(False), index - first, most, shift)
        if last < index <= last + self.hold:
            shift = self.camera(last, index)
            return _guess(track.keys[last], track.velocity(True), index - last, most, shift)
        if first < index < last:
            before = max(f for f in track.keys if f < index)
            after = min(f for f in track.keys if f > index)
            a, b = track.keys[before], track.keys[after]
            w = (index - before) / (after - before)
            size = max(float(a[2] - a[0]), float(b[2] - b[0]), 1.0)
            # half the displacement covers a face that did not move in a straight line; of a
            # displacement the picture's own shift explains, a share (the pan's own curve)
            shift = self.camera(before, after)
            moved = np.abs(b - a) if shift is None else np.abs(b - a - np.tile(shift, 2))
            panned = 0.0 if shift is None else CAMERA_DOUBT * np.abs(np.tile(shift, 2))
            margin = 0.5 * moved + panned + GROW_PER_FRAME * size * min(index - before, after - index)
            core = (a + (b - a) * w).astype(np.float32)
            return _grown(core, margin), core
        return None


def _near(a: FloatArray, b: FloatArray, sizes: FloatArray) -> FloatArray:
    """A score for detections near a track's guessed box, up to 1 + `sizes` face sizes from it
    (one per track): fast small faces have IoU 0 across a gap."""
    ca = (a[:, None, :2] + a[:, None, 2:]) / 2
    cb = (b[None, :, :2] + b[None, :, 2:]) / 2
    size_b = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[None, :]
    reach = size_b * (1 + sizes[:, None])
    dist = np.linalg.norm(ca - cb, axis=2)
    closeness = np.where(dist < reach, 0.1 * (2 - dist / np.maximum(reach, 1e-6)), 0.0)
    return closeness.astype(np.float32)


def _alike(a: FloatArray, b: FloatArray) -> np.ndarray:
    """Which detections are of a size a track's face can have a few frames on: a fragment of a
    face (a quarter of it, found where the face has moved out of the crop) is not the face, and
    taking it for the face moved the mask onto a corner of it (bench_video.py, 4K)."""
    side_a = np.maximum(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1])[:, None]
    side_b = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[None, :]
    ratio = side_b / np.maximum(side_a, 1e-6)
    return np.asarray((ratio >= 1 / SIZE_CHANGE) & (ratio <= SIZE_CHANGE))


def int_box(box: FloatArray) -> tuple[int, int, int, int]:
    """A box in whole pixels, as the report records it."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    return x1, y1, x2, y2
