"""The video entry points: write a masked clip, plan a stretch's masks for the review, inspect.

`anonymize_video` is the one way a clip is masked: `anonymize_file` (the CLI, batch, the review
export) and the segment tasks of a split job all call it, with the verifier they were given.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import av.error
import numpy as np

from unseen.detect.base import Detector
from unseen.edits import Edits
from unseen.errors import OutputError, UnreadableInput, UnsupportedInput, VerificationFailed
from unseen.media import video_streams as streams
from unseen.media.segments import Span
from unseen.media.video_io import open_input, reason, upright
from unseen.redact.masks import head_boxes
from unseen.settings import Settings, TextMode
from unseen.tempfiles import output_temp
from unseen.types import Check, Detections, Finding, Image, MaskStyle, Report, Verdict
from unseen.verify.verifier import Verifier
from unseen.video.painting import coverage_notes
from unseen.video.pipeline import Job, PlannedFrame, Progress

if TYPE_CHECKING:
    from unseen.text import TextDetector

SHOWN = 5  # findings named in a message; the report holds all
SAMPLES_PER_SECOND = 2.0  # `inspect` looks at most at this many frames a second of a clip


def anonymize_video(
    src: Path,
    dst: Path,
    settings: Settings,
    detector: Detector | None = None,
    progress: Progress | None = None,
    edits: Edits | None = None,
    span: Span | None = None,
    verifier: Verifier | None = None,
    text_detector: TextDetector | None = None,
) -> Report:
    """Write `dst`: `src` with every face masked, audio copied as is, nothing identifying kept.

    `edits` are a person's corrections (boxes in upright pixels): tracks switched off, masks
    added over frame ranges or on every frame, detections removed, another mask style. Added
    boxes are face boxes: like detections they are grown to the head they belong to.
    `detector` defaults to the photo detector's factory; `verifier` attacks the checked frames
    (default: the verify package's). With a `span` only that stretch is written, video only,
    timestamps as in the input: a segment for `unseen.media.segments` to join; frame numbers
    in the report stay those of the whole clip. Text is masked as `settings.text` says
    (`text_detector` defaults to the text package's).
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
    open_input(src).close()  # unreadable input fails before anything is created
    tmp = output_temp(dst)
    try:
        with open_input(src) as source:
            job = Job(source, src, settings, _detector(detector, settings), edits, span, verifier, progress)
            job.look_for_text(text_detector)
            job.run(tmp)
        report = _report(job)
        assert report.check is not None
        report.check.metadata_left = streams.read_back(tmp)
        if report.check.metadata_left:
            report.verdict = Verdict.REFUSED
            raise VerificationFailed(
                f"{src}: identifying metadata survived: {', '.join(report.check.metadata_left)}", report
            )
        if report.check.findings and not settings.force:
            report.verdict = Verdict.REFUSED
            raise VerificationFailed(f"{src}: {refusal(report.check.findings)}", report)
        if job.text is not None and (text_refused := job.text.refusal()):
            if not settings.force:
                report.verdict = Verdict.REFUSED
                raise VerificationFailed(f"{src}: {text_refused}", report)
            report.verdict = Verdict.UNVERIFIED
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; the output is an ordinary file, meant to be shared
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    report.output = str(dst)
    report.seconds = time.perf_counter() - started
    return report


def refusal(findings: list[Finding]) -> str:
    """Why a clip was refused, naming the frames and positions (a few; the report has all)."""
    frames = sorted({f.frame for f in findings})
    where = ", ".join(
        f"frame {f.frame} at ({f.box[0]},{f.box[1]})-({f.box[2]},{f.box[3]}) {f.kind.value}"
        for f in findings[:SHOWN]
    )
    more = f" and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
    return (
        f"a face is still detectable or recognizable in {len(frames)} checked frame(s): {where}{more}; "
        "nothing written (--force writes it marked unverified)"
    )


def _detector(detector: Detector | None, settings: Settings) -> Detector:
    if detector is not None:
        return detector
    from unseen.models import default_detector

    return default_detector(settings)


def _report(job: Job) -> Report:
    """What the job did: the faces masked (per track and range, frames and largest mask), the
    metadata dropped, the check, how much of the picture the masks took."""
    settings = job.settings
    check = job.checks.total() if job.checks is not None else Check()
    last_frame = job.start_index + job.emitted - 1
    faces = [
        r
        for r in job.tracker.records
        if r.track not in job.off
        and (r.last is None or r.last >= job.start_index)
        and (r.first is None or r.first <= last_frame)  # masked on a frame of this job's
        and r.max_mask_box is not None  # painted at all (a track may fall between frames written)
    ]
    faces += list(job.range_records.values())
    for face in faces:
        first = Detections(np.asarray([face.box], np.float32), np.ones(1, np.float32))
        grow = settings.grow * (1.25 if face.source == "check" else 1.0)
        face.mask_box = tuple(int(round(v)) for v in head_boxes(first, (job.height, job.width), grow)[0])  # type: ignore[assignment]
        if face.first is not None:
            face.first = max(face.first, job.start_index)
        if face.last is not None:
            face.last = min(face.last, last_frame)
    clean = not check.findings and not (job.text is not None and job.text.failures)
    verdict = Verdict.VERIFIED if settings.verify and clean else Verdict.UNVERIFIED
    assert job.painter is not None
    coverage = job.painter.coverage()
    notes = coverage_notes(coverage)
    aside = job.checks.set_aside if job.checks is not None else []
    if aside:
        named = ", ".join(
            f"frame {f.frame} at ({f.box[0]},{f.box[1]})-({f.box[2]},{f.box[3]})" for f in aside[:SHOWN]
        )
        notes.append(f"{len(aside)} finding(s) of the check too big to be a face, not masked: {named}")
    width, height = job.width, job.height
    if job.encoder is not None:  # the written picture, padded to even sizes, as shown
        width, height = job.encoder.out_width, job.encoder.out_height
        width, height = (height, width) if job.encoder.turns % 2 else (width, height)
    return Report(
        source=str(job.src),
        output=None,
        width=width,
        height=height,
        faces=faces,
        mask=settings.mask,
        metadata_removed=job.removed,
        verdict=verdict,
        check=check,
        coverage=coverage,
        notes=notes,
        stages=job.stages() | ({"text": round(job.text.seconds, 3)} if job.text is not None else {}),
        text=job.text.report() if job.text is not None else None,
    )


def plan_masks(
    src: Path,
    span: Span,
    settings: Settings,
    detector: Detector | None = None,
    edits: Edits | None = None,
    text_detector: TextDetector | None = None,
) -> dict[int, PlannedFrame]:
    """The masks export would paint on each frame of `span` (upright pixels), found the way export
    finds them (cadence, tracker, text looks, the half second around it), without the check: for
    the review's preview of a clip not yet written. Nothing is written."""
    settings = replace(settings, verify=False)
    edits = edits if edits is not None and not edits.is_empty() else None
    with open_input(Path(src)) as source:
        job = Job(source, Path(src), settings, _detector(detector, settings), edits, span)
        if settings.text is not TextMode.OFF:  # off masks no text: nothing to show
            job.look_for_text(text_detector)
        job.run(None)
    assert job.plan is not None
    return job.plan


def inspect_video(
    src: Path,
    detector: Detector,
    samples: int = 10,
    look: Callable[[Image, Detections], None] | None = None,
) -> tuple[Detections, list[str], int, int]:
    """The faces of the busiest of `samples` frames spread over the clip (at most two a second), the
    identifying metadata and extra tracks present, and the picture size (upright). Nothing is written.
    `look(frame, faces)` is called on each sampled frame (the text survey)."""
    container = open_input(Path(src))
    try:
        video = streams.main_video(container)
        if video is None:
            raise UnsupportedInput(f"{src}: no video stream")
        found = streams.dropped(container, video, keep_audio=True)
        total = video.frames or 0
        # spread over the clip, at most two a second: frames a few apart show the same faces
        fps = streams.frame_rate(video)
        step = max(1, total // samples, round(fps / SAMPLES_PER_SECOND)) if total else 30
        most = Detections.empty()
        width, height = video.codec_context.width, video.codec_context.height
        for index, frame in enumerate(container.decode(video)):
            if index % step == 0:
                pixels = upright(frame)
                height, width = pixels.shape[:2]
                found_here = detector.detect(pixels)
                if look is not None:
                    look(pixels, found_here)
                most = found_here if len(found_here) > len(most) else most
            if index >= step * samples:
                break
        return most, found, width, height
    except av.error.FFmpegError as error:
        raise UnreadableInput(f"{src}: {reason(error)}") from error
    finally:
        container.close()
