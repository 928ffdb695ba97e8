"""A long video as several tasks: planned at its keyframes, masked segment by segment, joined.

Nothing here is Ray's: any engine that can run tasks elsewhere (unseen.scale.ray is one) uses it.

What runs on a worker: `video_task` reads the video's packets (no decoding) and either does a
short video whole, as any file, or returns its segments; `segment_task` masks one segment into a
video-only part; `join_task` remuxes the parts with the original audio into the output, and merges
the parts' reports into one. What the driver keeps: a `SplitVideo` per video in hand.

Part files are temporary files in the output's folder, named by the driver (its host and pid), so
no worker's clean-up takes one for a leftover while the driver waits for the others; the driver
removes them whatever happens, and a batch started after a crash removes any that survived.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unseen.batch import merge
from unseen.batch.work import Outcome, Task, guarded, process
from unseen.detect import Detector
from unseen.errors import UnseenError
from unseen.media.segment_join import SegmentMismatch, join_segments
from unseen.media.segments import SEGMENT_SECONDS, Segment, plan_segments, read_timeline
from unseen.settings import AudioPolicy
from unseen.tempfiles import temp_path
from unseen.types import Report

SEGMENT_ENV = "UNSEEN_SEGMENT_SECONDS"  # seconds of video per segment task; 0 keeps every video whole


def segment_seconds(seconds: float | None = None) -> float:
    """The segment length to use: the one given, else $UNSEEN_SEGMENT_SECONDS, else 60."""
    if seconds is not None:
        return seconds
    text = os.environ.get(SEGMENT_ENV, "")
    try:
        return float(text) if text else SEGMENT_SECONDS
    except ValueError as error:
        raise UnseenError(f"{SEGMENT_ENV}={text!r}: not a number of seconds") from error


def video_task(task: Task, seconds: float, detector: Detector | None) -> Outcome | list[Segment]:
    """A video too short to split (or that cannot be split) is done here whole; else its segments.

    A video a person corrected (its edits travel with the task) is done whole too: the edits
    name the whole run's face tracks, and a track that crosses a cut is another track after it.
    """
    if task.edits is not None:
        return process(task, detector)
    if task.settings.audio is AudioPolicy.DISGUISE:  # the voice is disguised and proved over the whole track
        return process(task, detector)
    try:
        segments = plan_segments(read_timeline(Path(task.src)), seconds)
    except UnseenError:
        segments = []  # the whole-file run says what is wrong with it, as for any file
    if len(segments) <= 1:
        return process(task, detector)
    return segments


def segment_task(task: Task, segment: Segment, part: str, detector: Detector | None) -> Outcome:
    """Mask one segment of the video into the part file `part` (picture only)."""
    from unseen.video import anonymize_video

    def make() -> Report:
        return anonymize_video(Path(task.src), Path(part), task.settings, detector, span=segment.span())

    return guarded(task, part, make)


def join_task(
    task: Task, segments: list[Segment], parts: list[Outcome], detector: Detector | None
) -> Outcome:
    """The output from the parts, or, if they do not add up to the input, the video done whole."""
    report = merge_reports(task, [part.report or {} for part in parts], [s.frames for s in segments])

    def make() -> Report:
        try:
            join_segments([Path(p.output or "") for p in parts], Path(task.src), Path(task.dst),
                          task.settings, segments, report)  # fmt: skip
        except SegmentMismatch:
            from unseen.pipeline import anonymize_file

            return anonymize_file(task.src, task.dst, task.settings, detector=detector)
        return report

    try:
        return guarded(task, task.dst, make)
    finally:
        remove_parts([p.output for p in parts])


def merge_reports(task: Task, reports: list[dict[str, Any]], frames: list[int] | None = None) -> Report:
    """One Report for the whole video from its segments' (frame numbers in them are the video's)."""
    return merge.merge_reports(task.src, task.dst, task.settings.audio, reports, frames)


def remove_parts(paths: list[str | None]) -> None:
    for path in paths:
        if path:
            with contextlib.suppress(OSError):
                Path(path).unlink(missing_ok=True)


@dataclass
class SplitVideo:
    """A video in segments, as the driver follows it: parts named, parts done, when it started."""

    task: Task
    segments: list[Segment]
    parts: list[str] = field(default_factory=list)
    done: dict[int, Outcome] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def name_parts(self) -> None:
        """Create the part files (empty) in the output folder, named for this process."""
        folder = Path(self.task.dst).parent
        folder.mkdir(parents=True, exist_ok=True)
        suffix = Path(self.task.dst).suffix
        for _ in self.segments:
            self.parts.append(str(temp_path(folder, suffix)))

    @property
    def complete(self) -> bool:
        return len(self.done) == len(self.segments)

    def outcomes(self) -> list[Outcome]:
        return [self.done[k] for k in range(len(self.segments))]

    def where(self, index: int) -> str:
        segment = self.segments[index]
        return f"segment {index + 1} of {len(self.segments)}, from frame {segment.first}"

    def workers(self, last: str = "") -> str:
        """Which processes made the output, parts first, each once."""
        names = [o.worker for o in self.outcomes() if o.worker] + ([last] if last else [])
        return ",".join(dict.fromkeys(names))

    def remove(self) -> None:
        remove_parts(list(self.parts))
