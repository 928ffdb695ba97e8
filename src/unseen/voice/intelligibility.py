"""How much of the speech survives the disguise: STOI (Taal et al., IEEE TASLP 2011) in numpy.

STOI correlates the short-time (384 ms) envelopes of 15 one-third-octave bands of the original
and of the processed speech; it predicts the share of words listeners get. The disguise keeps
timing, so the two line up sample for sample. A moved pitch or formant shifts energy between
bands, so STOI under-rates a disguised voice (it was made for noise and filtering): it is a
floor, used to catch a disguise that smears the words, not to grade a good one. Checked against
PyPI `pystoi` (MIT) in tests/test_voice_words.py.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
import numpy.typing as npt

Audio = npt.NDArray[np.float32]

RATE = 10_000  # STOI's own rate: bands up to ~4.3 kHz
FRAME, FFT, BANDS, LOWEST = 256, 512, 15, 150.0
SEGMENT = 30  # frames in one envelope segment (384 ms)
BETA = -15.0  # lowest signal-to-distortion ratio, dB, before clipping
DYNAMIC_RANGE = 40.0  # frames this far below the loudest are silence, dropped from both


@lru_cache(maxsize=1)
def _bands() -> npt.NDArray[np.float64]:
    """The one-third-octave band matrix over the FFT's bins."""
    freqs = np.linspace(0, RATE, FFT + 1)[: FFT // 2 + 1]
    centres = LOWEST * np.power(2.0, np.arange(BANDS) / 3)
    low, high = centres * np.power(2.0, -1 / 6), centres * np.power(2.0, 1 / 6)
    matrix = np.zeros((BANDS, len(freqs)))
    for band in range(BANDS):
        first = int(np.argmin((freqs - low[band]) ** 2))
        last = int(np.argmin((freqs - high[band]) ** 2))
        matrix[band, first:last] = 1
    return matrix


def _frames(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    hop = FRAME // 2
    count = max(0, (len(x) - FRAME) // hop + 1)
    idx = np.arange(count)[:, None] * hop + np.arange(FRAME)[None, :]
    return np.asarray(x[idx] * np.hanning(FRAME + 2)[1:-1][None, :], dtype=np.float64)


def stoi(original: Audio, processed: Audio, rate: int) -> float:
    """STOI of `processed` against `original` (same length and timing, `rate` Hz), about 0-1."""
    from scipy.signal import resample_poly

    n = min(len(original), len(processed))
    g = gcd(rate, RATE)
    x = resample_poly(original[:n].astype(np.float64), RATE // g, rate // g)
    y = resample_poly(processed[:n].astype(np.float64), RATE // g, rate // g)
    fx, fy = _frames(x), _frames(y)
    if len(fx) == 0:
        return 0.0
    energy = 20 * np.log10(np.linalg.norm(fx, axis=1) + 1e-12)
    keep = energy > energy.max() - DYNAMIC_RANGE
    fx, fy = fx[keep], fy[keep]
    if len(fx) < SEGMENT:
        return 0.0  # under 0.4 s of speech: nothing to judge
    tx = np.sqrt(_bands() @ np.abs(np.fft.rfft(fx, FFT, axis=1).T) ** 2)  # bands x frames
    ty = np.sqrt(_bands() @ np.abs(np.fft.rfft(fy, FFT, axis=1).T) ** 2)
    starts = np.arange(tx.shape[1] - SEGMENT + 1)
    idx = starts[:, None] + np.arange(SEGMENT)[None, :]
    sx, sy = tx[:, idx].transpose(1, 0, 2), ty[:, idx].transpose(1, 0, 2)  # segments x bands x 30
    scale = np.linalg.norm(sx, axis=2, keepdims=True) / (np.linalg.norm(sy, axis=2, keepdims=True) + 1e-12)
    sy = np.minimum(sy * scale, sx * (1 + 10 ** (-BETA / 20)))
    sx = sx - sx.mean(axis=2, keepdims=True)
    sy = sy - sy.mean(axis=2, keepdims=True)
    sx /= np.linalg.norm(sx, axis=2, keepdims=True) + 1e-12
    sy /= np.linalg.norm(sy, axis=2, keepdims=True) + 1e-12
    return float(np.mean(np.sum(sx * sy, axis=2)))
