"""Tie face detections on sampled frames into tracks, and say where every face is on every frame.

Detection runs on some frames only (every k-th) and misses faces now and then; the tracker turns
those sparse, flickering detections into a box on every frame a face may be on:
- between two detections of a track: linear interpolation, grown by half the displacement;
- after a track's last detection: held (moved along its velocity) for `hold` frames;
- before its first detection: back-filled for `backfill` frames, so a face is masked from the
  first frame it appears in, not from the first frame the detector happened to see it.
Every uncertain box is grown with the motion and the gap: when unsure, mask.
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
    box: FloatArray, velocity: FloatArray | None, frames: int, most: float = MAX_GROW
) -> tuple[FloatArray, FloatArray]:
    """Where a box seen `frames` frames away probably is (negative frames: earlier), grown for
    doubt by at most `most` face sizes a side; and the box moved, without the doubt."""
    size = max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    if velocity is None:
        velocity, rate = np.zeros(4, np.float32), UNKNOWN_SPEED
    else:
        rate = GROW_PER_FRAME + 0.5 * float(np.abs(velocity).max()) / size
    moved = box + velocity * frames
    doubt = min(most, rate * abs(frames)) * size
    # the box also covers where it was seen: a guess is never worse than holding still
    union = np.concatenate([np.minimum(moved[:2], box[:2]), np.maximum(moved[2:], box[2:])])
    return _grown(union, doubt), moved.astype(np.float32)


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

    def update(self, index: int, detections: Detections) -> None:
        """Add the detections of frame `index` (called in increasing frame order)."""
        alive = [t for t in self.tracks if index - t.last <= self.hold]
        unmatched = list(range(len(detections)))
        if alive and len(detections):
            predicted = np.stack([_predict(t, index) for t in alive])
            gaps = np.asarray([index - t.last for t in alive], np.float32)
            score = iou_matrix(predicted, detections.boxes) + _near(predicted, detections.boxes, gaps)
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
        for rank, box in enumerate(detections.boxes):
            key = index * IDS_PER_FRAME + min(SEED_RANK + rank, IDS_PER_FRAME - 1)
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

    def forget_before(self, index: int) -> None:
        """Drop what frames before `index` no longer need: keeps memory flat on long videos."""
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
            return _guess(track.keys[first], track.velocity(False), index - first, most)
        if last < index <= last + self.hold:
            return _guess(track.keys[last], track.velocity(True), index - last, most)
        if first < index < last:
            before = max(f for f in track.keys if f < index)
            after = min(f for f in track.keys if f > index)
            a, b = track.keys[before], track.keys[after]
            w = (index - before) / (after - before)
            size = max(float(a[2] - a[0]), float(b[2] - b[0]), 1.0)
            # half the displacement covers a face that did not move in a straight line
            margin = 0.5 * np.abs(b - a) + GROW_PER_FRAME * size * min(index - before, after - index)
            core = (a + (b - a) * w).astype(np.float32)
            return _grown(core, margin), core
        return None


def _predict(track: Track, index: int) -> FloatArray:
    """The track's last box moved along its velocity to frame `index`."""
    velocity = track.velocity(True)
    box = track.keys[track.last]
    return box if velocity is None else box + velocity * (index - track.last)


def _near(a: FloatArray, b: FloatArray, gaps: FloatArray) -> FloatArray:
    """A score for detections near a track's guessed box: fast small faces have IoU 0 across a gap."""
    ca = (a[:, None, :2] + a[:, None, 2:]) / 2
    cb = (b[None, :, :2] + b[None, :, 2:]) / 2
    size_b = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])[None, :]
    reach = size_b * (1 + gaps[:, None])  # a face may move up to its own size a frame
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
