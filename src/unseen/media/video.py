"""What a video file is: a container FFmpeg reads with a moving picture in it.

The pipeline that masks a clip lives in `unseen.video`; reading and writing containers in
`unseen.media.video_io`. `anonymize_video` and `inspect_video` are still reachable from here for
callers not yet moved (imported on first call: this module imports no model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import av.error

from unseen.errors import UnreadableInput
from unseen.media import video_streams as streams
from unseen.media.segments import Span
from unseen.media.video_io import LOCAL_ONLY, local, rgb
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
    """True when FFmpeg finds a moving-picture stream in the file (by content, not by name)."""
    try:
        with av.open(local(path), metadata_errors="replace", options=LOCAL_ONLY) as container:
            return streams.main_video(container) is not None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        return False


_CONTAINER_MAGIC = ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3"), (8, b"AVI "), (0, b"\x00\x00\x01\xba"))


def refuse_broken_video(path: Path) -> None:
    """For a file that is neither a photo nor a video FFmpeg can read: UnreadableInput when it
    starts like a video container (MP4/MOV, Matroska/WebM, AVI, MPEG-PS), so it is reported as
    truncated or corrupt, not as "not media"."""
    from unseen.media.image import ISO_PHOTO_BRANDS

    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return
    if head[4:8] == b"ftyp" and head[8:12] in ISO_PHOTO_BRANDS:
        return  # a photo's
    if any(head[at : at + len(magic)] == magic for at, magic in _CONTAINER_MAGIC):
        raise UnreadableInput(f"{path}: a video file FFmpeg cannot read (truncated or corrupt)")


def anonymize_video(*args: Any, **kwargs: Any) -> Report:
    """Moved to `unseen.video.anonymize_video`; kept for callers not yet moved."""
    from unseen.video import anonymize_video as run

    return run(*args, **kwargs)


def inspect_video(*args: Any, **kwargs: Any) -> tuple[Detections, list[str], int, int]:
    """Moved to `unseen.video.inspect_video`; kept for callers not yet moved."""
    from unseen.video import inspect_video as run

    return run(*args, **kwargs)
