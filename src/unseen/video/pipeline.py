"""Video: decode -> look-ahead buffer -> detect at cadence -> track -> mask -> check -> encode.

Frames wait in a short look-ahead buffer (so a face is masked from the first frame it appears
in), then are masked and encoded; memory stays flat however long the clip. Everything here is in
upright pixels (as the viewer sees the picture); only the encoder turns them back. The output
goes to a hidden temporary file beside `dst` and is renamed into place only when complete and
verified; on any error it is removed. No frame with a bare face reaches the disk.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import av.error

from unseen.detect.base import Detector
from unseen.detect.cadence import Shift, VideoDetector
from unseen.edits import Edits
from unseen.errors import UnreadableInput, UnsupportedInput
from unseen.media import video_streams as streams
from unseen.media.segments import Span
from unseen.media.video_io import Encoder, local, reason, upright
from unseen.settings import AudioPolicy, Settings
from unseen.track import Tracker
from unseen.types import Detections, FaceRecord, FloatArray, Image, MaskStyle
from unseen.verify.verifier import Verifier
from unseen.video.checks import CHECKS_PER_SECOND, Checks
from unseen.video.corrections import left_bare_at, ranges_at
from unseen.video.painting import Masks, Painter
from unseen.video.text_masks import FrameText, VideoText, text_every, video_text

if TYPE_CHECKING:
    from unseen.text import TextDetector

Progress = Callable[[int, int | None], None]


@dataclass(frozen=True)
class PlannedFrame:
    """What export paints on one frame, but the check's additions: face masks, then text."""

    masks: Masks
    text: FrameText | None = None

    def paint(self, painter: Painter, pixels: Image) -> Image:
        out = painter.paint(pixels, self.masks)[0] if len(self.masks) else pixels
        return self.text.fill(out) if self.text is not None else out


SMALL_FACE_PX = 32.0  # faces first seen smaller than this are back-filled over the slowest cadence
HOLD_SECONDS = 0.5  # a lost face keeps its mask this long
BACKFILL_SECONDS = 0.2  # on top of the detector cadence: faces the detector needed a while to see


@dataclass
class Picture:
    """A decoded frame in the buffer: its number in the clip, and whether this job writes it."""

    index: int
    frame: av.VideoFrame
    hidden: bool = False  # a neighbouring segment's frame: looked at, not written
    pixels: Image | None = field(default=None, repr=False)  # upright, once needed

    def upright(self) -> Image:
        if self.pixels is None:
            self.pixels = upright(self.frame)
        return self.pixels


class Job:
    """One pass over one video (or a span of it): decode, detect, track, mask, check, encode."""

    def __init__(
        self,
        source: av.container.InputContainer,
        src: Path,
        settings: Settings,
        detector: Detector,
        edits: Edits | None = None,
        span: Span | None = None,
        verifier: Verifier | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.source, self.src, self.settings, self.edits, self.span = source, src, settings, edits, span
        self.progress = progress
        self.off = frozenset(edits.tracks_off) if edits else frozenset()
        video = streams.main_video(source)
        if video is None:
            raise UnsupportedInput(f"{src}: no video stream")
        self.video = video
        ctx = video.codec_context
        if not ctx.width or not ctx.height:
            raise UnreadableInput(f"{src}: the video stream has no picture size")
        if ctx.width * ctx.height > settings.max_pixels:
            raise UnsupportedInput(f"{src}: {ctx.width}x{ctx.height} is past the pixel limit")
        # a segment is video only: the join copies the audio from the whole input
        keep_audio = settings.audio is AudioPolicy.KEEP and span is None
        self.audio = list(source.streams.audio) if keep_audio else []
        self.fps = streams.frame_rate(video)
        self.detector = VideoDetector.for_clip(detector, self.fps, ctx.width, ctx.height)
        cadence = self.detector.cadence
        lag = round(BACKFILL_SECONDS * self.fps)
        split = cadence.slowest > cadence.full_every
        # between whole-picture passes, the looks around known faces keep tracks alive: a track
        # is held until the next whole-picture pass, not the rarest one
        self.tracker = Tracker(
            hold=max(cadence.full_every + 1, round(HOLD_SECONDS * self.fps)),
            backfill=cadence.full_every + lag,
            small_backfill=cadence.slowest + lag if split else 0,
            small_px=SMALL_FACE_PX if split else 0.0,
        )
        # a face the check finds on frame c is masked from c - seed_reach: those frames wait for it
        self.seed_reach = self.tracker.big_backfill if settings.verify else 0
        self.reach = self.tracker.backfill + self.seed_reach
        self.max_buffer = self.reach + 2 * cadence.every + 2
        self.check_every = max(1, round(self.fps / CHECKS_PER_SECOND))
        self.removed = streams.dropped(source, video, settings.audio is AudioPolicy.KEEP)
        self.verifier = verifier
        self.checks: Checks | None = None
        self.painter: Painter | None = None  # once the first frame gives the upright size
        self.encoder: Encoder | None = None
        self.plan: dict[int, PlannedFrame] | None = None  # with `plan_only`: what each frame gets
        self.range_records: dict[int, FaceRecord] = {}
        self.width = self.height = 0  # upright
        self.seconds: defaultdict[str, float] = defaultdict(float)  # this thread's stages
        self.text: VideoText | None = None  # text masks (--text), set by anonymize_video

    def look_for_text(self, text_detector: TextDetector | None = None) -> None:
        """Mask text as `settings.text` says, looked for at the cadence the clip allows."""
        every = text_every(self.fps, self.tracker.backfill, self.check_every)
        start = self.span.first if self.span is not None else 0
        self.text = video_text(self.settings, every, start, text_detector)
        if self.text is not None:
            self.text.camera = self.tracker.camera

    def stages(self) -> dict[str, float]:
        """Seconds spent in each stage: this thread's, the detection and check threads'."""
        out = dict(self.seconds)
        out.update(self.detector.seconds)
        if self.checks is not None:
            out["check"] = sum(c.seconds for c in self.checks.results.values())
        return {k: round(v, 3) for k, v in sorted(out.items())}

    def run(self, tmp: Path | None) -> None:
        """Write the masked clip to `tmp`; with None, only plan (self.plan: masks per frame)."""
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unseen-detect")
        try:
            if tmp is None:
                self.plan = {}
                self._stream(None)
            else:
                with av.open(local(tmp), "w") as out:
                    self.encoder = Encoder(out, self.video, self.audio, self.src)
                    self._stream(self.encoder)
                    self.encoder.finish()
        except av.error.FFmpegError as error:
            raise UnreadableInput(f"{self.src}: corrupt video ({reason(error)})") from error
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            if self.checks is not None:
                self.checks.close()

    def _stream(self, encoder: Encoder | None) -> None:
        """The demux loop: video frames through the look-ahead buffer, audio packets straight out."""
        self.buffer: deque[Picture] = deque()
        self.pending: deque[tuple[int, Future[tuple[Detections, Shift | None]]]] = deque()
        span = self.span
        self.start_index = span.first if span else 0
        self.decoded = self.start_index  # frame numbers are the whole clip's, also in a segment
        self.emitted = self.tail = 0
        self.last_pts: int | None = None
        total = None if span else self.video.frames or None
        # a segment also looks at the frames before it, unwritten: a face lost there is held into it
        lead: deque[av.VideoFrame] = deque(
            maxlen=self.tracker.hold + self.detector.cadence.every if span else 0
        )
        if span is not None:
            tick = float(self.video.time_base or Fraction(1, 90000))
            back = 0 if span.first == 0 else round((lead.maxlen or 0) / self.fps / tick) + 1
            self.source.seek(span.start_pts - back, stream=self.video, backward=True, any_frame=False)
        started = False
        for packet in self.source.demux([self.video, *self.audio]):
            if packet.stream is self.video:
                if packet.is_corrupt:
                    raise UnreadableInput(f"{self.src}: corrupt video packet at {packet.pts}")
                clock = time.perf_counter()
                frames = self.video.decode(packet)
                self.seconds["decode"] += time.perf_counter() - clock
                for frame in frames:
                    if span is not None and not self._in_span(frame, span, lead):
                        continue
                    if self.tail > self.tracker.backfill:
                        break
                    if not started:
                        started = True
                        self._first(frame, encoder)
                    if lead:
                        self.decoded -= len(lead)  # they are the frames just before `first`
                        while lead:
                            self._take(lead.popleft(), total, hidden=True)
                    self._take(frame, total, hidden=self.tail > 0)
            elif packet.dts is not None and encoder is not None:
                encoder.audio_packet(packet)
            if self.tail > self.tracker.backfill:
                break  # a segment has seen far enough past its end
        if not started:
            raise UnreadableInput(f"{self.src}: no picture could be decoded")
        if self.buffer and not self.detector.whole_at(self.buffer[-1].index):
            # a face that came into view since the last whole-picture look has no later one to
            # be found by: the last frame is looked at whole, the frames before back-filled from it
            last = self.buffer[-1]
            self.pending.append((last.index, self.pool.submit(self._detect, last.index, last.frame, True)))
        self._drain(total, final=True)
        if total and self.decoded < total:
            raise UnreadableInput(f"{self.src}: truncated: {self.decoded} of {total} frames decode")

    def _first(self, frame: av.VideoFrame, encoder: Encoder | None) -> None:
        """The first frame sets the upright size, the output's streams and the check's frame."""
        if encoder is not None:
            encoder.open(frame)
        quarter = round(frame.rotation / 90) % 4
        ctx = self.video.codec_context
        self.width, self.height = (ctx.height, ctx.width) if quarter % 2 else (ctx.width, ctx.height)
        self.painter = Painter(self.settings, self.width, self.height)
        if self.settings.verify and self.plan is None:
            opaque = self.settings.mask in (MaskStyle.SOLID, MaskStyle.NOISE)
            self.checks = Checks(
                self.verifier,
                self.check_every,
                self.width,
                self.height,
                self.tracker.seed,
                opaque,
                self._left_bare_at,
            )

    def _in_span(self, frame: av.VideoFrame, span: Span, lead: deque[av.VideoFrame]) -> bool:
        """Whether a decoded frame belongs to the segment. Frames past its end are looked at
        (for back-fill: a face the next segment first sees may already be on these) but not
        written; `tail` counts them."""
        if frame.pts is None:
            raise UnreadableInput(f"{self.src}: a frame without a timestamp cannot be cut into segments")
        if frame.pts < span.start_pts:
            if lead.maxlen:
                lead.append(frame)  # the previous segment's: looked at, not written
            return False
        if span.end_pts is not None and frame.pts >= span.end_pts:
            self.tail += 1
        return True

    def _take(self, frame: av.VideoFrame, total: int | None, hidden: bool = False) -> None:
        """A decoded frame joins the buffer; detection starts on the cadence's frames."""
        index = self.decoded
        self.decoded += 1
        if frame.pts is None or (self.last_pts is not None and frame.pts <= self.last_pts):
            # the encoder needs rising timestamps; a broken one is nudged, never dropped
            frame.pts = 0 if self.last_pts is None else self.last_pts + 1
        self.last_pts = frame.pts
        if self.detector.wants(index):
            # the colour conversion runs on the detection thread too: it overlaps with decoding
            self.pending.append((index, self.pool.submit(self._detect, index, frame)))
        self.buffer.append(Picture(index, frame, hidden))
        self._drain(total, final=False)

    def _detect(
        self, index: int, frame: av.VideoFrame, whole: bool = False
    ) -> tuple[Detections, Shift | None]:
        """Faces on a frame, and the picture's shift a frame since the previous look."""
        found = self.detector.detect(upright(frame), index, whole)
        camera = self.detector.camera  # this thread's: set by the look just made
        return (self.edits.apply(found) if self.edits is not None else found), camera

    def _drain(self, total: int | None, final: bool) -> None:
        """Emit every buffered frame whose look-ahead detections and checks are in."""
        while self.buffer:
            index = self.buffer[0].index
            horizon = index + self.reach
            while self.pending and self.pending[0][0] <= horizon:
                at, future = self.pending[0]
                if not (future.done() or final or len(self.buffer) > self.max_buffer):
                    return  # the encoder waits for the detector, within the buffer's bound
                clock = time.perf_counter()
                found, camera = future.result()
                self.seconds["wait for detection"] += time.perf_counter() - clock
                clock = time.perf_counter()
                self.tracker.update(at, found, camera)
                self.seconds["track"] += time.perf_counter() - clock
                self.pending.popleft()
            if not final and self.decoded - 1 < horizon:
                return  # a detection frame inside the horizon is not decoded yet
            if self.checks is not None and not self._settle_checks(index, final):
                return
            self._emit(self.buffer.popleft())
            if self.progress is not None:
                self.progress(self.emitted, total)

    def _settle_checks(self, index: int, final: bool) -> bool:
        """Check the frames whose findings could still change frame `index`'s masks; False
        while a check is still running."""
        assert self.checks is not None
        wait = final or len(self.buffer) > self.max_buffer
        for at in self.checks.due(index, index + self.seed_reach):
            if at in self.checks.results or at < self.start_index:
                continue  # done, or the previous segment's
            position = at - index
            if position >= len(self.buffer) or self.buffer[position].hidden:
                break  # past the end of the clip, or past the end of a segment: not this job's
            clock = time.perf_counter()
            settled = self.checks.settle(at, self._prepare_check, wait, self.tracker.hold)
            self.seconds["check: mask and wait"] += time.perf_counter() - clock
            if settled is None:
                return False
            if not settled:
                return self._settle_checks(index, final)  # a finding: masks around it changed
        return True

    def _prepare_check(self, at: int) -> tuple[Image, Image, Masks, Any]:
        picture = self.buffer[at - self.buffer[0].index]
        assert picture.index == at and self.painter is not None
        masks = self.masks_at(at)
        masked, area = self.painter.paint(picture.upright(), masks, with_area=True)
        if self.text is not None:
            masked = self.text.check(picture, masked, masks, self.buffer, self.masks_at)
        return picture.upright(), masked, masks, area

    def masks_at(self, index: int) -> Masks:
        """Every mask on frame `index`: tracks (but those switched off), what the check found,
        and the ranges a person added."""
        faces, tracks, cores = self.tracker.faces_at(index, self.off)
        masks = Masks(faces, cores, [t.record for t in tracks])
        ranges = self._ranges_at(index)
        return masks.merge(ranges) if len(ranges) else masks

    def _left_bare_at(self, index: int) -> FloatArray:
        return left_bare_at(self.tracker, self.off, self.edits, index)

    def _ranges_at(self, index: int) -> Masks:
        return ranges_at(self.edits, index, self.range_records)

    def _emit(self, picture: Picture) -> None:
        if picture.hidden:
            return  # a neighbouring segment's frame, looked at for the hold or back-fill only
        index = picture.index
        clock = time.perf_counter()
        masks = self.masks_at(index)
        self.tracker.forget_before(index)
        self.seconds["track"] += time.perf_counter() - clock
        assert self.painter is not None
        clock = time.perf_counter()
        self.painter.account(index, masks)
        self.seconds["account"] += time.perf_counter() - clock
        self.emitted += 1
        text = None
        if self.text is not None:
            text = self.text.at(index, picture, masks, self.buffer, self.masks_at)
        if self.plan is not None:
            self.plan[index] = PlannedFrame(masks, text)
            return
        assert self.encoder is not None
        pixels = None
        clock = time.perf_counter()
        if len(masks) or text is not None:
            pixels = self.checks.cached(index, masks) if self.checks is not None else None
            areas = self.painter.areas(masks) if pixels is None else None
            if areas is not None and text is not None:
                areas = text.areas(areas, (self.height, self.width))
            # solid and noise go on the frame's own planes; a checked frame's pixels are reused
            if areas is not None and self.encoder.picture_yuv(picture.frame, *areas):
                self.seconds["mask and encode"] += time.perf_counter() - clock
                return
            if pixels is None:
                pixels, _ = self.painter.paint(picture.upright(), masks)
            if text is not None:
                pixels = text.fill(pixels)
        elif self.checks is not None:
            self.checks.cached(index, masks)  # drop what a check of this frame kept
        self.seconds["mask"] += time.perf_counter() - clock
        clock = time.perf_counter()
        self.encoder.picture(picture.frame, pixels)
        self.seconds["encode"] += time.perf_counter() - clock
