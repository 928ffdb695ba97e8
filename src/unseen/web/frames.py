"""Frames of a video by index, for the review page: seek to the keyframe before, decode forward.

A few files are kept open (each with its packet index and decoder position), so scrubbing and
playing cost one decode per frame, not one open and seek. Frames are returned upright (the
display rotation applied) as arrays in memory; nothing is written anywhere. Before a video is
written, `MaskPlans` says what its export will mask on each frame.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import av
import av.error
import numpy as np

from unseen.detect.base import Detector
from unseen.edits import Edits
from unseen.errors import UnreadableInput, UnsupportedInput
from unseen.media import video_streams as streams
from unseen.media.segments import Span
from unseen.media.video_io import LOCAL_ONLY, rgb
from unseen.settings import Settings
from unseen.types import Image
from unseen.video.painting import Masks

if TYPE_CHECKING:
    from unseen.text import TextDetector
    from unseen.video.pipeline import PlannedFrame

OPEN_FILES = 3  # decoders kept open: the item being looked at, its original, one more
FORWARD_LIMIT = 90  # decoding on is cheaper than seeking back to a keyframe up to this many frames


@dataclass(frozen=True)
class VideoInfo:
    """What the page needs to scrub a video: upright size, frame count and rate."""

    width: int
    height: int
    frames: int
    fps: float


class VideoReader:
    """One open video: its frames' timestamps in presentation order and a decoder that moves on."""

    def __init__(self, path: Path, max_pixels: int) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            self.container = av.open(str(path.absolute()), metadata_errors="replace", options=LOCAL_ONLY)
        except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as error:
            raise UnreadableInput(f"{path}: not a readable video ({error})") from error
        try:
            video = streams.main_video(self.container)
            if video is None:
                raise UnsupportedInput(f"{path}: no video stream")
            self.video = video
            ctx = video.codec_context
            if not ctx.width or not ctx.height or ctx.width * ctx.height > max_pixels:
                raise UnsupportedInput(f"{path}: {ctx.width}x{ctx.height} cannot be shown")
            self.fps = streams.frame_rate(video)
            self.pts, self.keys = self._index()
        except BaseException:
            self.container.close()
            raise
        self.closed = False
        self.rotation = 0
        self.position = -1  # index of the last frame the decoder gave
        self._frames: Iterator[av.VideoFrame] | None = None
        first = self.frame(0) if self.pts else None
        if first is None:
            self.container.close()
            raise UnreadableInput(f"{path}: no picture could be decoded")
        self.height, self.width = first.shape[:2]

    def _index(self) -> tuple[list[int], list[int]]:
        """Presentation timestamps of every frame, sorted, and those of the keyframes (no decoding)."""
        pts: list[int] = []
        keys: list[int] = []
        try:
            for packet in self.container.demux(self.video):
                if packet.pts is None:
                    if packet.size:  # a file without timestamps: cannot seek in it
                        raise UnsupportedInput(f"{self.path}: frames without timestamps")
                    continue
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.error.FFmpegError as error:
            raise UnreadableInput(f"{self.path}: corrupt video ({error})") from error
        pts.sort()
        keys.sort()
        return pts, keys

    @property
    def info(self) -> VideoInfo:
        return VideoInfo(self.width, self.height, len(self.pts), round(self.fps, 3))

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self._frames = None
            self.container.close()

    def frame(self, index: int) -> Image | None:
        """Frame `index` (0-based, presentation order), upright; None past the end."""
        if not 0 <= index < len(self.pts):
            return None
        target = self.pts[index]
        if self._frames is None or not self.position < index <= self.position + FORWARD_LIMIT:
            self._seek(target)
        assert self._frames is not None
        try:
            for frame in self._frames:
                if frame.pts is None:
                    continue
                self.position = bisect_left(self.pts, frame.pts)
                if frame.pts >= target:
                    self.rotation = round(frame.rotation / 90) % 4
                    return np.ascontiguousarray(np.rot90(rgb(frame), self.rotation))
        except av.error.FFmpegError as error:
            self._frames = None
            raise UnreadableInput(f"{self.path}: corrupt video near frame {index} ({error})") from error
        self._frames = None
        return None

    def _seek(self, target: int) -> None:
        at = bisect_right(self.keys, target) - 1
        self.container.seek(self.keys[at] if at >= 0 else self.pts[0], stream=self.video, backward=True)
        self._frames = self.container.decode(self.video)
        self.position = -1


class VideoFrames:
    """Open video readers by file, the least recently used closed first; safe between threads."""

    def __init__(self, max_pixels: int, open_files: int = OPEN_FILES) -> None:
        self.max_pixels = max_pixels
        self.open_files = open_files
        self._readers: OrderedDict[tuple[str, int, int, int], VideoReader] = OrderedDict()
        self._lock = threading.Lock()

    def _reader(self, path: Path) -> VideoReader:
        try:
            stat = path.stat()
        except OSError as error:
            raise UnreadableInput(f"{path}: cannot be read ({error.strerror})") from error
        # a rewritten output is a new file: its old reader must not answer for it
        key = (str(path), stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            reader = self._readers.get(key)
            if reader is not None:
                self._readers.move_to_end(key)
                return reader
        reader = VideoReader(path, self.max_pixels)
        with self._lock:
            if key in self._readers:  # another request opened it meanwhile: keep one
                reader.close()
                return self._readers[key]
            self._readers[key] = reader
            stale = [k for k in self._readers if k[0] == key[0] and k != key]
            while len(self._readers) > self.open_files:
                stale.append(next(iter(self._readers)))
            closing = [self._readers.pop(k) for k in dict.fromkeys(stale) if k in self._readers]
        for old in closing:
            old.close()
        return reader

    def info(self, path: Path) -> VideoInfo:
        return self._reader(path).info

    def times(self, path: Path) -> list[int]:
        """Every frame's timestamp, in display order."""
        return self._reader(path).pts

    def frame(self, path: Path, index: int) -> Image | None:
        """Frame `index` of the video at `path`, upright, or None past its end."""
        for _ in range(3):
            reader = self._reader(path)
            with reader.lock:
                if not reader.closed:  # else closed meanwhile to make room: open it again
                    return reader.frame(index)
        raise UnreadableInput(f"{path}: too many videos open at once")

    def close(self) -> None:
        with self._lock:
            readers = list(self._readers.values())
            self._readers.clear()
        for reader in readers:
            reader.close()


PLAN_FRAMES = 30  # frames planned at once for the preview: one decode of the half second around
PLANS_KEPT = 16


class MaskPlans:
    """What export will mask on a frame of a video not yet written, for the preview: the video
    pipeline's own plan (cadence, tracker, the person's edits) over a stretch around it. Boxes
    only are kept, never pixels; the preview does not run the check, which only adds masks."""

    def __init__(self, frames: VideoFrames) -> None:
        self.frames = frames
        self._plans: OrderedDict[tuple[str, int, int], dict[int, PlannedFrame]] = OrderedDict()
        self._lock = threading.Lock()

    def masks(
        self,
        path: Path,
        index: int,
        settings: Settings,
        detector: Detector | None,
        edits: Edits,
        version: int,
        text_detector: TextDetector | None = None,
    ) -> PlannedFrame:
        """What export will paint on frame `index` (but the check's additions) of the video at
        `path`: face and text masks; `version` names the state of the edits (a new one plans again)."""
        from unseen.video.anonymize import plan_masks
        from unseen.video.pipeline import PlannedFrame

        first = index // PLAN_FRAMES * PLAN_FRAMES
        key = (str(path), version, first)
        with self._lock:
            plan = self._plans.get(key)
            if plan is not None:
                self._plans.move_to_end(key)
        if plan is None:
            pts = self.frames.times(path)
            if not 0 <= index < len(pts):
                return PlannedFrame(Masks.empty())
            end = pts[first + PLAN_FRAMES] if first + PLAN_FRAMES < len(pts) else None
            plan = plan_masks(path, Span(first, pts[first], end), settings, detector, edits, text_detector)
            with self._lock:
                self._plans[key] = plan
                while len(self._plans) > PLANS_KEPT:
                    self._plans.popitem(last=False)
        return plan.get(index, PlannedFrame(Masks.empty()))
