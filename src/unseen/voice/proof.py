"""Prove a disguise like a masked face: the speaker recognizer compares the output's speech with
the original's, window by window; a match means a stronger disguise, and in the end refusal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from unseen.voice.disguise import RATE, STRENGTHS, disguise, draw, median_f0
from unseen.voice.speaker import RATE as SPEAKER_RATE
from unseen.voice.speaker import SpeakerRecognizer, similarity

Audio = npt.NDArray[np.float32]

WINDOW_SECONDS = 8.0  # one speaker turn, roughly: the recognizer judges each window on its own
MIN_SPEECH_SECONDS = 1.0  # less speech than this in a window says too little to judge
FRAME = RATE * 30 // 1000  # 30 ms frames for the speech detector
# a round passes only this far under the threshold: the check compares the same words, and an
# attacker holding *other* recordings of the voice can come closer (0.764 in tests/test_voice_cli.py
# where the same-words check had passed under 0.75); the last round is still judged at the threshold
MARGIN = 0.05


@dataclass
class Judged:
    """What the recognizer said about one disguised track."""

    similarity: float | None  # the closest window's cosine similarity; None: no speech to judge
    speech_seconds: float


def speech_frames(audio: Audio) -> npt.NDArray[np.bool_]:
    """Which 30 ms frames hold sound loud enough to be speech (relative to the track's loudest)."""
    count = len(audio) // FRAME
    if count == 0:
        return np.zeros(0, bool)
    frames = audio[: count * FRAME].reshape(count, FRAME).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    floor = max(1e-3, 0.05 * float(np.percentile(rms, 95)))
    return np.asarray(rms > floor)


def to_speaker_rate(audio: Audio) -> Audio:
    """RATE -> the recognizer's 16 kHz."""
    from scipy.signal import resample_poly

    return np.asarray(resample_poly(audio, SPEAKER_RATE, RATE), dtype=np.float32)


def judge(original: Audio, output: Audio, recognizer: SpeakerRecognizer) -> Judged:
    """The closest the output's speech comes to the original's speaker, over aligned windows.

    The same stretches of time are compared (the disguise keeps timing), speech only, as
    resemblyzer trims silence before embedding.
    """
    speech = speech_frames(original)
    per_window = int(WINDOW_SECONDS * RATE) // FRAME
    best: float | None = None
    for start in range(0, len(speech), per_window):
        chosen = speech[start : start + per_window]
        if chosen.sum() * FRAME < MIN_SPEECH_SECONDS * RATE:
            continue
        idx = (np.flatnonzero(chosen) + start)[:, None] * FRAME + np.arange(FRAME)[None, :]
        a = recognizer.embed(to_speaker_rate(original[idx.reshape(-1)]))
        b = recognizer.embed(to_speaker_rate(output[np.minimum(idx.reshape(-1), len(output) - 1)]))
        value = similarity(a, b)
        best = value if best is None else max(best, value)
    return Judged(best, float(speech.sum() * FRAME / RATE))


def disguised_until_unrecognized(
    original: Audio, recognizer: SpeakerRecognizer | None
) -> tuple[Audio, Judged | None, int]:
    """The track disguised, stronger each round until the recognizer no longer matches it.

    Returns the last disguise tried, what the recognizer said (None without a recognizer) and
    the number of rounds. The caller refuses when the last judgement still matches.
    """
    pitch = median_f0(original)
    out, judged = original, None
    for round_ in range(len(STRENGTHS)):
        out = disguise(original, draw(round_, pitch))
        if recognizer is None:
            return out, None, round_ + 1
        judged = judge(original, out, recognizer)
        if judged.similarity is None or judged.similarity < recognizer.threshold - MARGIN:
            return out, judged, round_ + 1
    return out, judged, len(STRENGTHS)  # the caller refuses it if still at or over the threshold
