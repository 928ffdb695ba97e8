"""Audio in and out with PyAV: decode a file's audio tracks into memory, and remux a video's
packets (never re-encoded) with new audio encoded from memory.

Nothing here writes audio anywhere but into the output file being made: the original voice stays
in memory.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
import numpy.typing as npt
from av.sidedata.sidedata import SideData, Type

from unseen.errors import UnreadableInput

Audio = npt.NDArray[np.float32]
LOCAL_ONLY = {"protocol_whitelist": "file"}
MAX_GAP_SECONDS = 0.02  # a jump in audio time beyond this is a gap: filled with silence, kept in sync


@dataclass
class Track:
    """One audio track, mono at `rate` Hz, starting `start` seconds into the file."""

    samples: Audio
    rate: int
    start: float

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate


def _local(path: Path) -> str:
    return str(Path(path).absolute())  # "name:..." would be read as a protocol otherwise


def read_tracks(src: Path, rate: int) -> list[Track]:
    """Every audio track of `src`, down-mixed to mono at `rate` Hz, gaps filled with silence."""
    try:
        with av.open(_local(src), metadata_errors="replace", options=LOCAL_ONLY) as container:
            return [_read(container, stream, rate) for stream in container.streams.audio]
    except av.error.FFmpegError as error:
        raise UnreadableInput(f"{src}: its audio cannot be decoded ({error})") from error


def _read(container: av.container.InputContainer, stream: av.AudioStream, rate: int) -> Track:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    pieces: list[Audio] = []
    start: float | None = None
    count = 0
    for packet in container.demux(stream):
        for frame in packet.decode():
            if frame.pts is not None and frame.time_base is not None:
                at = float(frame.pts * frame.time_base)
                if start is None:
                    start = at
                gap = int(round((at - start) * rate)) - count
                if gap > MAX_GAP_SECONDS * rate:
                    pieces.append(np.zeros(gap, np.float32))
                    count += gap
            for out in resampler.resample(frame):
                array = out.to_ndarray().reshape(-1).astype(np.float32)
                pieces.append(array)
                count += len(array)
    for out in resampler.resample(None):
        array = out.to_ndarray().reshape(-1).astype(np.float32)
        pieces.append(array)
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Track(samples, rate, start or 0.0)


def audio_codec(container_format: str) -> str:
    """The audio encoder for an output container: Opus for WebM, AAC for MP4, MOV and Matroska."""
    return "libopus" if container_format == "webm" else "aac"


def remux(video_only: Path, tracks: list[Track], dst: Path) -> None:
    """Write `dst`: the video packets of `video_only` as they are, its display rotation, and
    `tracks` encoded as new audio streams, in time order."""
    with (
        av.open(_local(video_only), options=LOCAL_ONLY) as source,
        av.open(_local(dst), "w") as out,
    ):
        if not source.streams.video:
            raise UnreadableInput(f"{video_only}: the masked video holds no picture")
        video = source.streams.video[0]
        time_base = video.time_base or Fraction(1, 90000)
        picture = out.add_stream_from_template(video)
        picture.time_base = time_base
        matrix = _display_matrix(video_only)
        if matrix is not None:  # before the first packet, which writes the header
            picture.set_display_matrix(matrix)
        picture.metadata.clear()
        codec = audio_codec(out.format.name)
        sounds: list[Iterator[tuple[Any, av.Packet[Any]]]] = []
        for track in tracks:
            stream = cast(av.AudioStream, out.add_stream(codec, rate=track.rate, layout="mono"))
            stream.bit_rate = 96_000 if codec == "aac" else 64_000
            stream.time_base = Fraction(1, track.rate)
            stream.metadata.clear()
            sounds.append((stream, p) for p in _encoded(stream, track))
        pictures = ((picture, p) for p in source.demux(video) if p.size)
        for target, packet in heapq.merge(pictures, *sounds, key=_seconds):
            packet.stream = target
            out.mux(packet)


def _encoded(stream: av.AudioStream, track: Track) -> Iterator[av.Packet[Any]]:
    """The track's packets from the encoder, timed from the track's start in the file."""
    ctx = stream.codec_context
    ctx.open()  # frame_size is known once the encoder is open
    size = ctx.frame_size or 1024
    fmt = ctx.format.name if ctx.format is not None else "fltp"
    first = max(0, int(round(track.start * track.rate)))
    for at in range(0, len(track.samples), size):
        chunk = track.samples[at : at + size]  # a short last frame keeps the track's length
        data: npt.NDArray[Any] = chunk.reshape(1, -1)
        if fmt.startswith("s16"):
            data = (np.clip(data, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format=fmt, layout="mono")
        frame.sample_rate = track.rate
        frame.pts = first + at
        frame.time_base = Fraction(1, track.rate)
        yield from stream.encode(frame)
    yield from stream.encode(None)


def _seconds(item: tuple[Any, av.Packet[Any]]) -> float:
    packet = item[1]
    when = packet.dts if packet.dts is not None else packet.pts
    return float(when * packet.time_base) if when is not None and packet.time_base else 0.0


def _display_matrix(path: Path) -> list[int] | None:
    """The display matrix (rotation, flips) of the first picture, 9 int32, if it has one."""
    with av.open(_local(path), options=LOCAL_ONLY) as container:
        for frame in container.decode(video=0):
            for data in cast(Iterable[SideData], frame.side_data):
                raw = bytes(data)
                if data.type == Type.DISPLAYMATRIX and len(raw) >= 36:
                    return list(struct.unpack("<9i", raw[:36]))
            return None
    return None
