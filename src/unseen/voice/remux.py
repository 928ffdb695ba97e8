"""`--audio disguise` for a video: the picture from the video pipeline, the voices disguised and
proved here, remuxed into one file that appears atomically.

The video pipeline runs untouched, with the audio dropped, into a temporary file; the source's
audio is decoded into memory, disguised until the speaker recognizer no longer matches it, encoded
(AAC, or Opus for WebM) and muxed with the masked picture's packets, which are copied, never
re-encoded. The written file's audio is decoded again and judged once more before it is renamed
into place: the proof is on the bytes that ship. No file ever holds the original voice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from unseen.errors import OutputError, UnreadableInput, VerificationFailed
from unseen.settings import AudioPolicy, Settings
from unseen.tempfiles import output_temp
from unseen.types import Report, Verdict, VoiceCheck
from unseen.voice import disguise as vocoder
from unseen.voice.proof import disguised_until_unrecognized, judge
from unseen.voice.speaker import SpeakerRecognizer, default_recognizer
from unseen.voice.tracks import Track, read_tracks, remux

WriteVideo = Callable[[Path, Settings], Report]  # masks the picture of the input into a path
ReadBack = Callable[[Path], list[str]]  # what identifying metadata a written video still holds


def disguise_video(
    src: Path,
    dst: Path,
    settings: Settings,
    write_video: WriteVideo,
    read_back: ReadBack,
    recognizer: SpeakerRecognizer | None = None,
) -> Report:
    """Write `dst`: the masked picture `write_video` makes, with every audio track's voice disguised.

    Raises MissingExtra before any work when unseen[voice] is not installed, VerificationFailed
    (nothing written) when the recognizer still matches a voice after the strongest disguise,
    unless settings.force, which writes it marked unverified.
    """
    started = time.perf_counter()
    src, dst = Path(src), Path(dst)
    vocoder.require()
    if settings.verify and recognizer is None:
        recognizer = default_recognizer()
    judge_with = recognizer if settings.verify else None
    originals = read_tracks(src, vocoder.RATE)
    voices: list[Track] = []
    check = VoiceCheck(
        tracks=len(originals),
        recognizer=judge_with.name if judge_with else None,
        threshold=judge_with.threshold if judge_with else None,
    )
    for track in originals:
        samples, judged, rounds = disguised_until_unrecognized(track.samples, judge_with)
        voices.append(Track(samples, track.rate, track.start))
        check.rounds = max(check.rounds, rounds)
        if judge_with is not None and judged is not None and judged.similarity is not None:
            check.similarity = max(check.similarity or -1.0, round(judged.similarity, 3))
    if judge_with is not None and (check.similarity or -1.0) >= judge_with.threshold and not settings.force:
        # refused before the picture is worked on: masking faces cannot change this verdict
        refused = Report(source=str(src), output=None, width=0, height=0, verdict=Verdict.REFUSED)
        refused.voice = check
        raise VerificationFailed(_refusal(src, check), refused)
    check.similarity = None  # the figure reported is the written file's, judged below
    mid = output_temp(dst)
    final: Path | None = None
    try:
        report = write_video(mid, replace(settings, audio=AudioPolicy.DROP))
        # the pipeline names the dropped audio as removed; here it is kept, disguised
        report.metadata_removed = [m for m in report.metadata_removed if m != "audio track"]
        final = output_temp(dst)
        try:
            remux(mid, voices, final)
        except OSError as error:
            raise OutputError(f"{dst}: cannot be written ({error.strerror or error})") from error
        if judge_with is not None:
            _judge_output(src, final, originals, judge_with, check)
        report.voice = check
        left = read_back(final)
        if report.check is not None:
            report.check.metadata_left = left
        if left:
            report.verdict = Verdict.REFUSED
            raise VerificationFailed(f"{src}: identifying metadata survived: {', '.join(left)}", report)
        if judge_with is not None and not check.verified:
            if not settings.force:
                report.verdict = Verdict.REFUSED
                raise VerificationFailed(_refusal(src, check), report)
            report.verdict = Verdict.UNVERIFIED
        os.chmod(final, 0o644)  # mkstemp makes 0600; the output is meant to be shared
        os.replace(final, dst)
        final = None
    finally:
        mid.unlink(missing_ok=True)
        if final is not None:
            final.unlink(missing_ok=True)
    report.output = str(dst)
    report.seconds = time.perf_counter() - started
    return report


def _judge_output(
    src: Path, written: Path, originals: list[Track], recognizer: SpeakerRecognizer, check: VoiceCheck
) -> None:
    """Decode the written file's audio and compare each track with its original."""
    heard = read_tracks(written, vocoder.RATE)
    if len(heard) != len(originals):
        raise UnreadableInput(f"{src}: the output has {len(heard)} audio tracks, not {len(originals)}")
    worst: float | None = None
    for original, output in zip(originals, heard, strict=True):
        lag = int(round((output.start - original.start) * original.rate))
        # the encoder's start can differ from the source's by a few samples: compare the same instants
        samples = (
            output.samples[lag:] if lag >= 0 else np.concatenate([np.zeros(-lag, np.float32), output.samples])
        )
        judged = judge(original.samples, samples, recognizer)
        check.speech_seconds += judged.speech_seconds
        if judged.similarity is not None:
            worst = judged.similarity if worst is None else max(worst, judged.similarity)
    check.speech_seconds = round(check.speech_seconds, 2)
    check.similarity = None if worst is None else round(worst, 3)
    check.verified = worst is None or worst < recognizer.threshold


def _refusal(src: Path, check: VoiceCheck) -> str:
    return (
        f"{src}: refused, the speaker recognizer still matches a voice to the original "
        f"(similarity {check.similarity:.2f} >= {check.threshold:.2f}) after {check.rounds} rounds of "
        "disguise; nothing written (--force writes it marked unverified)"
    )
