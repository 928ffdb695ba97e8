"""Models load once per process, on first use, never at import time."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from functools import lru_cache
from typing import Any

from unseen.detect import CenterFace, Detector, MultiScale
from unseen.settings import Settings


@lru_cache(maxsize=4)
def _centerface(threads: int = 0) -> CenterFace:
    return CenterFace(threads=threads)


def default_detector(settings: Settings) -> Detector:
    """The detector that decides the masks: CenterFace at the image's size and upscaled."""
    centerface = _centerface()
    return MultiScale(centerface, threshold=settings.threshold)


def import_onnxruntime() -> Any:
    """Import onnxruntime without its trace on disk.

    onnxruntime 1.32's bundled telemetry SDK writes $TMPDIR/.ses (a first-run time and a random
    id) at import: a lasting sign on the device that unseen ran. It is pointed at a private
    folder for the import, and the folder is removed.
    """
    if "onnxruntime" in sys.modules:
        return sys.modules["onnxruntime"]
    private = tempfile.mkdtemp(prefix="unseen-")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = private
    tempfile.tempdir = None
    try:
        import onnxruntime
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
        tempfile.tempdir = None
        shutil.rmtree(private, ignore_errors=True)
    return onnxruntime
