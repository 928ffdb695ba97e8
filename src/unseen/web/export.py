"""Export from the review: the corrected outputs, written by the same pipeline as `unseen` itself.

Runs in one background thread so the page stays responsive and can show progress; verification
is whatever the catalog's settings say (on by default), and refusals are reported, never hidden.
Photos and videos alike go through `anonymize_file` with the person's edits and the catalog's
detector and verifier, as `unseen` and `unseen batch` do; a video's report's face tracks become
what the editor's timeline shows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from unseen.errors import UnreadableInput, UnseenError, VerificationFailed
from unseen.pipeline import anonymize_file
from unseen.types import Report
from unseen.web.catalog import Catalog
from unseen.web.items import Item


@dataclass
class ExportStatus:
    """Progress and per-item outcome of the latest export; JSON-ready via as_dict."""

    running: bool = False
    total: int = 0
    done: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    frames: tuple[int, int | None] | None = None  # video being written: frames done, of how many

    def as_dict(self) -> dict[str, Any]:
        refused = sum(1 for r in self.results if r["verdict"] == "refused")
        failed = sum(1 for r in self.results if r["verdict"] == "error")
        return {
            "running": self.running,
            "total": self.total,
            "done": self.done,
            "refused": refused,
            "failed": failed,
            "results": list(self.results),
            "frames": list(self.frames) if self.frames else None,
        }


class Exporter:
    """One export at a time over a catalog's items."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.status = ExportStatus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def pending(self) -> list[Item]:
        """Items whose output is missing or older than the person's latest edits."""
        return [item for item in self.catalog.items if not item.output_is_current()]

    def start(self, items: list[Item]) -> bool:
        """Begin exporting `items` in the background; False when an export is already running."""
        with self._lock:
            if self.status.running:
                return False
            self.status = ExportStatus(running=True, total=len(items))
            self._thread = threading.Thread(target=self._run, args=(items,), daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return self.status.as_dict()

    def _run(self, items: list[Item]) -> None:
        try:
            for item in items:
                result = self.export_one(item)
                with self._lock:
                    self.status.results.append(result)
                    self.status.done += 1
                    self.status.frames = None
        finally:
            with self._lock:
                self.status.running = False

    def export_one(self, item: Item) -> dict[str, Any]:
        """Write one corrected output; a refusal or error is a result, not an exception."""
        catalog = self.catalog
        result: dict[str, Any] = {"id": item.id, "name": item.name, "output": item.output.name}
        try:
            item.output.parent.mkdir(parents=True, exist_ok=True)
            with item.lock:
                edits, version = item.edits, item.version
                if item.edits_error is not None:  # exporting without the person's corrections would hide them
                    raise UnreadableInput(item.edits_error)
            report = anonymize_file(
                item.source,
                item.output,
                catalog.settings,
                detector=catalog.detector,
                verifier=catalog.verifier,
                text_detector=catalog.text_detector,
                edits=edits,
                progress=self._progress if item.kind == "video" else None,
            )
        except VerificationFailed as error:
            refused = error.report if isinstance(error.report, Report) else None
            item.verdict = "refused"
            if refused is not None and item.kind == "video" and not item.tracks:
                catalog.take_report(item, refused.faces)  # the tracks to correct, though nothing was written
            return {
                **result,
                "verdict": "refused",
                "message": _short(str(error), item),
                "faces": refused.face_count if refused else None,
            }
        except (UnseenError, OSError) as error:
            item.verdict = "error"
            return {**result, "verdict": "error", "message": _short(str(error), item)}
        item.verdict = report.verdict
        item.face_count = report.face_count
        item.exported_version = version
        if item.kind == "video":
            catalog.take_report(item, report.faces)
        bare = report.check.left_bare if report.check is not None else []
        said = list(report.notes)  # masks that took much of a clip's picture, findings set aside
        if bare:
            said.append(
                f"left bare as you asked: {len(bare)} finding(s) of the check where you removed a mask"
                " or switched a track off"
            )
        message = _short("; ".join(said), item)
        return {**result, "verdict": report.verdict, "faces": report.face_count, "message": message}

    def _progress(self, done: int, total: int | None) -> None:
        with self._lock:
            self.status.frames = (done, total)


def _short(message: str, item: Item) -> str:
    """The message without the machine's folder names: the page shows names relative to the folder."""
    return message.replace(str(item.source), item.name).replace(str(item.output.parent) + "/", "")
