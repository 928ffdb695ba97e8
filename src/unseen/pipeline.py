"""One image in, one masked image out, one Report: the photo pipeline. Never prints."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from unseen.detect import Detector
from unseen.dnn import release_all
from unseen.edits import Edits, sidecar_for
from unseen.errors import InputTooLarge, OutputError, UnreadableInput, VerificationFailed
from unseen.models import default_detector
from unseen.names import candidate_names, output_name, public_stem
from unseen.redact import apply_masks, head_boxes
from unseen.settings import AudioPolicy, Settings
from unseen.tempfiles import clean_stale
from unseen.types import Check, Detections, FaceRecord, Image, MaskStyle, Report, TextReport, Verdict

if TYPE_CHECKING:
    from unseen.text import TextDetector
    from unseen.verify import Verifier


# Past this many pixels the networks give their buffers back after each step (unseen.dnn), so a
# photo's peak is its largest step, not the sum of them: a 12 MP photo 1.7 GB -> 0.85 GB. Smaller
# photos keep them for the next photo of a folder: loading and planning them again cost 0.33 s a
# photo, 13% of a folder of 1 MP photos, whose peak stays about 1.5 GB.
RELEASE_ABOVE = 4_000_000


def _nothing() -> None:
    pass


def find_faces(
    image: Image, settings: Settings | None = None, detector: Detector | None = None
) -> Detections:
    """Every face the mask-deciding detector finds, small ones included."""
    settings = settings or Settings()
    return (detector or default_detector(settings)).detect(image)


def face_records(detections: Detections, shape: tuple[int, ...], grow: float = 1.0) -> list[FaceRecord]:
    """Positions of masked faces for the report: face box and the head region masked."""
    heads = head_boxes(detections, shape, grow).round().astype(int)
    return [
        FaceRecord(
            box=tuple(int(v) for v in box.round()),  # type: ignore[arg-type]
            score=round(float(score), 3),
            source=str(source),
            mask_box=tuple(int(v) for v in head),  # type: ignore[arg-type]
        )
        for box, score, source, head in zip(
            detections.boxes, detections.scores, detections.sources, heads, strict=True
        )
    ]


def anonymize(
    image: Image,
    settings: Settings | None = None,
    *,
    detector: Detector | None = None,
    verifier: Verifier | None = None,
    source: Path | None = None,
    edits: Edits | None = None,
    text_detector: TextDetector | None = None,
) -> tuple[Image, Report]:
    """Mask every face in an RGB uint8 array; returns the masked copy and what was done.

    With verification on (the default) the result has been attacked by a second detector and a
    recognizer; report.verdict is "refused" when masking harder could not make it pass.
    """
    settings = settings or Settings()
    if edits is not None and edits.mask:
        settings = replace(settings, mask=MaskStyle(edits.mask))
    start = time.perf_counter()
    step_done = release_all if image.shape[0] * image.shape[1] > RELEASE_ABOVE else _nothing
    step_done()  # what a smaller photo before it left
    detections = find_faces(image, settings, detector)
    step_done()
    if edits is not None:
        detections = edits.apply(detections)
    check: Check | None = None
    if settings.verify:
        from unseen.verify import protect

        bare = edits.removed_boxes() if edits is not None else None
        masked, detections, check, passed = protect(image, detections, settings, verifier=verifier, bare=bare)
        verdict = Verdict.VERIFIED if passed else Verdict.REFUSED
    else:
        masked = apply_masks(image, detections, settings.mask, settings.shape, settings.grow)
        detections = detections.with_grow(detections.grow * settings.grow)
        verdict = Verdict.UNVERIFIED
    step_done()
    from unseen.text import protect_text

    masked, text, text_passed = protect_text(image, masked, detections, settings, text_detector)
    step_done()
    if not text_passed:
        verdict = Verdict.REFUSED
    report = Report(
        source=str(source) if source else None,
        output=None,
        width=int(image.shape[1]),
        height=int(image.shape[0]),
        faces=face_records(detections, image.shape),
        mask=settings.mask,
        verdict=verdict,
        check=check,
        text=text,
    )
    report.seconds = round(time.perf_counter() - start, 4)
    return masked, report


def anonymize_file(
    src: Path | str,
    dst: Path | str | None = None,
    settings: Settings | None = None,
    *,
    folder: Path | None = None,
    detector: Detector | None = None,
    verifier: Verifier | None = None,
    edits: Edits | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    text_detector: TextDetector | None = None,
) -> Report:
    """Write a masked, metadata-free, verified copy of a photo or video; the input is never touched.

    dst defaults to NAME.unseen.EXT beside the input (or in `folder`; see default_output for names
    that show a time), numbered when that file exists, which is never replaced. dst's extension
    picks the format (a photo in another photo format, a video in another container; across kinds
    is an OutputError). The output appears whole or not at all. A person's corrections (`edits`,
    else the sidecar file beside the output that `unseen review` writes) are applied to the
    detections. Raises InputError for unusable input, OutputError, or VerificationFailed (nothing
    written) unless settings.force. `progress(done, total)` is called per video frame.
    """
    from unseen.media.image import load_image, read_back, save_image
    from unseen.media.registry import FileKind, identify, output_type
    from unseen.video import anonymize_video

    settings = settings or Settings()
    src = Path(src)
    _check_source(src)
    start = time.perf_counter()
    media = identify(src)  # a photo by its bytes first: FFmpeg would open a HEIC as a video
    target = Path(dst) if dst else _free_output(src, media.suffix, folder, media.kind, settings)
    out_type = output_type(target, media)
    _check_target(src, target)
    if edits is None and sidecar_for(target).is_file():
        edits = Edits.load(sidecar_for(target))
    if media.kind is FileKind.VIDEO:
        if settings.audio is AudioPolicy.DISGUISE:  # the picture as usual, then the voices
            from unseen.media.video_streams import read_back as video_read_back
            from unseen.voice import disguise_video

            return disguise_video(
                src,
                target,
                settings,
                lambda out, s: anonymize_video(
                    src,
                    out,
                    s,
                    detector=detector,
                    progress=progress,
                    edits=edits,
                    verifier=verifier,
                    text_detector=text_detector,
                ),
                video_read_back,
            )
        return anonymize_video(
            src,
            target,
            settings,
            detector=detector,
            progress=progress,
            edits=edits,
            verifier=verifier,
            text_detector=text_detector,
        )
    assert out_type.image_format is not None
    loaded = load_image(src, settings.max_pixels)
    clean_stale(target.parent)
    with _bounded(src):
        masked, report = anonymize(
            loaded.pixels,
            settings,
            detector=detector,
            verifier=verifier,
            source=src,
            edits=edits,
            text_detector=text_detector,
        )
    report.metadata_removed = list(loaded.metadata)
    if report.verdict == Verdict.REFUSED.value and not settings.force:
        raise VerificationFailed(_refusal(src, report), report)

    def metadata_read_back(written: Path) -> None:
        left = read_back(written)
        if report.check is not None:
            report.check.metadata_left = left
        if left:
            raise VerificationFailed(
                f"{src}: identifying metadata survived in the output: {', '.join(left)}", report
            )

    save_image(masked, target, out_type.image_format, alpha=loaded.alpha, check=metadata_read_back)
    if report.verdict == Verdict.REFUSED:
        report.verdict = Verdict.UNVERIFIED  # written only because of --force
    report.output = str(target)
    report.seconds = round(time.perf_counter() - start, 4)
    return report


@contextmanager
def _bounded(src: Path) -> Iterator[None]:
    """Out-of-memory inside a model becomes a clear error naming the file, not a traceback."""
    import cv2

    try:
        yield
    except (MemoryError, cv2.error) as exc:
        raise InputTooLarge(
            f"{src}: too large to process in this machine's memory ({type(exc).__name__})"
        ) from exc


def _check_source(src: Path) -> None:
    if not src.is_file():
        if src.is_dir():
            raise UnreadableInput(f"{src}: is a folder, not a photo or video")
        raise UnreadableInput(f"{src}: no such file" if not src.exists() else f"{src}: not a regular file")


def _refusal(src: Path, report: Report) -> str:
    """Why an output was refused, naming faces by position only."""
    check = report.check or Check()
    where = [*check.redetected_boxes, *check.leaking_boxes]
    boxes = ", ".join(f"({x1},{y1})-({x2},{y2})" for x1, y1, x2, y2 in where[:5])
    if report.text is not None and report.text.redetected and check.passed:
        text_at = ", ".join(f"({x1},{y1})-({x2},{y2})" for x1, y1, x2, y2 in report.text.redetected_boxes[:5])
        return (
            f"{src}: refused, verification still finds {report.text.redetected} unmasked text "
            f"region(s) the --text {report.text.mode} mode masks at {text_at} after {report.text.rounds} "
            "rounds; nothing written (--force writes it marked unverified)"
        )
    return (
        f"{src}: refused, verification still finds {check.redetected} unmasked face(s) and "
        f"{len(check.leaking_boxes)} recognisable one(s) after {check.rounds} rounds"
        + (f" at {boxes}" if boxes else "")
        + "; nothing written (--force writes it marked unverified)"
    )


def inspect_file(
    src: Path | str, settings: Settings | None = None, *, detector: Detector | None = None
) -> Report:
    """Faces found and identifying metadata present in a photo or video; nothing is written.

    For a video, the face count is the most faces found in any of ten frames spread over it.
    """
    from unseen.media.image import load_image
    from unseen.media.registry import FileKind, identify
    from unseen.video import inspect_video

    settings = settings or Settings()
    src = Path(src)
    _check_source(src)
    start = time.perf_counter()
    if identify(src).kind is FileKind.VIDEO:
        # a sample of frames, at the image's own size: enough to say whether faces are there
        from unseen.text.protect import busiest, survey_text

        surveys: list[TextReport | None] = []
        faces, metadata, width, height = inspect_video(
            src, detector or default_detector(settings), look=lambda f, d: surveys.append(survey_text(f, d))
        )
        report = Report(source=str(src), output=None, width=width, height=height, metadata_removed=metadata)
        report.faces = face_records(faces, (height, width))
        report.text = busiest(surveys)
        report.seconds = round(time.perf_counter() - start, 4)
        return report
    loaded = load_image(src, settings.max_pixels)
    detections = find_faces(loaded.pixels, settings, detector)
    report = Report(
        source=str(src),
        output=None,
        width=int(loaded.pixels.shape[1]),
        height=int(loaded.pixels.shape[0]),
        faces=face_records(detections, loaded.pixels.shape, settings.grow),
        metadata_removed=list(loaded.metadata),
        verdict=Verdict.UNVERIFIED,
    )
    from unseen.text.protect import survey_text

    report.text = survey_text(loaded.pixels, detections)
    report.seconds = round(time.perf_counter() - start, 4)
    return report


def default_output(
    src: Path, suffix: str, folder: Path | None = None, kind: str = "image", settings: Settings | None = None
) -> Path:
    """crowd.jpg -> crowd.unseen.jpg, beside the input or in `folder`; a name that shows a capture
    time or camera counter (PXL_20240501_142233.jpg) -> photo.unseen.jpg unless settings.names keeps it."""
    policy = (settings or Settings()).names
    return (folder or src.parent) / output_name(public_stem(src.name, kind, policy), suffix)


def _free_output(src: Path, suffix: str, folder: Path | None, kind: str, settings: Settings) -> Path:
    """The default output, or the next free name (photo-2...) when a file is there: an output
    path the caller did not choose never replaces anything (several PXL_* photos all become photo)."""
    where = folder or src.parent
    for name in candidate_names(src.name, kind, suffix, settings.names):
        if not (where / name).exists():
            return where / name
    raise OutputError(f"{src}: no free output name in {where}")


def _check_target(src: Path, dst: Path) -> None:
    """Refuse to write over the input, into a missing folder, or onto a folder."""
    if dst.resolve() == src.resolve() or (dst.exists() and dst.samefile(src)):
        raise OutputError(f"{dst}: is the input file; unseen never overwrites its input")
    if not dst.parent.is_dir():
        raise OutputError(f"{dst}: the output folder {dst.parent} does not exist")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a folder; give a file name or use it with several inputs")
