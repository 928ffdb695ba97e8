"""A long video cut at its keyframes into segments: the timeline read from packets, the plan.

Each segment starts at a keyframe, so it decodes on its own on any machine; it is masked into a
video-only part (`anonymize_video(..., span=segment.span())`) and the parts are joined back
losslessly by `unseen.media.segment_join`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import av
import av.error

from unseen.errors import UnreadableInput, UnsupportedInput
from unseen.media import video_streams as streams
from unseen.media.video_io import LOCAL_ONLY, local

SEGMENT_SECONDS = 60.0  # a span of about this much video per task; see bench/bench_batch.py


class Keyframe(NamedTuple):
    frame: int  # the frame's place in display order, from 0
    pts: int  # in the video stream's time base


@dataclass(frozen=True)
class Timeline:
    """Frame times of a video's picture stream, from its packets alone (nothing decoded)."""

    time_base: Fraction
    pts: list[int]  # every frame's timestamp, in display order
    cuts: list[Keyframe]  # keyframes a segment can start at (the first frame too)
    end_pts: int  # where the last frame ends
    unsplittable: str | None = None  # why the video must stay whole, if it must

    @property
    def frames(self) -> int:
        return len(self.pts)

    @property
    def seconds(self) -> float:
        return float((self.end_pts - self.pts[0]) * self.time_base) if self.pts else 0.0


@dataclass(frozen=True)
class Span:
    """A stretch of a clip, for one segment of a split job: the frames with
    start_pts <= pts < end_pts, the first of which (a keyframe) is frame `first` of the clip."""

    first: int
    start_pts: int
    end_pts: int | None = None


@dataclass(frozen=True)
class Segment:
    """Frames start_pts <= pts < end_pts (None: to the end) of a video, from frame `first` on."""

    first: int
    start_pts: int
    end_pts: int | None
    frames: int
    digest: str  # of the segment's frame times, so the join can prove none moved

    def span(self) -> Span:
        return Span(first=self.first, start_pts=self.start_pts, end_pts=self.end_pts)


def read_timeline(src: Path) -> Timeline:
    """Demux the picture stream's packets of `src` (no decoding): frame times and clean cut points.

    A keyframe is a cut point only when no packet on one side of it in decode order shows on the
    other side of it in display order (a closed GOP): then the frames before and after it decode
    apart. A stream with missing or repeated timestamps is never cut.
    """
    try:
        with av.open(local(src), metadata_errors="replace", options=LOCAL_ONLY) as container:
            video = streams.main_video(container)
            if video is None:
                raise UnsupportedInput(f"{src}: no video stream")
            time_base = video.time_base or Fraction(1, 90000)
            order: list[int] = []  # pts in decode order
            keys: list[int] = []  # positions in `order` of keyframes
            durations: list[int] = []
            missing = False
            for packet in container.demux(video):
                if not packet.size:
                    continue
                if packet.pts is None:
                    missing = True
                    continue
                if packet.is_keyframe:
                    keys.append(len(order))
                order.append(packet.pts)
                durations.append(packet.duration or 0)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as error:
        raise UnreadableInput(f"{src}: not a readable video ({error})") from error
    if not order:
        raise UnreadableInput(f"{src}: no video packets")
    pts = sorted(order)
    steps = [b - a for a, b in zip(pts, pts[1:], strict=False)]
    last = durations[order.index(pts[-1])] or (sorted(steps)[len(steps) // 2] if steps else 1)
    reason = None
    if missing:
        reason = "some video packets have no timestamp"
    elif steps and min(steps) <= 0:
        reason = "two video packets share a timestamp"
    cuts = [Keyframe(0, pts[0])]
    if reason is None:
        before = _running(order, max)  # highest pts up to each decode position
        after = _running(order[::-1], min)[::-1]  # lowest pts from each decode position on
        for at in keys:
            crossed = at + 1 < len(order) and after[at + 1] < order[at]
            if at == 0 or before[at - 1] >= order[at] or crossed:
                continue  # an open GOP: pictures cross this keyframe
            cuts.append(Keyframe(_index(pts, order[at]), order[at]))
    return Timeline(Fraction(time_base), pts, cuts, pts[-1] + last, reason)


def keyframes(src: Path) -> list[Keyframe]:
    """(frame index, pts) of every keyframe of `src` a segment can start at, the first frame first."""
    return read_timeline(src).cuts


def plan_segments(timeline: Timeline, seconds: float = SEGMENT_SECONDS) -> list[Segment]:
    """Spans of about `seconds` each, cut at clean keyframes; one span when the video is short.

    A cut is made at the first cut point `seconds` or more after the last one, unless less than
    half of `seconds` would be left after it: a clip up to 1.5 x `seconds` long stays whole.
    """
    if timeline.unsplittable or seconds <= 0 or timeline.seconds < 1.5 * seconds:
        starts = [timeline.cuts[0]]
    else:
        step = round(Fraction(seconds) / timeline.time_base)
        starts = [timeline.cuts[0]]
        for cut in timeline.cuts[1:]:
            if cut.pts - starts[-1].pts >= step and timeline.end_pts - cut.pts >= step / 2:
                starts.append(cut)
    out = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else None
        frames = timeline.pts[start.frame : stop.frame if stop else None]
        out.append(Segment(start.frame, start.pts, stop.pts if stop else None, len(frames), _digest(frames)))
    return out


def _digest(pts: Iterable[int]) -> str:
    return hashlib.sha256(",".join(map(str, pts)).encode()).hexdigest()[:32]


def _index(sorted_pts: list[int], pts: int) -> int:
    import bisect

    return bisect.bisect_left(sorted_pts, pts)


def _running(values: list[int], pick: Any) -> list[int]:
    out, best = [], None
    for value in values:
        best = value if best is None else pick(best, value)
        out.append(best)
    return out
