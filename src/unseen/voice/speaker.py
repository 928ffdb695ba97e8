"""Who is speaking: the GE2E speaker encoder of PyPI `resemblyzer`, run in numpy.

The weights are the `pretrained.pt` that ships in the resemblyzer wheel (Apache-2.0), read from
its installed files by a restricted unpickler that builds only float arrays: the package itself
is never imported (its import chain needs webrtcvad, librosa and torch) and no code in the
weights file can run. The network is resemblyzer's: a 3-layer LSTM over 40-band mel power
frames, a linear layer, ReLU and L2 norm; an utterance's embedding is the normalised mean of
its 1.6 s partials.
"""

from __future__ import annotations

import importlib.util
import pickle
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from unseen.errors import MissingExtra

Audio = npt.NDArray[np.float32]  # mono samples in [-1, 1]

RATE = 16_000  # the encoder's sample rate
N_FFT, HOP, N_MELS = 400, 160, 40  # 25 ms windows every 10 ms, as the model was trained
PARTIAL = 160  # frames in a partial utterance (1.6 s)
PARTIAL_STEP = 77  # frames between partials: resemblyzer's default of 1.3 partials a second
# cosine similarity at and above which two recordings are taken for the same speaker. Measured on
# espeak-ng voices (bench/bench_voice.py): the same voice saying another sentence scores 0.9 and up;
# different voices 0.5-0.93 (variants of one synthesizer are close); real voices sit lower
SAME_SPEAKER = 0.75
_EXPECTED = {
    **{f"lstm.weight_ih_l{k}": (1024, 40 if k == 0 else 256) for k in range(3)},
    **{f"lstm.weight_hh_l{k}": (1024, 256) for k in range(3)},
    **{f"lstm.bias_ih_l{k}": (1024,) for k in range(3)},
    **{f"lstm.bias_hh_l{k}": (1024,) for k in range(3)},
    "linear.weight": (256, 256),
    "linear.bias": (256,),
}


class SpeakerRecognizer(Protocol):
    """Anything that turns speech into a unit-length speaker embedding."""

    name: str
    threshold: float

    def embed(self, speech: Audio) -> npt.NDArray[np.float32]: ...


def weights_path() -> Path:
    """resemblyzer's pretrained.pt, located without importing the package."""
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra("resemblyzer (the speaker recognizer)", "voice")
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not path.is_file():
        raise MissingExtra("resemblyzer's pretrained.pt", "voice")
    return path


@dataclass
class _Tensor:
    """A tensor the pickle names, resolved once the storages after it have been read."""

    key: str
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


class _Storage:
    def __init__(self, key: str) -> None:
        self.key = key


class _Dict(dict[str, Any]):
    """collections.OrderedDict in the pickle: a dict that takes the attributes torch sets on it."""


class _FloatStorage:
    """Stands for torch.FloatStorage in the pickle: only float32 weights are accepted."""


class _Unpickler(pickle.Unpickler):
    """Torch's legacy format, with nothing but tensor rebuilding and plain containers allowed."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild
        if (module, name) == ("torch", "FloatStorage"):
            return _FloatStorage
        if (module, name) == ("collections", "OrderedDict"):
            return _Dict
        raise pickle.UnpicklingError(f"the weights file names {module}.{name}: refused")

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and pid[0] == "storage" and pid[1] is _FloatStorage):
            raise pickle.UnpicklingError("the weights file holds a storage that is not float32")
        return _Storage(str(pid[2]))


def _rebuild(storage: _Storage, offset: int, shape: Any, stride: Any, *_: Any) -> _Tensor:
    return _Tensor(storage.key, int(offset), tuple(shape), tuple(stride))


def load_weights(path: Path) -> dict[str, npt.NDArray[np.float32]]:
    """The encoder's weights from a torch legacy-format checkpoint, as float32 arrays."""
    with path.open("rb") as f:
        for _ in range(3):  # magic number, protocol version, system info
            pickle.load(f)  # noqa: S301 - plain ints and dicts, before the restricted part
        checkpoint = _Unpickler(f).load()
        keys = pickle.load(f)  # noqa: S301 - a list of strings
        storages: dict[str, npt.NDArray[np.float32]] = {}
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            storages[str(key)] = np.frombuffer(f.read(count * 4), dtype="<f4")
    state = checkpoint["model_state"]
    weights = {}
    for name, shape in _EXPECTED.items():
        t = state[name]
        data = storages[t.key]
        array = np.lib.stride_tricks.as_strided(
            data[t.offset :], shape=t.shape, strides=tuple(4 * s for s in t.stride)
        )
        if array.shape != shape:
            raise ValueError(f"{path}: {name} is {array.shape}, expected {shape}")
        weights[name] = np.array(array, dtype=np.float32)
    return weights


def _mel_filters() -> npt.NDArray[np.float32]:
    """librosa's default mel filter bank (Slaney scale and area norm) for 16 kHz, 400-point FFT."""

    def hz_to_mel(f: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        f = np.asarray(f, dtype=np.float64)
        linear = f / (200.0 / 3)
        log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
        return np.where(f >= 1000.0, log, linear)

    def mel_to_hz(m: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        linear = m * (200.0 / 3)
        log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
        return np.where(m >= 15.0, log, linear)

    fft_freqs = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    mel_pts = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(RATE / 2.0)), N_MELS + 2))
    diff = np.diff(mel_pts)
    ramps = mel_pts[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / diff[:-1, None]
    upper = ramps[2:] / diff[1:, None]
    bank = np.maximum(0, np.minimum(lower, upper))
    bank *= (2.0 / (mel_pts[2 : N_MELS + 2] - mel_pts[:N_MELS]))[:, None]
    return bank.astype(np.float32)


def mel_frames(speech: Audio) -> npt.NDArray[np.float32]:
    """Mel power frames (n, 40) as librosa.feature.melspectrogram gives resemblyzer."""
    padded = np.pad(speech.astype(np.float32), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(count, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0])
    )
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power.astype(np.float32) @ _mel_filters().T).astype(np.float32)


class GE2E:
    """resemblyzer's voice encoder: 256-d speaker embeddings from 16 kHz speech."""

    name = "resemblyzer GE2E"

    def __init__(self, path: Path | None = None, threshold: float = SAME_SPEAKER) -> None:
        self.w = load_weights(path or weights_path())
        self.threshold = threshold

    def partials(self, mels: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Embeddings of a batch of partial utterances (b, frames, 40) -> (b, 256)."""
        x = mels.astype(np.float32)
        batch = x.shape[0]
        for layer in range(3):
            w_ih, w_hh = self.w[f"lstm.weight_ih_l{layer}"], self.w[f"lstm.weight_hh_l{layer}"]
            bias = self.w[f"lstm.bias_ih_l{layer}"] + self.w[f"lstm.bias_hh_l{layer}"]
            gates_in = x @ w_ih.T + bias  # (b, t, 1024), all time steps at once
            h = np.zeros((batch, 256), np.float32)
            c = np.zeros((batch, 256), np.float32)
            out = np.empty((batch, x.shape[1], 256), np.float32)
            for t in range(x.shape[1]):
                g = gates_in[:, t] + h @ w_hh.T
                i, f, cell, o = np.split(g, 4, axis=1)  # PyTorch's gate order
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(cell)
                h = _sigmoid(o) * np.tanh(c)
                out[:, t] = h
            x = out
        raw = np.maximum(h @ self.w["linear.weight"].T + self.w["linear.bias"], 0)
        unit: npt.NDArray[np.float32] = (
            raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-9)
        ).astype(np.float32)
        return unit

    def embed(self, speech: Audio) -> npt.NDArray[np.float32]:
        """One utterance's embedding, as resemblyzer's embed_utterance computes it."""
        mels = mel_frames(speech)
        frames = int(np.ceil((len(speech) + 1) / HOP))
        starts = list(range(0, max(1, frames - PARTIAL + PARTIAL_STEP + 1), PARTIAL_STEP))
        if (len(speech) - starts[-1] * HOP) / (PARTIAL * HOP) < 0.75 and len(starts) > 1:
            starts = starts[:-1]
        need = starts[-1] + PARTIAL
        if need > len(mels):
            mels = np.concatenate([mels, np.zeros((need - len(mels), N_MELS), np.float32)])
        batch = np.stack([mels[s : s + PARTIAL] for s in starts])
        mean = self.partials(batch).mean(axis=0)
        unit: npt.NDArray[np.float32] = (mean / max(float(np.linalg.norm(mean)), 1e-9)).astype(np.float32)
        return unit


def _sigmoid(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = (0.5 * (np.tanh(0.5 * x) + 1.0)).astype(np.float32)
    return out


@lru_cache(maxsize=1)
def default_recognizer() -> GE2E:
    """The speaker recognizer, loaded once per process."""
    return GE2E()


def similarity(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> float:
    """Cosine similarity of two unit embeddings."""
    return float(np.dot(a, b))
