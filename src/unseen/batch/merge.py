"""One Report for a video from the reports of its segments: every field carried over.

Counts add up, lists join, the worst verdict and the closest distance win; a segment's frame
numbers are already the whole video's. Built from `Report.from_dict` and the dataclasses'
own fields, so a field added to a report later is merged (or at least kept) without a change here.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from unseen.settings import AudioPolicy
from unseen.types import Coverage, FaceRecord, Report, Verdict

T = TypeVar("T")
WORST_FIRST = (Verdict.REFUSED, Verdict.UNVERIFIED, Verdict.VERIFIED)
LONGEST = {"rounds"}  # counted as the most any segment needed, not a sum
CLOSEST = {"min_embedding_distance", "similarity"}  # the closest match in any segment
MAX_BOXES = 100  # as the whole-video check keeps (video/checks.py)


def merge_reports(
    src: str, dst: str, audio: AudioPolicy, reports: list[dict[str, Any]], frames: list[int] | None = None
) -> Report:
    """One Report for the whole video from its segments' (`frames`: each segment's, for weights)."""
    parts = [Report.from_dict(r) for r in reports if r]
    if not parts:
        return Report(source=src, output=dst, width=0, height=0)
    weights = frames if frames is not None and len(frames) == len(parts) else [1] * len(parts)
    removed = list(parts[0].metadata_removed)
    if audio is AudioPolicy.KEEP:
        removed = [name for name in removed if name != "audio track"]  # parts are picture only
    verdicts = {p.verdict for p in parts}
    stages: dict[str, float] = {}
    for p in parts:
        for name, seconds in p.stages.items():
            stages[name] = round(stages.get(name, 0.0) + seconds, 3)
    check = _combine([p.check for p in parts if p.check is not None])
    coverage = _coverage(parts, weights)
    if check is not None:
        check.redetected_boxes = check.redetected_boxes[:MAX_BOXES]
    return Report(
        source=src,
        output=dst,
        width=parts[0].width,
        height=parts[0].height,
        faces=_one_per_track([face for p in parts for face in p.faces]),
        mask=parts[0].mask,
        metadata_removed=removed,
        verdict=next(v for v in WORST_FIRST if v in verdicts or v is Verdict.VERIFIED),
        check=check,
        seconds=round(sum(p.seconds for p in parts), 4),
        error=next((p.error for p in parts if p.error), None),
        coverage=coverage,
        notes=_notes(parts, coverage),
        stages=stages,
        text=_combine([p.text for p in parts if p.text is not None]),
        voice=_combine([p.voice for p in parts if p.voice is not None]),
    )


def _combine(items: list[T]) -> T | None:
    """Field by field: numbers add (or the longest / closest), lists join, the rest from the first."""
    if not items:
        return None
    first = items[0]
    assert is_dataclass(first) and not isinstance(first, type)
    values: dict[str, Any] = {}
    for f in fields(first):
        seen = [getattr(item, f.name) for item in items]
        known = [v for v in seen if v is not None]
        if f.name in CLOSEST:
            values[f.name] = min(known, default=None)
        elif f.name in LONGEST:
            values[f.name] = max(known, default=0)
        elif all(isinstance(v, list) for v in known) and known:
            values[f.name] = [x for v in known for x in v]
        elif all(isinstance(v, bool) for v in known) and known:
            values[f.name] = all(known)  # verified / checked only if every segment was
        elif all(isinstance(v, (int, float)) for v in known) and known:
            values[f.name] = sum(known)
        else:
            values[f.name] = seen[0]
    return type(first)(**values)


def _notes(parts: list[Report], coverage: Coverage | None) -> list[str]:
    """Each segment's notes once, but the lines on how much of the picture the masks took: those
    are said again for the whole video, from its merged coverage (one line, not one a segment)."""
    from unseen.video.painting import coverage_notes

    own = {note for p in parts if p.coverage is not None for note in coverage_notes(p.coverage)}
    notes = [note for p in parts for note in p.notes if note not in own]
    if coverage is not None:
        notes += coverage_notes(coverage)
    return list(dict.fromkeys(notes))


def _coverage(parts: list[Report], weights: list[int]) -> Coverage | None:
    """The clip's shares, each segment weighted by its frames; the worst frame of them all."""
    covered = [(p.coverage, w) for p, w in zip(parts, weights, strict=True) if p.coverage is not None]
    if not covered:
        return None
    total = max(1, sum(w for _, w in covered))
    worst = max((c for c, _ in covered), key=lambda c: c.worst_share)
    found = max((c for c, _ in covered), key=lambda c: c.found_share)
    return Coverage(
        masked=round(sum(c.masked * w for c, w in covered) / total, 4),
        beyond_faces=round(sum(c.beyond_faces * w for c, w in covered) / total, 4),
        worst_frame=worst.worst_frame,
        worst_share=worst.worst_share,
        found=round(sum(c.found * w for c, w in covered) / total, 4),
        found_frame=found.found_frame,
        found_share=found.found_share,
    )


def _one_per_track(faces: list[FaceRecord]) -> list[FaceRecord]:
    """A track both sides of a cut saw (one segment in its look-ahead) is one face, over both ranges."""
    merged: list[FaceRecord] = []
    by_track: dict[int, FaceRecord] = {}
    for face in faces:
        same = by_track.get(face.track) if face.track is not None else None
        if same is None:
            merged.append(face)
            if face.track is not None:
                by_track[face.track] = face
            continue
        same.score = max(same.score, face.score)
        if face.first is not None and (same.first is None or face.first < same.first):
            same.first, same.box, same.mask_box = face.first, face.box, face.mask_box
        if face.last is not None and (same.last is None or face.last > same.last):
            same.last = face.last
        if face.max_mask_box is not None and (
            same.max_mask_box is None or _area(face.max_mask_box) > _area(same.max_mask_box)
        ):
            same.max_mask_box = face.max_mask_box
    return merged


def _area(box: tuple[int, int, int, int]) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])
