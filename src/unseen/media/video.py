"""What a video file is: a container FFmpeg reads with a moving picture in it.

The pipeline that masks a clip lives in `unseen.video`; reading and writing containers in
`unseen.media.video_io`. `anonymize_video` and `inspect_video` are still reachable from here for
callers not yet moved (imported on first call: this module imports no model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from unseen.media.segments import Span
from unseen.media.video_io import LOCAL_ONLY, rgb
from unseen.tempfiles import PREFIX
from unseen.types import Detections, Report

TMP_PREFIX = PREFIX
__all__ = [
    "LOCAL_ONLY",
    "TMP_PREFIX",
    "Span",
    "anonymize_video",
    "inspect_video",
    "is_video",
    "refuse_broken_video",
    "rgb",
]


def is_video(path: Path) -> bool:
    """True when the file is a video by content: not a photo (FFmpeg opens a HEIC photo as an
    MP4), and FFmpeg finds a moving-picture stream in it. See unseen.media.registry."""
    from unseen.media.registry import is_video as registry_is_video

    return registry_is_video(path)


def refuse_broken_video(path: Path) -> None:
    """See unseen.media.registry.refuse_broken_video."""
    from unseen.media.registry import refuse_broken_video as refuse

    refuse(path)


def anonymize_video(*args: Any, **kwargs: Any) -> Report:
    """Moved to `unseen.video.anonymize_video`; kept for callers not yet moved."""
    from unseen.video import anonymize_video as run

    return run(*args, **kwargs)


def inspect_video(*args: Any, **kwargs: Any) -> tuple[Detections, list[str], int, int]:
    """Moved to `unseen.video.inspect_video`; kept for callers not yet moved."""
    from unseen.video import inspect_video as run

    return run(*args, **kwargs)
