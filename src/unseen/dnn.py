"""OpenCV DNN networks that can give their working memory back.

OpenCV keeps the buffers a network planned for the largest input it has run (~250 MB a
megapixel for CenterFace and the text detector) until the network is deleted: a photo's face,
check and text steps, each holding its own, added up to 1.6 GB on a 1 MP crowd photo. Every
network here is loaded on first use, and `release_all` drops their buffers (and hands the freed
heap back to the system) so a photo's peak is its largest step, not the sum of them. The weights
are read again on next use (0.05 s each); the network is planned again at its next input size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

_NETWORKS: weakref.WeakSet[Network] = weakref.WeakSet()
_LOCK = threading.Lock()


class Network:
    """A cv2.dnn network from an ONNX file or its bytes, loaded when first run."""

    def __init__(self, source: Path | bytes) -> None:
        self._source = source
        self._net: cv2.dnn.Net | None = None
        with _LOCK:
            _NETWORKS.add(self)

    @property
    def loaded(self) -> bool:
        return self._net is not None

    def run(self, blob: np.ndarray, outputs: Sequence[str] | None = None) -> list[np.ndarray]:
        """The network's outputs for one NCHW float32 input (the named ones, or the last one)."""
        net = self._load()
        net.setInput(blob)
        if outputs is None:
            return [np.asarray(net.forward())]
        return [np.asarray(a) for a in net.forward(list(outputs))]

    def release(self) -> None:
        """Drop the network and its buffers; the next run loads it again."""
        self._net = None

    def _load(self) -> cv2.dnn.Net:
        if self._net is None:
            if isinstance(self._source, bytes):
                self._net = cv2.dnn.readNetFromONNX(np.frombuffer(self._source, np.uint8))
            else:
                self._net = cv2.dnn.readNetFromONNX(str(self._source))
        return self._net


def release_all() -> None:
    """Drop every loaded network's buffers and return the freed memory to the system."""
    with _LOCK:
        networks = list(_NETWORKS)
    if not any(n.loaded for n in networks):
        return
    for network in networks:
        network.release()
    _trim_heap()


def _trim_heap() -> None:
    """glibc keeps freed blocks in the process (RSS stays high) until malloc_trim; elsewhere the
    allocator returns them itself or the call does not exist, and this does nothing."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, looked up once (find_library runs ldconfig)."""
    name = ctypes.util.find_library("c")
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None) if name else None
    return trim if callable(trim) else None
