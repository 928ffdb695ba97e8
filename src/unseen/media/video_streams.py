"""Which streams and tags of a video survive, how the output streams are set up, what is dropped.

One allow-list (`kept_tag`, `KEPT_STREAMS`) decides both what the input gives away (`dropped`)
and what may be left in a written file (`read_back`), so the two cannot drift apart.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
from av.sidedata.sidedata import SideData, Type
from av.stream import Disposition

X264_PRESET = "veryfast"  # see bench/bench_video.py: ultrafast files are ~2x larger for ~10% speed
X264_CRF = "20"
# an FFmpeg "video" that is really a picture: the image module handles these
IMAGE_FORMATS = {"image2", "image2pipe", "gif", "apng", "tty", "webp_pipe"}
IMAGE_CODECS = {"png", "mjpeg", "bmp", "tiff", "webp", "gif", "ansi", "jpegxl", "jpeg2000", "apng"}

# tag name fragments and what they give away, for the report
_TAGS = (
    (("location", "xyz", "gps", "loci", "iso6709"), "location"),
    (("creation_time", "date", "time"), "creation time"),
    (("make", "model", "camera", "lens", "serial", "device"), "make/model"),
    (("encoder", "software", "firmware", "tool"), "software"),
    (("artist", "author", "owner", "copyright", "user", "comment", "title", "description"), "names and text"),
    (("handler_name", "vendor_id"), "handler names"),
)
# what libavformat writes by itself and what says nothing about who filmed
_HARMLESS = {"major_brand", "minor_version", "compatible_brands", "language", "duration"}
_MUXER_VALUES = {
    "handler_name": ("VideoHandler", "SoundHandler"),
    "vendor_id": ("[0][0][0][0]", "FFMP"),
    "encoder": ("Lavf", "Lavc"),
}
KEPT_STREAMS = ("video", "audio")


def kept_tag(key: str, value: str) -> bool:
    """Whether a container or stream tag says nothing about who filmed, where, when or with what."""
    lowered = key.lower()
    if lowered in _HARMLESS:
        return True
    return any(value.startswith(prefix) for prefix in _MUXER_VALUES.get(lowered, ())) or (
        lowered == "encoder" and "libx264" in value
    )


def read_back(path: Path) -> list[str]:
    """What in a written file could identify: tags beyond the allow-list, tracks beyond video/audio."""
    left: list[str] = []
    with av.open(
        str(Path(path).absolute()), metadata_errors="replace", options={"protocol_whitelist": "file"}
    ) as c:
        tags = [("file", k, v) for k, v in c.metadata.items()]
        for stream in c.streams:
            tags += [(f"stream {stream.index}", k, v) for k, v in stream.metadata.items()]
            if stream.type not in KEPT_STREAMS:
                left.append(f"{stream.type} track")
        left += [f"{where}: {key}" for where, key, value in tags if not kept_tag(key, value)]
    return left


def main_video(container: av.container.InputContainer) -> av.VideoStream | None:
    """The stream with the moving picture: not cover art, not a still image."""
    if container.format.name in IMAGE_FORMATS or container.format.name.endswith("_pipe"):
        return None
    for stream in container.streams.video:
        if stream.disposition & (Disposition.attached_pic | Disposition.still_image):
            continue
        ctx = stream.codec_context
        if ctx is None or (ctx.name in IMAGE_CODECS and (stream.frames or 0) <= 1):
            continue
        return stream
    return None


MAX_RATE = 300.0  # frames a second; past it a stream's rate is a broken header, not a camera's


def frame_rate(video: av.VideoStream) -> float:
    """The clip's frames a second, for the pipeline's cadence: the stream's average rate, else
    its guessed one, the first of them that a camera could shoot (1-300: slow motion included),
    else 30. A file whose frames all carry one timestamp (re-encoded without them) says 1800:
    the cadence, the checks' spacing and the look-ahead buffer, all counted in seconds, would
    then look at one frame in 240 and buffer 1350 frames."""
    for rate in (video.average_rate, video.guessed_rate):
        if rate and 1.0 <= float(rate) <= MAX_RATE:
            return float(rate)
    return 30.0


def dropped(container: av.container.InputContainer, video: av.VideoStream, keep_audio: bool) -> list[str]:
    """Names of what the input holds that the output will not: tags, tracks, chapters."""
    found: list[str] = []
    tags = [*container.metadata.items(), *(item for s in container.streams for item in s.metadata.items())]
    for key, value in tags:
        lowered = key.lower()
        if kept_tag(key, value):
            continue
        # never the tag's own name in the report: it is input content
        name = next((label for words, label in _TAGS if any(w in lowered for w in words)), "other tags")
        if name not in found:
            found.append(name)
    for stream in container.streams:
        if stream is video or (stream.type == "audio" and keep_audio):
            continue
        kind = {
            "audio": "audio track",
            "video": "extra video track",
            "subtitle": "subtitle track",
            "attachment": "attachment",
            "data": "data track",
        }.get(stream.type, f"{stream.type} track")
        if stream.type == "video" and stream.disposition & Disposition.attached_pic:
            kind = "cover picture"
        if kind not in found:
            found.append(kind)
    if container.chapters():
        found.append("chapters")
    return found


def add_video(
    out: av.container.OutputContainer, source: av.VideoStream, first: av.VideoFrame, width: int, height: int
) -> av.VideoStream:
    """The encoder: H.264 (VP9 for WebM), 8-bit 4:2:0, the input's timestamps and display rotation."""
    rate = source.average_rate or source.guessed_rate or Fraction(30)
    if out.format.name == "webm":
        codec = "libvpx-vp9"
        options = {"crf": "32", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    else:
        # a53cc off: closed captions in the input's frames are text that could identify
        codec, options = "libx264", {"preset": X264_PRESET, "crf": X264_CRF, "a53cc": "0"}
    if codec not in out.supported_codecs:
        raise ValueError(f"the {out.format.name} container cannot hold {codec} video")
    stream = cast(av.VideoStream, out.add_stream(codec, rate=rate, options=options))
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    # timestamps pass through untouched: variable frame rate survives
    if source.time_base is not None:
        stream.time_base = source.time_base
        stream.codec_context.time_base = source.time_base
    ctx = source.codec_context
    stream.codec_context.color_range = ctx.color_range
    stream.codec_context.color_primaries = ctx.color_primaries
    stream.codec_context.color_trc = ctx.color_trc
    stream.codec_context.colorspace = ctx.colorspace
    if ctx.sample_aspect_ratio:
        stream.codec_context.sample_aspect_ratio = ctx.sample_aspect_ratio
    matrix = display_matrix(first)
    if matrix is not None:
        # must be in place before the header is written, which the first muxed packet (often audio) does
        stream.set_display_matrix(matrix)
    stream.metadata.clear()
    return stream


def add_audio(out: av.container.OutputContainer, source: av.AudioStream) -> av.AudioStream:
    """A copy of an audio stream's codec parameters: its packets are remuxed, never re-encoded."""
    if source.codec_context is None or source.codec_context.name not in out.supported_codecs:
        name = source.codec_context.name if source.codec_context else "unknown"
        raise ValueError(
            f"{name} audio cannot be kept in a {out.format.name} file: drop the audio "
            "or choose an output container that holds it"
        )
    stream = out.add_stream_from_template(source)
    stream.metadata.clear()
    stream.disposition = source.disposition & Disposition.default
    return stream


def display_matrix(frame: av.VideoFrame) -> list[int] | None:
    """The frame's display matrix (rotation and flips), 9 int32, if it has one."""
    for data in cast(Iterable[SideData], frame.side_data):
        raw = bytes(data)
        if data.type == Type.DISPLAYMATRIX and len(raw) >= 36:
            return list(struct.unpack("<9i", raw[:36]))
    return None
