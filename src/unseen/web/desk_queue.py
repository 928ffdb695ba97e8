"""The desk's work queue: one file at a time through `unseen.anonymize_file`, verified.

Two cores and one model: files are done in the order they arrived, one after the other, each
with what the person corrected in the editor. Every entry says where it is (waiting, working,
done, refused, failed, not a photo or video), a video's frames done and time left, and its
outcome in terms the page turns into words: faces masked, metadata removed, verified, or
refused with what to look at and where. Never distances or scores.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from unseen.detect import Detector
from unseen.errors import (
    InputTooLarge,
    OutputError,
    UnreadableInput,
    UnseenError,
    UnsupportedInput,
    VerificationFailed,
)
from unseen.settings import Settings
from unseen.types import FindingKind, Report
from unseen.web.catalog import Catalog
from unseen.web.desk_text import regions_left, text_counts, when
from unseen.web.items import Item

if TYPE_CHECKING:
    from unseen.text import TextDetector
    from unseen.verify import Verifier

WAITING, WORKING, DONE, REFUSED, FAILED, SKIPPED = (
    "waiting",
    "working",
    "done",
    "refused",
    "failed",
    "skipped",
)


class Stopped(Exception):
    """The desk is closing: the file being done is dropped, its partial output removed."""


@dataclass
class Entry:
    """One file on the desk and what has happened to it so far."""

    item: Item
    size: int = 0
    state: str = WAITING
    frames: tuple[int, int | None] | None = None
    started: float | None = None
    seconds_left: float | None = None
    seconds: float | None = None
    faces: int | None = None
    metadata: list[str] = field(default_factory=list)
    verdict: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None  # a kind the page names: unreadable, unsupported, too_large, output, other
    detail: str | None = None  # the error's own words, folder names removed
    done_version: int | None = None  # the edits version the written output holds
    text: dict[str, Any] | None = None  # text on people and elsewhere: found, masked, left
    left_bare: int = 0  # what the check found where the person said to leave a face bare
    masks_wide: list[dict[str, Any]] = field(default_factory=list)  # a clip's masks that took much of it

    def as_dict(self) -> dict[str, Any]:
        item = self.item
        changed = self.state in (DONE, REFUSED) and item.version != self.done_version
        return {
            "id": item.id,
            "name": item.name,
            "kind": item.kind,
            "size": self.size,
            "state": self.state,
            "frames": list(self.frames) if self.frames else None,
            "seconds_left": None if self.seconds_left is None else round(self.seconds_left),
            "seconds": None if self.seconds is None else round(self.seconds, 1),
            "faces": self.faces,
            "metadata": list(self.metadata),
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "left_bare": self.left_bare,
            "masks_wide": list(self.masks_wide),
            "error": self.error,
            "detail": self.detail,
            "output": item.output.name if self.state == DONE else None,
            "version": item.version,
            "changed": changed,
            "text": self.text,
        }


class WorkQueue:
    """Files processed one at a time in a background thread, in the order they came."""

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        detector: Detector | None = None,
        verifier: Verifier | None = None,
        text_detector: TextDetector | None = None,
    ) -> None:
        self.catalog, self.settings = catalog, settings
        self.detector, self.verifier = detector, verifier
        self.text_detector = text_detector  # None: the installed one, when the text mode needs it
        self.entries: list[Entry] = []
        self._lock = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="unseen-desk-queue", daemon=True)
        self._thread.start()

    def add(self, item: Item, size: int, state: str = WAITING, detail: str | None = None) -> Entry:
        """Put an item on the desk; a waiting one is done after those before it. `detail`: why it
        was not taken (an error's words; this machine's folder names are removed)."""
        entry = Entry(item=item, size=size, state=state, detail=_short(detail, item) if detail else None)
        if state == SKIPPED:
            entry.error = "unsupported"
        elif state == FAILED:
            entry.error = "unreadable"  # refused on arrival: `detail` says why
        with self._lock:
            self.entries.append(entry)
            self._lock.notify_all()
        return entry

    def get(self, item_id: int) -> Entry | None:
        with self._lock:
            return next((e for e in self.entries if e.item.id == item_id), None)

    def redo(self, items: list[Item]) -> list[Entry]:
        """Do these again with the person's latest corrections (after the editor)."""
        again, ids = [], {item.id for item in items}
        with self._lock:
            for entry in self.entries:
                if entry.item.id in ids and entry.state in (DONE, REFUSED, FAILED):
                    entry.state, entry.frames, entry.seconds_left = WAITING, None, None
                    again.append(entry)
            self._lock.notify_all()
        return again

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [entry.as_dict() for entry in self.entries]

    @property
    def busy(self) -> bool:
        with self._lock:
            return any(e.state in (WAITING, WORKING) for e in self.entries)

    def wait(self, timeout: float = 600) -> bool:
        """Block until nothing waits or works (for tests and scripts); False on timeout."""
        end = time.monotonic() + timeout
        with self._lock:
            while any(e.state in (WAITING, WORKING) for e in self.entries):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.2))
        return True

    def stop(self, timeout: float = 30) -> None:
        """Stop after (or in the middle of) the current file; its partial output is removed."""
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        self._thread.join(timeout)

    def _next(self) -> Entry | None:
        with self._lock:
            while not self._stopping:
                for entry in self.entries:
                    if entry.state == WAITING:
                        entry.state, entry.started = WORKING, time.monotonic()
                        return entry
                self._lock.wait(1.0)
        return None

    def _run(self) -> None:
        while (entry := self._next()) is not None:
            try:
                self._process(entry)
            except Stopped:
                return
            finally:
                with self._lock:
                    self._lock.notify_all()

    def _progress(self, entry: Entry) -> Any:
        def progress(done: int, total: int | None) -> None:
            if self._stopping:
                raise Stopped
            now = time.monotonic()
            left = None
            if total and 0 < done < total and entry.started is not None:
                left = (now - entry.started) / done * (total - done)
            with self._lock:
                entry.frames, entry.seconds_left = (done, total), left

        return progress

    def _process(self, entry: Entry) -> None:
        """Write one output; a refusal or an error is the entry's outcome, never an exception."""
        from unseen.pipeline import anonymize_file

        item = entry.item
        with item.lock:
            edits, version = item.edits, item.version
        outcome: dict[str, Any]
        try:
            report = anonymize_file(
                item.source,
                item.output,
                self.settings,
                detector=self.detector,
                verifier=self.verifier,
                edits=edits,
                progress=self._progress(entry),
                text_detector=self.text_detector,
            )
        except Stopped:
            raise
        except VerificationFailed as error:
            refused = error.report if isinstance(error.report, Report) else None
            item.verdict = "refused"
            if refused is not None and item.kind == "video" and not item.tracks:
                self.catalog.take_report(item, refused.faces)  # what to correct, though nothing was written
            fps = self._fps(item) if refused is not None and item.kind == "video" else None
            self._take_text_and_findings(item, refused)
            outcome = {
                "state": REFUSED,
                "verdict": "refused",
                "faces": refused.face_count if refused else None,
                "metadata": list(refused.metadata_removed) if refused else [],
                "reasons": reasons(refused, fps),
                "detail": _short(str(error), item),
                "text": self._text(item, refused),
                "left_bare": 0,
                "masks_wide": [],
            }
        except (UnseenError, OSError) as error:
            item.verdict = "error"
            outcome = {
                "state": FAILED,
                "error": _kind(error),
                "detail": _short(str(error), item),
                "left_bare": 0,
            }
        else:
            item.verdict, item.face_count, item.exported_version = report.verdict, report.face_count, version
            if item.kind == "video":
                self.catalog.take_report(item, report.faces)
            self._take_text_and_findings(item, report)
            outcome = {
                "text": self._text(item, report),
                "state": DONE,
                "verdict": report.verdict,
                "faces": report.face_count,
                "metadata": list(report.metadata_removed),
                "reasons": [],
                "error": None,
                "detail": None,
                "left_bare": len(report.check.left_bare) if report.check is not None else 0,
                "masks_wide": self._wide(item, report),
            }
        with self._lock:
            for name, value in outcome.items():
                setattr(entry, name, value)
            entry.done_version = version
            entry.frames, entry.seconds_left = None, None
            entry.seconds = time.monotonic() - (entry.started or time.monotonic())

    def _wide(self, item: Item, report: Report) -> list[dict[str, Any]]:
        """A clip's masks that took much of the picture, with the worst frame and its time."""
        if report.coverage is None:
            return []
        from unseen.video.painting import wide_masks

        found = wide_masks(report.coverage)
        fps = self._fps(item) if found else None
        return [
            {
                "kind": kind,
                "percent": round(100 * share),
                "frame": frame,
                "frame_percent": round(100 * frame_share),
                "seconds": round(frame / fps, 2) if fps and frame is not None else None,
            }
            for kind, share, frame, frame_share in found
        ]

    def _fps(self, item: Item) -> float | None:
        """The clip's frame rate, to put a time next to a frame number; None when it cannot be read."""
        try:
            return self.catalog.video_size(item)[3] or None
        except UnseenError:
            return None

    def _take_text_and_findings(self, item: Item, report: Report | None) -> None:
        """What the editor shows of this run: text it left, and a refused clip's frames."""
        with item.lock:
            item.text_left = regions_left(report.text if report is not None else None)
            masked = regions_left(report.text if report is not None else None, masked=True)
            item.text_masked = [region["box"] for region in masked]
            check = report.check if report is not None else None
            item.findings = [
                {"frame": f.frame, "box": list(f.box), "kind": f.kind.value}
                for f in (check.findings if check else [])
            ]
        if report is not None and report.width and not item.width:
            item.width, item.height = report.width, report.height

    def _text(self, item: Item, report: Report | None) -> dict[str, Any] | None:
        return text_counts(report.text if report is not None else None, self.catalog.added_mask_boxes(item))


def where(box: tuple[int, int, int, int] | list[int], width: int, height: int) -> str:
    """A place in words a page can translate: top-left, middle-centre, bottom-right..."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2 / max(width, 1), (y1 + y2) / 2 / max(height, 1)
    row = "top" if cy < 1 / 3 else "middle" if cy < 2 / 3 else "bottom"
    col = "left" if cx < 1 / 3 else "centre" if cx < 2 / 3 else "right"
    return f"{row}-{col}"


def reasons(report: Report | None, fps: float | None = None) -> list[dict[str, Any]]:
    """Why verification refused, by kind and place (and for a clip, when): what to look at."""
    if report is None or report.check is None:
        return [{"kind": "unknown"}]
    check, size = report.check, (report.width, report.height)
    found: list[dict[str, Any]] = []
    for kind, boxes in (("face_found", check.redetected_boxes), ("recognisable", check.leaking_boxes)):
        places = sorted({where(box, *size) for box in boxes})
        if boxes:
            found.append({"kind": kind, "count": len(boxes), "places": places})
    if check.redetected and not check.redetected_boxes:
        found.append({"kind": "face_found", "count": check.redetected, "places": []})
    for kind, finding in (("face_found", FindingKind.DETECTED), ("recognisable", FindingKind.RECOGNIZABLE)):
        chosen = [f for f in check.findings if f.kind is finding]
        if not chosen:
            continue
        reason = next((r for r in found if r["kind"] == kind), None)
        if reason is None:
            places = sorted({where(f.box, *size) for f in chosen})
            reason = {"kind": kind, "count": len(chosen), "places": places}
            found.append(reason)
        reason.update(when(chosen, fps))
    if check.metadata_left:
        found.append({"kind": "metadata", "labels": list(check.metadata_left)})
    return found or [{"kind": "unknown"}]


def _kind(error: BaseException) -> str:
    for cls, name in (
        (InputTooLarge, "too_large"),
        (UnsupportedInput, "unsupported"),
        (UnreadableInput, "unreadable"),
        (OutputError, "output"),
    ):
        if isinstance(error, cls):
            return name
    return "output" if isinstance(error, OSError) else "other"


def _short(message: str, item: Item) -> str:
    """The message without this machine's folder names."""
    return (
        message.replace(str(item.source), item.name)
        .replace(str(item.output), item.output.name)
        .replace(str(item.output.parent) + "/", "")
    )
