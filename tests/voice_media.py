"""Speech and clips for the voice tests: espeak-ng speaks, PyAV muxes it under a plain picture."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

FPS = 25
# STOI the first round's disguise must keep. Measured while tuning (3 espeak-ng voices x 4
# sentences): WORLD resynthesis 0.97; a 5-semitone pitch shift alone 0.86 and 8 semitones with a
# 6 dB/octave tilt 0.84, both keeping every word the recognizer got; the earlier disguise, whose
# large formant warp lost half the words, 0.64-0.66. The floor sits between the two
WORDS_KEPT = 0.75
SENTENCES = (
    "The meeting point is near the old bridge at seven tonight, bring water and a friend.",
    "Police closed the north gate, so we walked around the market and waited for the others.",
)


def speak(text: str, voice: str = "en+m3", speed: int = 150, pitch: int = 50) -> tuple[np.ndarray, int]:
    """espeak-ng's speech as float32 mono samples and their rate; skips without espeak-ng."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is absent: apt-get install espeak-ng")
    out = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    with wave.open(io.BytesIO(out)) as w:
        rate = w.getframerate()
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, "<i2").astype(np.float32) / 32768, rate


def beep(rate: int, seconds: float = 0.15, hz: float = 880.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.6 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def write_clip(
    path: Path,
    audio: np.ndarray | None,
    rate: int = 48_000,
    seconds: float | None = None,
    rotation: int | None = None,
    size: tuple[int, int] = (160, 120),
) -> None:
    """A clip of a plain moving gradient with `audio` (mono, resampled to `rate`) as stereo AAC,
    or Opus for .webm."""
    webm = path.suffix == ".webm"
    seconds = seconds if seconds is not None else (len(audio) / rate if audio is not None else 2.0)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libvpx-vp9" if webm else "libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        if rotation is not None:
            video.set_display_matrix(_rotation_matrix(rotation))
        sound = None
        if audio is not None:
            sound = out.add_stream("libopus" if webm else "aac", rate=rate, layout="stereo")
        frames = int(round(seconds * FPS))
        for i in range(frames):
            image = np.zeros((size[1], size[0], 3), np.uint8)
            image[:, :, 1] = (np.arange(size[0])[None, :] + 3 * i) % 256
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        if sound is not None and audio is not None:
            stereo = np.stack([audio, audio]).astype(np.float32)
            size_ = sound.codec_context.frame_size or 960
            fmt = sound.codec_context.format.name
            for at in range(0, stereo.shape[1], size_):
                chunk = stereo[:, at : at + size_]
                if chunk.shape[1] < size_:
                    chunk = np.pad(chunk, ((0, 0), (0, size_ - chunk.shape[1])))
                data = chunk if fmt.endswith("p") else chunk.T.reshape(1, -1)
                if fmt.startswith("s16"):
                    data = (np.clip(data, -1, 1) * 32767).astype(np.int16)
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout="stereo")
                frame.sample_rate, frame.pts, frame.time_base = rate, at, Fraction(1, rate)
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode(None):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)


def _rotation_matrix(degrees: int) -> list[int]:
    """FFmpeg's display matrix for a clockwise display rotation, in 16.16 / 2.30 fixed point."""
    theta = np.deg2rad(-degrees)
    c, s = np.cos(theta), np.sin(theta)
    one = 1 << 16
    return [
        int(round(c * one)),
        int(round(-s * one)),
        0,
        int(round(s * one)),
        int(round(c * one)),
        0,
        0,
        0,
        1 << 30,
    ]


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return np.asarray(resample_poly(audio, target // g, rate // g), dtype=np.float32)


def onset(audio: np.ndarray, rate: int, after: float = 0.0) -> float:
    """The time the first loud sound at or after `after` seconds starts (10 ms resolution)."""
    hop = rate // 100
    start = int(after * rate)
    frames = audio[start : start + (len(audio) - start) // hop * hop].reshape(-1, hop)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    loud = np.flatnonzero(rms > 0.25 * rms.max())
    return after + float(loud[0]) / 100 if len(loud) else float("nan")
