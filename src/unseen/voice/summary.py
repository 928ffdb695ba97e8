"""The voice part of a file's one-line summary, in the user's words."""

from __future__ import annotations

from unseen.types import VoiceCheck


def voice_summary(check: VoiceCheck) -> str:
    """E.g. 'voice disguised (speaker similarity 0.61, same-speaker threshold 0.75)'."""
    if check.tracks == 0:
        return "no audio to disguise"
    if check.recognizer is None:
        return "voice disguised, NOT checked by a speaker recognizer"
    if check.similarity is None:
        return f"voice disguised (no speech found to compare in {check.tracks} track(s))"
    verdict = "" if check.verified else ", STILL RECOGNIZED"
    return (
        f"voice disguised (speaker similarity {check.similarity:.2f}, "
        f"same-speaker threshold {check.threshold:.2f}{verdict})"
    )
