"""A report in one line, in the user's words: what was masked, removed and proved (the line
`unseen`, `unseen batch` and the logs print)."""

from __future__ import annotations

from pathlib import Path

from unseen.names import carries_trace
from unseen.types import Check, Report


def summary(report: Report) -> str:
    """One line in the user's words: what was masked, removed and proved."""
    faces = report.face_count
    parts = [f"{faces} face{'s' if faces != 1 else ''} masked"]
    if report.metadata_removed:
        parts.append("removed " + ", ".join(report.metadata_removed))
    else:
        parts.append("no identifying metadata found")
    if report.source and report.output:
        stem = Path(report.source).stem
        if carries_trace(stem) and Path(report.output).name.startswith(stem + "."):
            parts.append("the file name still shows when or with which camera it was taken (--names keep)")
    if report.check is not None and report.verdict == "verified":
        parts.append("verified: " + _proof(report))
    else:
        parts.append(report.verdict.upper())
    from unseen.text.protect import text_summary

    text = text_summary(report.text)
    if text:
        parts.insert(1, text)
    parts += report.notes
    if report.voice is not None:
        from unseen.voice.summary import voice_summary

        parts.append(voice_summary(report.voice))
    return "; ".join(parts)


def _proof(report: Report) -> str:
    """What verification showed, in words; the distances stay in the --report JSON."""
    check = report.check or Check()
    words = ["no face re-detected" + _left_bare(check, report.coverage is not None)]
    covered = check.proved_by_geometry
    compared = check.recognizable_faces
    if covered:
        everyone = covered >= report.face_count
        words.append(
            ("every masked face" if everyone else f"{covered} of the masked faces")
            + " wholly under an opaque fill"
        )
    if compared and covered + compared >= report.face_count:
        words.append(
            "the other masked faces not recognisable by the face recognizer"
            if covered
            else "masked faces not recognisable by the face recognizer"
        )
    elif compared:
        words.append(f"the {compared} faces big enough to compare not recognisable by the face recognizer")
    elif report.face_count > covered:
        words.append(
            "the other faces too small for the face recognizer to compare"
            if covered
            else "faces too small for the face recognizer to compare"
        )
    return ", ".join(words)


def _left_bare(check: Check, video: bool) -> str:
    """What the check still found where the person said to leave a face bare, in words (for a
    video, on which frames)."""
    found = check.left_bare
    if not found:
        return ""
    frames = sorted({f.frame for f in found})
    named = ", ".join(map(str, frames[:5])) + (", ..." if len(frames) > 5 else "")
    where = f" (frame{'s' if len(frames) > 1 else ''} {named})" if video else ""
    count = "1 finding" if len(found) == 1 else f"{len(found)} findings"
    return f" but {count} where the review said to leave a face bare{where}"
