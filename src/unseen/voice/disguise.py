"""Change a voice so a speaker recognizer no longer knows it, with the WORLD vocoder (PyPI `pyworld`).

WORLD splits speech into pitch (f0), spectral envelope and aperiodicity. The pitch is moved by
some semitones, the envelope is tilted (a brighter or darker voice: the glottal source, which
is the speaker's, not the word's) and warped a little along the frequency axis (the formants
move, as with a longer or shorter vocal tract), all by amounts drawn from the operating
system's entropy for each file and each round, never stored, and drifting slowly over time, so
no single inverse transform undoes them. The words stay: timing is kept, and the formants, which
carry the vowels, move only as far as voices differ (bench/bench_voice.py measured that a
large formant warp costs words and a tilt does not).
"""

from __future__ import annotations

import math
import secrets
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from unseen.errors import MissingExtra

Audio = npt.NDArray[np.float32]

RATE = 24_000  # WORLD works at this rate: all of speech, a quarter of 48 kHz's cost
FRAME_MS = 5.0
BLOCK_SECONDS = 8.0  # WORLD's arrays for a long track would not fit in memory at once
OVERLAP_SECONDS = 0.2
MAX_LAG_SECONDS = 0.01  # a pitch period of a low voice: the most a block moves to stay in phase
# Hz: where a disguised voice's median pitch may land. Under 75 Hz a voice croaks and WORLD's
# pitch tracker loses it; over ~220 Hz the envelope, estimated at the original's harmonics, is
# resynthesized at fewer, wider-spaced ones and the vowels blur: a 192 Hz voice raised 8
# semitones to 305 Hz kept STOI 0.61, lowered 8 to 121 Hz 0.83 (a 177 Hz voice: 0.76 at 224 Hz,
# 0.67 at 282 Hz; 93-104 Hz voices raised to 165 Hz: 0.85)
PITCH_RANGE = (75.0, 220.0)
TILT_FROM_HZ = 500.0  # the tilt leaves the first formant's region alone and grows per octave above
# per round of the proof loop, each as (low, high): pitch shift in semitones, formant scale, a
# bilinear (vocal-tract-length) warp that moves the low formants further than the high ones, and
# spectral tilt in dB per octave. Measured in bench/bench_voice.py: pitch and tilt move GE2E's
# embedding and keep the words; the formant warps move it more and cost words, so round 0 keeps
# them small and only a voice still matched gets larger ones
STRENGTHS = (
    ((7.0, 9.0), (1.03, 1.06), (0.02, 0.04), (5.0, 7.0)),
    ((8.0, 10.0), (1.05, 1.09), (0.04, 0.06), (6.0, 8.0)),
    ((9.0, 11.0), (1.08, 1.14), (0.06, 0.09), (7.0, 9.0)),
)


@dataclass(frozen=True)
class VoiceChange:
    """One draw of the disguise: held in memory for one file's round, never written anywhere."""

    semitones: float  # signed mean pitch shift
    warp: float  # mean formant factor (>1 moves formants up)
    alpha: float  # bilinear warp, same sign as log(warp)
    drift: tuple[tuple[float, float, float], ...]  # (amplitude, Hz, phase) of slow changes
    warp_drift: tuple[tuple[float, float, float], ...]
    tilt: float = 0.0  # dB per octave above TILT_FROM_HZ, either sign
    tilt_drift: tuple[tuple[float, float, float], ...] = ()

    def tilt_at(self, seconds: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Spectral tilt in dB per octave at each time."""
        flat = np.zeros_like(seconds, dtype=np.float64)
        waves = sum(a * np.sin(2 * np.pi * hz * seconds + p) for a, hz, p in self.tilt_drift)
        return flat + self.tilt + waves

    def at(self, seconds: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Pitch factor and formant factor at each time."""
        shift = self.semitones + sum(a * np.sin(2 * np.pi * hz * seconds + p) for a, hz, p in self.drift)
        warp = np.log2(self.warp) + sum(
            a * np.sin(2 * np.pi * hz * seconds + p) for a, hz, p in self.warp_drift
        )
        flat = np.zeros_like(seconds, dtype=np.float64)  # a change without drift is still per frame
        return np.power(2.0, flat + shift / 12.0), np.power(2.0, flat + warp)


def draw(strength: int, median_f0: float | None = None) -> VoiceChange:
    """A fresh random disguise; strength 0-2 picks wider shifts. A low voice goes up more often,
    a high one down, so the result stays a human voice."""
    rng = secrets.SystemRandom()
    (p_lo, p_hi), (w_lo, w_hi), (a_lo, a_hi), (t_lo, t_hi) = STRENGTHS[min(strength, len(STRENGTHS) - 1)]
    up = 0.5 if median_f0 is None else (0.8 if median_f0 < 150 else 0.2 if median_f0 > 190 else 0.5)
    sign = 1.0 if rng.random() < up else -1.0
    size = rng.uniform(p_lo, p_hi)
    if median_f0 is not None:
        sign = _direction(median_f0, size, sign)
    semitones = sign * size
    warp = rng.uniform(w_lo, w_hi) ** sign

    def slow(amplitude: float) -> tuple[tuple[float, float, float], ...]:
        return tuple(
            (amplitude * rng.uniform(0.3, 1.0), rng.uniform(0.07, 0.4), rng.uniform(0, 2 * math.pi))
            for _ in range(3)
        )

    tilt = rng.choice((-1.0, 1.0)) * rng.uniform(t_lo, t_hi)  # its own sign: one more unknown
    alpha = sign * rng.uniform(a_lo, a_hi)
    return VoiceChange(semitones, warp, alpha, slow(0.6), slow(0.015), tilt, slow(1.0))


def _direction(median_f0: float, size: float, sign: float) -> float:
    """`sign`, unless the voice moved `size` semitones that way lands outside PITCH_RANGE and the
    other way does not; when neither fits, the way that lands nearer the range."""

    def outside(way: float) -> float:
        landing = math.log2(median_f0) + way * size / 12
        low, high = math.log2(PITCH_RANGE[0]), math.log2(PITCH_RANGE[1])
        return max(low - landing, landing - high, 0.0)

    return sign if outside(sign) <= outside(-sign) else -sign


def _world() -> object:
    try:
        with warnings.catch_warnings():  # pyworld 0.3.5 imports the deprecated pkg_resources
            warnings.simplefilter("ignore")
            import pyworld
    except ImportError as error:
        raise MissingExtra("pyworld (the WORLD vocoder)", "voice") from error
    return pyworld


def require() -> None:
    """MissingExtra now, before any work, when the vocoder is not installed."""
    _world()


def median_f0(audio: Audio) -> float | None:
    """The voice's median pitch in Hz over voiced frames (None without voiced frames)."""
    pw = _world()
    x = audio[: RATE * 30].astype(np.float64)
    if len(x) < RATE // 4:
        return None
    f0, _ = pw.dio(x, RATE, frame_period=10.0)  # type: ignore[attr-defined]
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if len(voiced) > 10 else None


def disguise(audio: Audio, change: VoiceChange) -> Audio:
    """`audio` (mono, RATE Hz) with the voice changed; same length, same timing."""
    if len(audio) == 0:
        return audio.copy()
    block, overlap = int(BLOCK_SECONDS * RATE), int(OVERLAP_SECONDS * RATE)
    out = np.zeros(len(audio), np.float64)
    weight = np.zeros(len(audio), np.float64)
    start = 0
    while start < len(audio):
        stop = min(len(audio), start + block + overlap)
        piece = _block(audio[start:stop].astype(np.float64), change, start / RATE)
        if start > 0:
            piece = _in_phase(out[start : start + overlap], piece)
        fade = np.ones(stop - start)
        ramp = min(overlap, stop - start)
        if start > 0:
            fade[:ramp] = np.linspace(0, 1, ramp)
        if stop < len(audio):
            fade[-ramp:] = np.linspace(1, 0, ramp)
        out[start:stop] += piece * fade
        weight[start:stop] += fade
        if stop == len(audio):
            break
        start += block
    out /= np.maximum(weight, 1e-9)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    if peak > 0.99:
        out *= 0.99 / peak
    return out.astype(np.float32)


def _in_phase(tail: npt.NDArray[np.float64], piece: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """`piece` moved by up to MAX_LAG_SECONDS so that its start lines up with the end of the block
    before: two syntheses of the same voice can be out of phase, and a cross-fade between them
    then cancels to near silence at every block edge."""
    n, most = len(tail), int(MAX_LAG_SECONDS * RATE)
    if n < 2 * most or len(piece) < n + 2 * most:
        return piece
    lags = range(-most, most + 1)
    padded = np.concatenate([np.zeros(most), piece])
    scores = [float(np.dot(tail, padded[most + lag : most + lag + n])) for lag in lags]
    lag = lags[int(np.argmax(scores))]
    if lag > 0:
        return np.concatenate([piece[lag:], np.zeros(lag)])
    if lag < 0:
        return np.concatenate([np.zeros(-lag), piece[:lag]])
    return piece


def _block(x: npt.NDArray[np.float64], change: VoiceChange, offset: float) -> npt.NDArray[np.float64]:
    pw = _world()
    if len(x) < int(0.05 * RATE) or not np.any(x):
        return np.zeros_like(x)  # too short for WORLD's windows: silence carries no voice
    f0, times = pw.dio(x, RATE, frame_period=FRAME_MS)  # type: ignore[attr-defined]
    f0 = pw.stonemask(x, f0, times, RATE)  # type: ignore[attr-defined]
    sp = pw.cheaptrick(x, f0, times, RATE)  # type: ignore[attr-defined]
    ap = pw.d4c(x, f0, times, RATE)  # type: ignore[attr-defined]
    pitch, warp = change.at(times + offset)
    f0 = f0 * pitch
    sp, ap = _warp(sp, warp, change.alpha), _warp(ap, warp, change.alpha)
    sp = _tilt(sp, change.tilt_at(times + offset))
    y = pw.synthesize(f0, sp, ap, RATE, frame_period=FRAME_MS)  # type: ignore[attr-defined]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    return np.asarray(y[: len(x)], dtype=np.float64)


def _warp(
    envelope: npt.NDArray[np.float64], factor: npt.NDArray[np.float64], alpha: float = 0.0
) -> npt.NDArray[np.float64]:
    """Each frame's envelope stretched along frequency: new(w) = old(B(w / factor)), where B is the
    inverse of a bilinear warp by `alpha` (alpha > 0 moves the low formants up further)."""
    bins = envelope.shape[1]
    omega = np.clip(np.pi * np.arange(bins)[None, :] / (bins - 1) / factor[:, None], 0, np.pi)
    omega = omega - 2 * np.arctan(alpha * np.sin(omega) / (1 + alpha * np.cos(omega)))
    source = np.clip(omega / np.pi * (bins - 1), 0, bins - 1)
    low = np.minimum(np.floor(source).astype(np.int64), bins - 2)
    frac = source - low
    below = np.take_along_axis(envelope, low, axis=1)
    above = np.take_along_axis(envelope, low + 1, axis=1)
    return np.ascontiguousarray(below * (1 - frac) + above * frac)


def _tilt(
    envelope: npt.NDArray[np.float64], db_per_octave: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Each frame's power envelope raised (or lowered) by its dB per octave above TILT_FROM_HZ."""
    hz = np.arange(envelope.shape[1]) * (RATE / 2) / (envelope.shape[1] - 1)
    octaves = np.log2(np.maximum(hz, TILT_FROM_HZ) / TILT_FROM_HZ)
    return np.ascontiguousarray(envelope * np.power(10.0, db_per_octave[:, None] * octaves[None, :] / 10))
