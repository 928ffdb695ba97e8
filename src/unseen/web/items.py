"""The items a review lists: one per photo or video, from the batch manifest of the output folder
when there is one, else from walking the reviewed folder (by content); a video's face tracks come
from its report."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unseen.edits import Edits, sidecar_for
from unseen.errors import UnseenError
from unseen.media.registry import MediaType, identify
from unseen.names import NamePolicy, candidate_names, public_folders
from unseen.pipeline import default_output
from unseen.types import Detections, FaceRecord
from unseen.web.desk_text import report_text_and_findings


@dataclass
class Item:
    """One photo or video under review: where it is, where its output goes, what is known about it."""

    id: int
    source: Path
    output: Path
    name: str  # path relative to the reviewed folder, for display
    kind: str = "image"  # or "video"
    verdict: str = "not exported"
    face_count: int | None = None
    detections: Detections | None = None
    width: int = 0
    height: int = 0
    edits: Edits = field(default_factory=Edits)
    error: str | None = None
    edits_error: str | None = None  # the sidecar is damaged: shown, and never saved over
    version: int = 0  # bumped on every edit, so the browser asks for a fresh preview
    exported_version: int | None = None  # the version this session's export wrote
    tracks: list[dict[str, Any]] = field(default_factory=list)  # video: face tracks of the last run
    text_left: list[dict[str, Any]] = field(default_factory=list)  # text the last run left: {box, on_person}
    text_masked: list[list[float]] = field(
        default_factory=list
    )  # text boxes it masked: previews mask them too
    findings: list[dict[str, Any]] = field(default_factory=list)  # a refused clip: what was found, by frame
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    edits_at: Path | None = None  # the desk keeps edits in its own private folder, removed on close

    @property
    def sidecar(self) -> Path:
        return self.edits_at if self.edits_at is not None else sidecar_for(self.output)

    def output_is_current(self) -> bool:
        """The output on disk already reflects the saved edits (it was written after them)."""
        try:
            made = self.output.stat().st_mtime
        except OSError:
            return False
        if self.exported_version is not None:
            return self.exported_version == self.version
        try:
            return self.sidecar.stat().st_mtime <= made
        except OSError:
            return True


def tracks_from(faces: list[FaceRecord] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The face tracks of a video's report: id, first and last masked frame, first box."""
    tracks: list[dict[str, Any]] = []
    for face in faces:
        record = face if isinstance(face, dict) else vars(face)
        track, first, last = record.get("track"), record.get("first"), record.get("last")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (track, first, last)):
            continue  # a report from before tracks were numbered: nothing to switch
        box, head = record.get("box"), record.get("mask_box") or record.get("box")
        if not (_four(box) and _four(head)):
            continue
        score = record.get("score")
        tracks.append(
            {
                "track": track,
                "first": first,
                "last": max(first, last),  # type: ignore[type-var]
                "box": [float(v) for v in box],  # type: ignore[union-attr]
                "mask_box": [float(v) for v in head],  # type: ignore[union-attr]
                "score": round(float(score), 3) if isinstance(score, (int, float)) else None,
            }
        )
    return sorted(tracks, key=lambda t: (t["first"], t["track"]))


def _four(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) == 4
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    )


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder)
    except (OSError, RuntimeError):
        return False


def walk(folder: Path, out: Path, skipped: list[str], names: NamePolicy = NamePolicy.NEUTRAL) -> list[Item]:
    """Every photo and video in the folder (by content), sorted; outputs mirror its layout in `out`,
    named as `unseen batch` names them (a file or folder name that shows a time becomes photo,
    photo-2, ... or folder, folder-2, ...)."""
    found: list[tuple[Path, Path, MediaType]] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(root) / name
            if name.startswith(".") or ".unseen." in name or not path.is_file() or not _inside(path, folder):
                continue
            rel = path.relative_to(folder)
            try:
                found.append((path, rel, identify(path)))
            except UnseenError:
                skipped.append(rel.as_posix())
    folders = public_folders((rel.parent.as_posix() for _, rel, _ in found), names)
    items: list[Item] = []
    taken: set[str] = set()
    for path, rel, media in found:
        parent = folders[rel.parent.as_posix() if rel.parent != Path(".") else ""]
        out_name = next(
            n
            for n in candidate_names(path.name, media.kind.value, media.suffix, names)
            if f"{parent}/{n}".casefold() not in taken
        )
        taken.add(f"{parent}/{out_name}".casefold())
        target = out / parent / out_name
        items.append(
            Item(id=len(items), source=path, output=target, name=rel.as_posix(), kind=media.kind.value)
        )
    return items


def from_manifest(folder: Path, out: Path, skipped: list[str]) -> list[Item] | None:
    """The photos and videos `unseen batch` recorded in its manifest for `out`, if any; else None.

    Read only. Rows outside the reviewed folder or the output folder are ignored, so a manifest
    cannot send the server to read or write anywhere else.
    """
    from unseen.batch.manifest import State
    from unseen.batch.statedir import find_manifest

    path = find_manifest(out)
    if path is None:
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT rel, state, kind, output, faces, verdict, report FROM files ORDER BY rel"
            ).fetchall()
    except sqlite3.Error:
        return None
    items: list[Item] = []
    for rel_raw, state, kind, output_raw, faces, verdict, report in rows:
        rel, output = _text(rel_raw), _text(output_raw)
        src = folder / rel
        if kind not in ("image", "video") or not src.is_file() or not _inside(src, folder):
            skipped.append(rel)
            continue
        dst = out / output if output else default_output(src, src.suffix, out / Path(rel).parent)
        if not _inside(dst.parent, out):
            skipped.append(rel)
            continue
        item = Item(id=len(items), source=src, output=dst, name=Path(rel).as_posix(), kind=kind)
        item.verdict = (verdict or "written") if state == State.DONE else _STATES.get(state, item.verdict)
        item.face_count = faces if isinstance(faces, int) else None
        if kind == "video":  # a refused run's report names its tracks too
            item.tracks = tracks_from(_report_faces(report))
        item.text_left, item.text_masked, item.findings = report_text_and_findings(report)
        items.append(item)
    return items


_STATES = {"failed": "failed", "refused": "refused", "pending": "not exported", "running": "not exported"}


def _report_faces(report: object) -> list[dict[str, Any]]:
    """The `faces` of a report the manifest holds as JSON; nothing when it is odd."""
    try:
        faces = json.loads(report)["faces"] if isinstance(report, (str, bytes)) else []
    except (ValueError, TypeError, KeyError):
        return []
    return [f for f in faces if isinstance(f, dict)] if isinstance(faces, list) else []


def _text(value: object) -> str:
    """A manifest path: stored as bytes (surrogate-escaped UTF-8) so any file name fits."""
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else str(value or "")
