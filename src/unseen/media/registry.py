"""What a file is, decided once for every command: a photo by its bytes, else a video FFmpeg can
play, else refused.

A file named as a photo or a video (by its extension) whose bytes are neither is unreadable, not
"not media": a damaged file, or a web page saved under a video's name, is a failure a batch names,
never one it skips in silence.

Photos are asked first, by content (JPEG, PNG, WebP, TIFF, HEIC/HEIF brands): FFmpeg opens a HEIC
photo as an MP4 with one HEVC stream, so asking it first turns photos into one-frame videos. An
output's extension chooses the format it is written in, within the input's kind. This module
imports no model: the batch planner and the review catalog use it too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path

from unseen.errors import OutputError, UnknownContent, UnreadableInput, UnsupportedInput
from unseen.media.image import HEAD_BYTES, ISO_PHOTO_BRANDS, ImageFormat, sniff_format


class FileKind(str, enum.Enum):
    """The two kinds of file unseen masks; the values are what manifests and the review store."""

    IMAGE = "image"
    VIDEO = "video"


@dataclass(frozen=True)
class MediaType:
    """A file's kind, the extension its output gets, and for a photo its format."""

    kind: FileKind
    suffix: str
    image_format: ImageFormat | None = None


PHOTO_SUFFIXES = {
    ".jpg": ImageFormat.JPEG,
    ".jpeg": ImageFormat.JPEG,
    ".jpe": ImageFormat.JPEG,
    ".png": ImageFormat.PNG,
    ".webp": ImageFormat.WEBP,
    ".tif": ImageFormat.TIFF,
    ".tiff": ImageFormat.TIFF,
    ".heic": ImageFormat.HEIF,
    ".heif": ImageFormat.HEIF,
    ".hif": ImageFormat.HEIF,
}
# containers the video writer fills (H.264, or VP9 for WebM), by FFmpeg's demuxer family
_ISO = ("mov", "mp4")
_MATROSKA = ("matroska", "webm")
VIDEO_SUFFIXES = {".mp4": _ISO, ".m4v": _ISO, ".mov": _ISO, ".mkv": _MATROSKA, ".webm": _MATROSKA}
_WEB_CODECS = {"vp8", "vp9", "av1"}
_CONTAINER_MAGIC = ((4, b"ftyp"), (0, b"\x1a\x45\xdf\xa3"), (8, b"AVI "), (0, b"\x00\x00\x01\xba"))
_PHOTO_WORDS = "a photo file (.jpg, .png, .webp, .tif, .heic)"
_VIDEO_WORDS = "a video file (.mp4, .mov, .mkv, .webm)"


def identify(path: str | Path) -> MediaType:
    """What the file at `path` is, by content; UnreadableInput or UnsupportedInput otherwise."""
    path = Path(path)
    if not path.is_file():  # a FIFO or device would block or never end: only regular files are read
        what = "is a folder" if path.is_dir() else "not a regular file" if path.exists() else "no such file"
        raise UnreadableInput(f"{path}: {what}")
    try:
        fmt = sniff_format(path)
    except UnsupportedInput as refused:
        if _photo_brand(path):
            raise  # AVIF and other ISO stills: FFmpeg would call them videos; they are photos we refuse
        suffix = _video_suffix(path)
        if suffix is None:
            refuse_broken_video(path)
            if isinstance(refused, UnknownContent):  # a GIF named .jpg is a GIF: refused as one
                refuse_named_media(path)
            raise
        return MediaType(FileKind.VIDEO, suffix)
    return MediaType(FileKind.IMAGE, fmt.suffix, fmt)


def output_type(dst: str | Path, source: MediaType) -> MediaType:
    """What to write at `dst` for an input of type `source`: its extension picks the format.

    A photo may become another photo format and a video another container; across kinds, or an
    extension unseen does not write, is an OutputError that says which extensions would do.
    """
    dst = Path(dst)
    suffix = dst.suffix.lower()
    if source.kind is FileKind.IMAGE:
        if suffix in PHOTO_SUFFIXES:
            return MediaType(FileKind.IMAGE, suffix, PHOTO_SUFFIXES[suffix])
        if suffix in VIDEO_SUFFIXES:
            raise OutputError(f"{dst}: the input is a photo; a photo cannot be written as a video ({suffix})")
        raise OutputError(
            f"{dst}: unseen writes a photo as {_PHOTO_WORDS}, not {suffix or 'a name without one'}"
        )
    if suffix in VIDEO_SUFFIXES:
        return MediaType(FileKind.VIDEO, suffix)
    if suffix in PHOTO_SUFFIXES:
        raise OutputError(f"{dst}: the input is a video; a video cannot be written as a photo ({suffix})")
    raise OutputError(f"{dst}: unseen writes a video as {_VIDEO_WORDS}, not {suffix or 'a name without one'}")


def is_video(path: str | Path) -> bool:
    """True for a file identify() calls a video: a photo never is, whatever FFmpeg says."""
    try:
        return identify(path).kind is FileKind.VIDEO
    except (UnreadableInput, UnsupportedInput):
        return False


def refuse_broken_video(path: Path) -> None:
    """For a file that is neither a photo nor a playable video: UnreadableInput when it starts
    like a video container (MP4/MOV, Matroska/WebM, AVI, MPEG-PS), so it is reported as truncated
    or corrupt, not as "not media"."""
    head = _head(path)
    if head[4:8] == b"ftyp" and head[8:12] in ISO_PHOTO_BRANDS:
        return  # a photo's
    if any(head[at : at + len(magic)] == magic for at, magic in _CONTAINER_MAGIC):
        raise UnreadableInput(f"{path}: a video file FFmpeg cannot read (truncated or corrupt)")


def refuse_named_media(path: Path) -> None:
    """For a file that is neither a photo nor a playable video and starts like no known format:
    UnreadableInput when its name says photo or video (damaged, or another file under that name)."""
    suffix = path.suffix.lower()
    kind = "photo" if suffix in PHOTO_SUFFIXES else "video" if suffix in VIDEO_SUFFIXES else None
    if kind is not None:
        raise UnreadableInput(
            f"{path}: named as a {kind} ({path.suffix}) but its bytes are neither a photo nor a video "
            "unseen can read (damaged, or another kind of file)"
        )


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(HEAD_BYTES)
    except OSError:
        return b""


def _photo_brand(path: Path) -> bool:
    """An ISO media file whose major brand is a still picture (HEIF, AVIF): never a video."""
    head = _head(path)
    return head[4:8] == b"ftyp" and head[8:12] in ISO_PHOTO_BRANDS


def _video_suffix(path: Path) -> str | None:
    """The output extension of a video FFmpeg can play, from its container; None if it is not one.

    The input's own extension is kept when it names the same container family; otherwise MP4
    for the ISO family and Matroska (WebM for VP8/VP9/AV1) for the rest, which holds any audio.
    """
    import av
    import av.error

    from unseen.media.video_streams import main_video

    try:
        with av.open(
            str(path.absolute()), metadata_errors="replace", options={"protocol_whitelist": "file"}
        ) as container:
            video = main_video(container)
            if video is None:
                return None
            families = set(container.format.name.split(","))
            codec = video.codec_context.name if video.codec_context else ""
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        return None
    own = path.suffix.lower()
    web = codec in _WEB_CODECS
    if own in VIDEO_SUFFIXES and families & set(VIDEO_SUFFIXES[own]) and (own != ".webm" or web):
        return own
    if families & set(_ISO):
        return ".mp4"
    return ".webm" if web and "webm" in families else ".mkv"
