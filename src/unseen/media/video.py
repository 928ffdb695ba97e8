"""Video: decode, find faces, mask, encode, frame by frame; audio copied, everything else dropped.

Streaming with PyAV: frames wait in a short look-ahead buffer (so a face is masked from the
first frame it appears in), then are masked and encoded; memory stays flat however long the
clip. The output goes to a hidden temporary file beside `dst` and is renamed into place only when
complete and verified; on any error it is removed. No frame with a bare face reaches the disk.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from unseen.detect.base import Detector, nms
from unseen.edits import Edits
from unseen.errors import OutputError, UnreadableInput, UnsupportedInput, VerificationFailed
from unseen.media import video_streams as streams
from unseen.media.video_check import check_frame, read_back
from unseen.redact.masks import apply_masks, head_boxes, mask_area
from unseen.settings import AudioPolicy, Settings
from unseen.tempfiles import PREFIX, output_temp
from unseen.track import Tracker
from unseen.types import Check, Detections, FloatArray, Image, MaskStyle, Report, Verdict

if TYPE_CHECKING:
    from unseen.verify.verifier import Verifier

Progress = Callable[[int, int | None], None]
# only local files, also for playlists and references inside a container: never the network
LOCAL_ONLY = {"protocol_whitelist": "file"}

DETECTIONS_PER_SECOND = 7.5  # detector cadence; tracks fill the frames between (see bench_video.py)
# From 1.5 MP up, the detector looks for faces at two cadences: at half size 7.5 times a second
# (faces of ~20 px and up), at full size 2.5 times a second for the small, far-off ones, which
# move few pixels a frame. At 4K this halves the detection cost (bench_video.py).
SPLIT_PIXELS = 1_500_000
COARSE_SCALE = 0.5
FINE_PER_SECOND = 2.5
SMALL_FACE_PX = 32.0  # faces first seen smaller than this are back-filled over the fine cadence
HOLD_SECONDS = 0.5  # a lost face keeps its mask this long
BACKFILL_SECONDS = 0.2  # on top of the detector cadence: faces the detector needed a while to see
CHECKS_PER_SECOND = 1.0  # output frames the attacking detector looks at
CHECK_ATTEMPTS = 3  # a checked frame is masked harder and checked again at most twice
SEED_GROW = 1.25  # a face the check found is masked solid over a head this much larger
TMP_PREFIX = PREFIX
MAX_EARLY_AUDIO = 10_000  # audio packets held back before the first picture; past this the file is odd


@dataclass(frozen=True)
class Span:
    """A stretch of a clip, for one segment of a split job: the frames with
    start_pts <= pts < end_pts, the first of which (a keyframe) is frame `first` of the clip."""

    first: int
    start_pts: int
    end_pts: int | None = None


def is_video(path: Path) -> bool:
    """True when the file is a video by content: not a photo (FFmpeg opens a HEIC photo as an
    MP4), and FFmpeg finds a moving-picture stream in it. See unseen.media.registry."""
    from unseen.media.registry import is_video as registry_is_video

    return registry_is_video(path)


def anonymize_video(
    src: Path,
    dst: Path,
    settings: Settings,
    detector: Detector | None = None,
    progress: Progress | None = None,
    edits: Edits | None = None,
    span: Span | None = None,
    verifier: Verifier | None = None,
) -> Report:
    """Write `dst`: `src` with every face masked, audio copied as is, nothing identifying kept.

    `edits` are a person's corrections (boxes in upright pixels): tracks switched off, masks
    added over frame ranges or on every frame, detections removed, another mask style. Added
    boxes are face boxes: like detections they are grown to the head they belong to.
    `verifier` attacks the checked frames (default: the verify package's models). With a
    `span` only that stretch is written, video only, timestamps as in the input: a segment for
    `unseen.media.segments` to join; frame numbers in the report stay those of the whole clip.
    """
    started = time.perf_counter()
    src, dst = Path(src), Path(dst)
    edits = edits if edits is not None and not edits.is_empty() else None
    if edits is not None and edits.mask:
        settings = replace(settings, mask=MaskStyle(edits.mask))
    if dst.exists() and dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the output would overwrite the input")
    if not dst.parent.is_dir():
        raise OutputError(f"{dst.parent}: no such folder")
    _open(src).close()  # unreadable input fails before anything is created
    tmp = output_temp(dst)
    try:
        with _open(src) as source:
            job = _Job(source, src, tmp, settings, detector, progress, edits, span, verifier)
            report = job.run()
        assert report.check is not None
        report.check.metadata_left = read_back(tmp)
        if report.check.metadata_left:
            report.verdict = Verdict.REFUSED.value
            raise VerificationFailed(
                f"{src}: identifying metadata survived: {', '.join(report.check.metadata_left)}", report
            )
        if settings.verify and (report.check.redetected or report.check.leaking_boxes) and not settings.force:
            report.verdict = Verdict.REFUSED.value
            raise VerificationFailed(
                f"{src}: a face is still detectable or recognizable in {len(job.flagged)} checked frame(s)",
                report,
            )
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the output is an ordinary file, meant to be shared
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    report.output = str(dst)
    report.seconds = time.perf_counter() - started
    return report


def _local(path: Path) -> str:
    """An absolute path: FFmpeg reads "name:..." as a protocol (http:, concat:, ...) otherwise."""
    return str(Path(path).absolute())


def _open(src: Path) -> av.container.InputContainer:
    try:
        return av.open(_local(src), metadata_errors="replace", options=LOCAL_ONLY)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as error:
        raise UnreadableInput(f"{src}: not a readable video ({_reason(error)})") from error


class _Job:
    """One pass over one video: demux, decode, track, mask, encode, mux."""

    def __init__(
        self,
        source: av.container.InputContainer,
        src: Path,
        tmp: Path,
        settings: Settings,
        detector: Detector | None,
        progress: Progress | None,
        edits: Edits | None = None,
        span: Span | None = None,
        verifier: Verifier | None = None,
    ) -> None:
        self.source, self.src, self.tmp, self.settings = source, src, tmp, settings
        self.verifier = verifier
        self.edits, self.span = edits, span
        self.off = frozenset(edits.tracks_off) if edits else frozenset()
        self.results: dict[int, Check] = {}  # the last check of each checked frame
        self.checks: dict[int, tuple[Future[Check], int]] = {}  # frame -> running check, attempt
        # frames to check because a check before found a face there, and the region to look in
        self.follow_ups: dict[int, tuple[int, int, int, int]] = {}
        self.flagged: dict[int, Detections] = {}  # checked frames where a face still shows
        self.rounds = 1 if settings.verify else 0
        self.progress = progress
        video = streams.main_video(source)
        if video is None:
            raise UnsupportedInput(f"{src}: no video stream")
        self.video = video
        ctx = video.codec_context
        self.width, self.height = ctx.width, ctx.height
        if not self.width or not self.height:
            raise UnreadableInput(f"{src}: the video stream has no picture size")
        if self.width * self.height > settings.max_pixels:
            raise UnsupportedInput(f"{src}: {self.width}x{self.height} is past the pixel limit")
        # a segment is video only: the join copies the audio from the whole input
        keep_audio = settings.audio is AudioPolicy.KEEP and span is None
        self.audio = list(source.streams.audio) if keep_audio else []
        fps = float(video.average_rate or video.guessed_rate or 30)
        self.every = max(1, round(fps / DETECTIONS_PER_SECOND))
        if detector is None:
            from unseen.detect.centerface import CenterFace

            # OpenCV on all cores: the encoder mostly waits for detection
            detector = CenterFace(threshold=settings.threshold, threads=0)
        self.detector: Detector = detector
        # two cadences (see SPLIT_PIXELS) for CenterFace; any other detector runs on every `every`-th frame
        split = hasattr(detector, "detect_at") and self.width * self.height >= SPLIT_PIXELS
        self.coarse = COARSE_SCALE if split else None
        self.fine_every = self.every * (max(1, round(fps / FINE_PER_SECOND / self.every)) if split else 1)
        lag = round(BACKFILL_SECONDS * fps)
        self.tracker = Tracker(
            hold=max(self.every, round(HOLD_SECONDS * fps), self.fine_every + 1),
            backfill=self.every + lag,
            small_backfill=self.fine_every + lag if split else 0,
            small_px=SMALL_FACE_PX if split else 0.0,
        )
        # a face the check finds on frame c is masked from c - seed_reach: those frames wait for it
        self.seed_reach = self.tracker.big_backfill if settings.verify else 0
        self.reach = self.tracker.backfill + self.seed_reach
        self.max_buffer = self.reach + 2 * self.every + 2
        self.check_every = max(1, round(fps / CHECKS_PER_SECOND))
        self.rotation = 0  # quarter turns counter-clockwise from coded to displayed picture
        self.removed = streams.dropped(source, video, settings.audio is AudioPolicy.KEEP)
        self.coded_edits: Edits | None = None  # `edits` in coded-picture pixels, once the rotation is known

    def run(self) -> Report:
        check = Check()
        report = Report(
            source=str(self.src),
            output=None,
            width=self.width,
            height=self.height,
            mask=self.settings.mask.value,
            metadata_removed=self.removed,
            check=check,
        )
        # one worker runs the models while this thread decodes and encodes: the two cores overlap
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unseen-detect")
        # checks on a thread of their own: a slow one (MTCNN at 4K) does not hold up detection
        self.check_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="unseen-check")
        try:
            self._stream(check)
        except av.error.FFmpegError as error:
            raise UnreadableInput(f"{self.src}: corrupt video ({_reason(error)})") from error
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.check_pool.shutdown(wait=True, cancel_futures=True)
        # the faces masked: a track a person switched off is not one
        last_frame = self.start_index + self.emitted - 1
        report.faces = [
            r
            for r in self.tracker.records
            if r.track not in self.off
            and (r.last is None or r.last >= self.start_index)
            and (r.first is None or r.first <= last_frame)  # masked on a frame of this job's
        ]
        turns = (4 - self.rotation) % 4
        # coded = np.rot90(upright, turns): unrotate takes the upright picture's size
        up_w, up_h = (self.height, self.width) if turns % 2 else (self.width, self.height)
        for face in report.faces:
            first = Detections(np.asarray([face.box], np.float32), np.ones(1, np.float32))
            head = head_boxes(first, (self.height, self.width), self.settings.grow)[0]
            # the report speaks of the picture as it is shown: upright
            face.box = _ints(unrotate(first.boxes, turns, up_w, up_h)[0])  # type: ignore[assignment]
            face.mask_box = _ints(unrotate(head[None], turns, up_w, up_h)[0])  # type: ignore[assignment]
            if face.first is not None:
                face.first = max(face.first, self.start_index)
            if face.last is not None:
                face.last = min(face.last, last_frame)
        report.width, report.height = self.out_width, self.out_height
        clean = not (check.redetected or check.leaking_boxes)
        report.verdict = (Verdict.VERIFIED if self.settings.verify and clean else Verdict.UNVERIFIED).value
        return report

    def _stream(self, check: Check) -> None:
        """The demux loop: video frames through the look-ahead buffer, audio packets straight out."""
        self.buffer: deque[tuple[int, av.VideoFrame, bool]] = deque()  # index, frame, not written
        self.pending: deque[tuple[int, Future[Detections]]] = deque()
        span = self.span
        self.start_index = span.first if span else 0
        self.decoded = self.start_index  # frame numbers are the whole clip's, also in a segment
        self.emitted = self.tail = 0
        self.last_pts: int | None = None
        self.out: av.container.OutputContainer | None = None
        early_audio: list[av.Packet[Any]] = []  # until the first picture tells us its rotation
        total = None if span else self.video.frames or None
        # a segment also looks at the frames before it, unwritten: a face lost there is held into it
        self.lead: deque[av.VideoFrame] = deque(maxlen=self.tracker.hold + self.every if span else 0)
        if span is not None:
            fps = float(self.video.average_rate or self.video.guessed_rate or 30)
            tick = float(self.video.time_base or Fraction(1, 90000))
            back = 0 if span.first == 0 else round((self.lead.maxlen or 0) / fps / tick) + 1
            self.source.seek(span.start_pts - back, stream=self.video, backward=True, any_frame=False)
        with av.open(_local(self.tmp), "w") as out:
            for packet in self.source.demux([self.video, *self.audio]):
                if packet.stream is self.video:
                    if packet.is_corrupt:
                        raise UnreadableInput(f"{self.src}: corrupt video packet at {packet.pts}")
                    for frame in self.video.decode(packet):
                        if span is not None and not self._in_span(frame, span):
                            continue
                        if self.tail > self.tracker.backfill:
                            break
                        if self.out is None:
                            self._open_output(out, frame)
                            for early in early_audio:
                                self._mux_audio(early)
                            early_audio.clear()
                        if self.lead:
                            self.decoded -= len(self.lead)  # they are the frames just before `first`
                            while self.lead:
                                self._take(self.lead.popleft(), total, hidden=True)
                        self._take(frame, total, hidden=self.tail > 0)
                elif packet.dts is not None:
                    if self.out is None:
                        early_audio.append(packet)
                        if len(early_audio) > MAX_EARLY_AUDIO:
                            raise UnreadableInput(
                                f"{self.src}: no picture in the first {len(early_audio)} audio packets"
                            )
                    else:
                        self._mux_audio(packet)
                if self.tail > self.tracker.backfill:
                    break  # a segment has seen far enough past its end
            if self.out is None:
                raise UnreadableInput(f"{self.src}: no picture could be decoded")
            self._drain(total, final=True)
            out.mux(self.encoder.encode(None))
        if total and self.decoded < total:
            raise UnreadableInput(f"{self.src}: truncated: {self.decoded} of {total} frames decode")
        for index, found in sorted(self.results.items()):
            boxes = found.redetected_boxes + found.leaking_boxes
            if boxes:
                self.flagged[index] = _as_detections(boxes)
            check.redetected += bool(found.redetected)  # counted in frames: how many checked frames show one
            check.redetected_boxes += found.redetected_boxes
            check.leaking_boxes += found.leaking_boxes
            check.recognizable_faces += found.recognizable_faces
            pair = (check.min_embedding_distance, found.min_embedding_distance)
            distances = [d for d in pair if d is not None]
            check.min_embedding_distance = min(distances, default=None)
            check.seconds += found.seconds
        check.redetected_boxes = check.redetected_boxes[:100]
        check.rounds = self.rounds

    def _in_span(self, frame: av.VideoFrame, span: Span) -> bool:
        """Whether a decoded frame belongs to the segment. Frames past its end are looked at
        (for back-fill: a face the next segment first sees may already be on these) but not
        written; `tail` counts them."""
        if frame.pts is None:
            raise UnreadableInput(f"{self.src}: a frame without a timestamp cannot be cut into segments")
        if frame.pts < span.start_pts:
            if self.lead.maxlen:
                self.lead.append(frame)  # the previous segment's: looked at, not written
            return False
        if span.end_pts is not None and frame.pts >= span.end_pts:
            self.tail += 1
        return True

    def _open_output(self, out: av.container.OutputContainer, first: av.VideoFrame) -> None:
        self.out = out
        self.rotation = round(first.rotation / 90) % 4
        if self.edits is not None:
            self.coded_edits = _coded(self.edits, self.rotation, self.width, self.height)
        self.out_width, self.out_height = self.width + self.width % 2, self.height + self.height % 2
        try:
            self.encoder = streams.add_video(out, self.video, first, self.out_width, self.out_height)
            self.audio_out = {a: streams.add_audio(out, a) for a in self.audio}
        except ValueError as error:
            raise UnsupportedInput(f"{self.src}: {error}") from error

    def _mux_audio(self, packet: av.Packet[Any]) -> None:
        assert self.out is not None
        packet.stream = self.audio_out[packet.stream]
        self.out.mux(packet)

    def _take(self, frame: av.VideoFrame, total: int | None, hidden: bool = False) -> None:
        """A decoded frame joins the buffer; detection starts on every `every`-th one."""
        index = self.decoded
        self.decoded += 1
        if frame.pts is None or (self.last_pts is not None and frame.pts <= self.last_pts):
            # the encoder needs rising timestamps; a broken one is nudged, never dropped
            frame.pts = 0 if self.last_pts is None else self.last_pts + 1
        self.last_pts = frame.pts
        if index % self.every == 0:
            self.pending.append((index, self.pool.submit(self._detect, index, rgb(frame))))
        self.buffer.append((index, frame, hidden))
        self._drain(total, final=False)

    def _detect(self, index: int, image: Image) -> Detections:
        """Faces in the picture as the viewer sees it (upright), in coded-picture pixels."""
        upright = np.ascontiguousarray(np.rot90(image, self.rotation))
        if self.coarse is None:
            found = self.detector.detect(upright)
        else:
            detect_at = self.detector.detect_at  # type: ignore[attr-defined]
            parts = [detect_at(upright, self.coarse)]  # also the faces too big for a full-size tile
            if index % self.fine_every == 0:
                parts.append(detect_at(upright, 1.0))
            found = nms(Detections.merge(parts), 0.3)
        if len(found) and not found.sources.any():
            found = found.with_source(type(self.detector).__name__.lower())
        found = Detections(
            unrotate(found.boxes, self.rotation, self.width, self.height), found.scores, found.sources
        )
        if self.coded_edits is not None:
            found = self.coded_edits.apply(found)  # removed ones out, ones added on every frame in
        return found

    def _drain(self, total: int | None, final: bool) -> None:
        """Emit every buffered frame whose look-ahead detections and checks are in."""
        while self.buffer:
            index = self.buffer[0][0]
            horizon = index + self.reach
            while self.pending and self.pending[0][0] <= horizon:
                at, future = self.pending[0]
                if not (future.done() or final or len(self.buffer) > self.max_buffer):
                    return  # the encoder waits for the detector, within the buffer's bound
                self.tracker.update(at, future.result())
                self.pending.popleft()
            if not final and self.decoded - 1 < horizon:
                return  # a detection frame inside the horizon is not decoded yet
            if self.settings.verify and not self._settle_checks(index, final):
                return
            self._emit(*self.buffer.popleft())
            if self.progress is not None:
                self.progress(self.emitted, total)

    def _settle_checks(self, index: int, final: bool) -> bool:
        """Check the frames whose findings could still change frame `index`'s masks. A face the
        check finds becomes a seeded track (masked solid, larger, from seed_reach frames before to
        the hold after) and the frame is checked again; so is the first frame after that hold, so
        a face the detector cannot see stays masked for as long as the check keeps finding it.
        False while a check is still running."""
        first = -(-index // self.check_every) * self.check_every
        last = index + self.seed_reach
        follow = [at for at in self.follow_ups if index <= at <= last]
        for at in sorted({*range(first, last + 1, self.check_every), *follow}):
            # a follow-up only looks around what was found: at 4K a whole-frame attack takes seconds
            region = None if at % self.check_every == 0 else self.follow_ups.get(at)
            if at in self.results or at < self.start_index:
                continue  # done, or the previous segment's
            position = at - index
            if position >= len(self.buffer) or self.buffer[position][2]:
                break  # past the end of the clip, or past the end of a segment: not this job's
            if at not in self.checks:
                self.checks[at] = (self._submit_check(at, self.buffer[position][1], region), 1)
            future, attempt = self.checks[at]
            if not (future.done() or final or len(self.buffer) > self.max_buffer):
                return False
            found = future.result()
            boxes = found.redetected_boxes + found.leaking_boxes
            if boxes and attempt < CHECK_ATTEMPTS:
                self.tracker.seed(at, _as_detections(boxes))
                self._follow_up(at + self.tracker.hold + 1, boxes)
                self.checks[at] = (self._submit_check(at, self.buffer[position][1], region), attempt + 1)
                self.rounds = max(self.rounds, attempt + 1)
                return self._settle_checks(index, final)
            self.results[at] = found
            del self.checks[at]
            self.follow_ups.pop(at, None)
        return True

    def _follow_up(self, at: int, boxes: list[tuple[int, int, int, int]]) -> None:
        """Check frame `at` around `boxes` (which may move meanwhile: 1.5 sizes each way)."""
        found = np.asarray(boxes, np.float32).reshape(-1, 4)
        if at in self.follow_ups:
            found = np.concatenate([found, np.asarray([self.follow_ups[at]], np.float32)])
        size = np.maximum(found[:, 2] - found[:, 0], found[:, 3] - found[:, 1])
        reach = np.maximum(1.5 * size, 64.0)[:, None]
        low = (found[:, :2] - reach).min(axis=0).clip(0)
        high = (found[:, 2:] + reach).max(axis=0)
        x2, y2 = min(self.width, int(high[0])), min(self.height, int(high[1]))
        self.follow_ups[at] = (int(low[0]), int(low[1]), x2, y2)

    def _submit_check(
        self, index: int, frame: av.VideoFrame, region: tuple[int, int, int, int] | None = None
    ) -> Future[Check]:
        image, faces = rgb(frame), self._faces_at(index)
        masked, area = self._masked(image, faces, with_area=True)
        if region is None:
            return self.check_pool.submit(self._check, image, masked, faces, area)
        x1, y1, x2, y2 = region
        crop = (slice(y1, y2), slice(x1, x2))
        return self.check_pool.submit(
            self._check, image[crop], masked[crop], faces.shifted(-x1, -y1), area[crop], (x1, y1)
        )

    def _faces_at(self, index: int) -> Detections:
        """Every box masked on frame `index`: tracks (but those switched off), what the check
        found (source "check"), and the ranges a person added."""
        faces = self.tracker.boxes_at(index, self.off)
        if self.coded_edits is not None:
            faces = Detections.merge([faces, _ranges_at(self.coded_edits, index)])
        return faces

    def _masked(
        self, image: Image, faces: Detections, with_area: bool = False
    ) -> tuple[Image, npt.NDArray[np.bool_]]:
        """`image` with `faces` masked, what the check found solid and larger; with `with_area`
        (a checked frame) also where masks were drawn, else an empty array."""
        found = faces.sources == "check"
        grow, shape = self.settings.grow, self.settings.shape
        masked = apply_masks(image, faces[~found], self.settings.mask, shape, grow)
        if found.any():
            masked = apply_masks(masked, faces[found], MaskStyle.SOLID, shape, grow * SEED_GROW)
        area = np.zeros((0, 0), bool)
        if with_area:
            area = mask_area(masked.shape, faces[~found], shape, grow)
            if found.any():
                area |= mask_area(masked.shape, faces[found], shape, grow * SEED_GROW)
        return masked, area

    def _emit(self, index: int, frame: av.VideoFrame, hidden: bool = False) -> None:
        if hidden:
            return  # a neighbouring segment's frame, looked at for the hold or back-fill only
        padded = (self.out_width, self.out_height) != (self.width, self.height)
        faces = self._faces_at(index)
        if len(faces) or padded:
            masked, _ = self._masked(rgb(frame), faces)
            if padded:
                # x264's 4:2:0 needs even sizes: repeat the last row / column (no face pixels added)
                masked = np.pad(
                    masked,
                    ((0, self.out_height - self.height), (0, self.out_width - self.width), (0, 0)),
                    mode="edge",
                )
            out = av.VideoFrame.from_ndarray(masked, format="rgb24").reformat(format="yuv420p")
        else:
            out = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
        self.tracker.forget_before(index)
        out.pts, out.time_base = frame.pts, self.video.time_base
        assert self.out is not None
        self.out.mux(self.encoder.encode(out))
        self.emitted += 1

    def _check(
        self,
        original: Image,
        masked: Image,
        faces: Detections,
        area: npt.NDArray[np.bool_],
        offset: tuple[int, int] = (0, 0),
    ) -> Check:
        """The verifier's attack on the upright picture (or a part of it, `offset` from the
        top left); boxes come back in coded-picture pixels."""
        turns = self.rotation
        coded_h, coded_w = original.shape[:2]

        def upright(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return np.ascontiguousarray(np.rot90(array, turns))

        height, width = (coded_w, coded_h) if turns % 2 else (coded_h, coded_w)
        turned = unrotate(faces.boxes, (4 - turns) % 4, width, height)  # coded -> upright
        faces_up = Detections(turned, faces.scores, faces.sources)
        attack = self.verifier.check if self.verifier is not None else check_frame
        check = attack(upright(original), upright(masked), faces_up, upright(area))

        def back(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
            if not boxes:
                return boxes
            coded = unrotate(np.asarray(boxes, np.float32), turns, coded_w, coded_h)
            coded += np.asarray([offset[0], offset[1], offset[0], offset[1]], np.float32)
            return [(a, b, c, d) for a, b, c, d in coded.round().astype(int).tolist()]

        check.redetected_boxes = back(check.redetected_boxes)
        check.leaking_boxes = back(check.leaking_boxes)
        return check


def _as_detections(boxes: list[tuple[int, int, int, int]]) -> Detections:
    return Detections(np.asarray(boxes, np.float32).reshape(-1, 4), np.ones(len(boxes), np.float32))


def _ints(box: FloatArray) -> tuple[int, ...]:
    return tuple(int(round(float(v))) for v in box)


def _coded(edits: Edits, rotation: int, width: int, height: int) -> Edits:
    """`edits` (upright pixels) in the pixels of the coded picture (width x height)."""

    def back(boxes: list[Any]) -> list[Any]:
        if not boxes:
            return []
        coded = unrotate(np.asarray(boxes, np.float32).reshape(-1, 4), rotation, width, height)
        return [tuple(map(float, b)) for b in coded]

    ranges = []
    for item in edits.added_ranges:
        box = back([item["box"]])[0]
        ranges.append({"box": list(box), "first": int(item["first"]), "last": int(item["last"])})  # type: ignore[call-overload]
    return Edits(
        added=back(edits.added),
        removed=back(edits.removed),
        mask=edits.mask,
        tracks_off=list(edits.tracks_off),
        added_ranges=ranges,
    )


def _ranges_at(edits: Edits, index: int) -> Detections:
    """The masks a person added over frame ranges that cover frame `index`."""
    boxes = [r["box"] for r in edits.added_ranges if int(r["first"]) <= index <= int(r["last"])]  # type: ignore[call-overload]
    if not boxes:
        return Detections.empty()
    return Detections(np.asarray(boxes, np.float32), np.ones(len(boxes), np.float32)).with_source("review")


def rgb(frame: av.VideoFrame) -> Image:
    """The frame as an H x W x 3 uint8 RGB array (any bit depth in)."""
    return np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)


def unrotate(boxes: FloatArray, turns: int, width: int, height: int) -> FloatArray:
    """Boxes found on np.rot90(image, turns) mapped back onto the image (width x height)."""
    sizes = [(width, height)]
    for _ in range(turns):
        sizes.append(sizes[-1][::-1])
    out = np.asarray(boxes, np.float32).reshape(-1, 4)
    for step in reversed(range(turns)):
        w = sizes[step][0]
        out = np.stack([w - out[:, 3], out[:, 0], w - out[:, 1], out[:, 2]], axis=1)
    return out.astype(np.float32)


def _reason(error: BaseException) -> str:
    """FFmpeg's words without its errno noise."""
    if isinstance(error, av.error.FFmpegError):
        return str(error.strerror or error).lower()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def inspect_video(src: Path, detector: Detector, samples: int = 10) -> tuple[Detections, list[str], int, int]:
    """The faces of the busiest of `samples` frames spread over the clip, the identifying
    metadata and extra tracks present, and the picture size. Nothing is written."""
    container = _open(Path(src))
    try:
        video = streams.main_video(container)
        if video is None:
            raise UnsupportedInput(f"{src}: no video stream")
        found = streams.dropped(container, video, keep_audio=True)
        total = video.frames or 0
        step = max(1, total // samples) if total else 30
        most = Detections.empty()
        for index, frame in enumerate(container.decode(video)):
            if index % step == 0:
                found_here = detector.detect(rgb(frame))
                most = found_here if len(found_here) > len(most) else most
            if index >= step * samples:
                break
        return most, found, video.codec_context.width, video.codec_context.height
    except av.error.FFmpegError as error:
        raise UnreadableInput(f"{src}: {_reason(error)}") from error
    finally:
        container.close()
