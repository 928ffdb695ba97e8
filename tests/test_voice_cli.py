"""Voices through the command line with the real speaker recognizer: espeak-ng speech in a
generated clip comes out disguised, as long, in sync, and no longer matched to its speaker."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from voice_media import FPS, SENTENCES, WORDS_KEPT, beep, onset, resample, speak, write_clip

pytest.importorskip("pyworld", reason="the voice extra is not installed: pip install 'unseen[voice]'")

from unseen.voice.intelligibility import stoi  # noqa: E402
from unseen.voice.proof import judge  # noqa: E402
from unseen.voice.speaker import GE2E  # noqa: E402
from unseen.voice.tracks import read_tracks  # noqa: E402

pytestmark = pytest.mark.slow
RATE = 24_000


def test_cli_disguises_a_voice_in_sync(tmp_path: Path) -> None:
    speech, rate = speak(SENTENCES[0] + " " + SENTENCES[1], "en+f2", speed=160)
    speech = resample(speech, rate, 48_000)
    gap = np.zeros(48_000 // 2, np.float32)
    track = np.concatenate([speech, gap, beep(48_000), gap])
    beep_at = (len(speech) + len(gap)) / 48_000
    clip = tmp_path / "clip.mp4"
    write_clip(clip, track, 48_000)
    report_path = tmp_path / "report.json"
    run = subprocess.run(
        [sys.executable, "-m", "unseen.cli", str(clip), "--audio", "disguise", "--report", str(report_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert "voice disguised (speaker similarity" in run.stdout
    (report,) = json.loads(report_path.read_text())
    voice = report["voice"]
    assert voice["verified"] and voice["tracks"] == 1 and voice["speech_seconds"] > 5
    assert voice["similarity"] < voice["threshold"]
    out = tmp_path / "clip.unseen.mp4"
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        assert len(b.streams.audio) == 1 and b.streams.audio[0].codec_context.name == "aac"
        assert abs(float(a.duration - b.duration) / 1e6) <= 1 / FPS
    (original,), (heard,) = read_tracks(clip, RATE), read_tracks(out, RATE)
    assert abs(onset(heard.samples, RATE, beep_at - 0.3) + heard.start - beep_at) <= 1 / FPS
    assert abs(heard.seconds - original.seconds) <= 1 / FPS
    # the words stay: STOI of the written speech against the original's (see test_voice_words.py)
    shift = int(round((heard.start - original.start) * RATE))
    aligned = np.concatenate([np.zeros(max(0, shift), np.float32), heard.samples])[max(0, -shift) :]
    n = min(len(aligned), len(original.samples))
    assert stoi(original.samples[:n], aligned[:n], RATE) >= WORDS_KEPT - 0.05
    # the test's own attacker: the recognizer on the decoded files, whole speech and other words
    encoder = GE2E()
    again = judge(original.samples, heard.samples, encoder)
    assert again.similarity is not None and again.similarity < encoder.threshold
    assert again.similarity == pytest.approx(voice["similarity"], abs=0.01)
    other_words = encoder.embed(resample(*speak(SENTENCES[1], "en+f2", speed=160), 16_000))
    speech_out = heard.samples[: int(len(speech) / 48_000 * RATE)]
    assert float(encoder.embed(resample(speech_out, RATE, 16_000)) @ other_words) < encoder.threshold
    # and the same check calls the undisguised voice the same speaker: the test can fail
    plain = judge(original.samples, original.samples, encoder)
    assert plain.similarity is not None and plain.similarity > encoder.threshold
    assert float(encoder.embed(resample(original.samples[: len(speech_out)], RATE, 16_000)) @ other_words) > (
        encoder.threshold
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".unseen-tmp")]
