"""Reading and writing video containers, local files only: frames in, masked frames out.

The decoder side opens a container for local files only (never a URL, also inside playlists and
references) and turns a frame into upright RGB pixels; the encoder side opens the output with
the picture stream set up from the first frame (display rotation in place before the first
packet, which is often audio), holds audio that comes before it, pads odd sizes and turns
upright pixels back into the coded orientation. No model is imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
import numpy.typing as npt

from unseen.errors import UnreadableInput, UnsupportedInput
from unseen.media import video_streams as streams
from unseen.types import Image

# only local files, also for playlists and references inside a container: never the network
LOCAL_ONLY = {"protocol_whitelist": "file"}
MAX_EARLY_AUDIO = 10_000  # audio packets held back before the first picture; past this the file is odd


def local(path: Path) -> str:
    """An absolute path: FFmpeg reads "name:..." as a protocol (http:, concat:, ...) otherwise."""
    return str(Path(path).absolute())


def open_input(src: Path) -> av.container.InputContainer:
    """The container at `src`, or UnreadableInput naming it."""
    try:
        return av.open(local(src), metadata_errors="replace", options=LOCAL_ONLY)
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError) as error:
        raise UnreadableInput(f"{src}: not a readable video ({reason(error)})") from error


def reason(error: BaseException) -> str:
    """FFmpeg's words without its errno noise."""
    if isinstance(error, av.error.FFmpegError):
        return str(error.strerror or error).lower()
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def rgb(frame: av.VideoFrame) -> Image:
    """The frame as coded, an H x W x 3 uint8 RGB array (any bit depth in)."""
    return np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)


def turns(frame: av.VideoFrame) -> int:
    """Quarter turns counter-clockwise from the coded picture to the one shown."""
    return round(frame.rotation / 90) % 4


def upright(frame: av.VideoFrame) -> Image:
    """The frame as the viewer sees it: the display rotation applied."""
    quarter = turns(frame)
    image = rgb(frame)
    return image if quarter == 0 else np.ascontiguousarray(np.rot90(image, quarter))


class Encoder:
    """The output container: picture stream opened on the first frame, audio copied as is."""

    def __init__(
        self,
        out: av.container.OutputContainer,
        source: av.VideoStream,
        audio: list[av.AudioStream],
        src: Path,
    ) -> None:
        self.out, self.source, self.audio, self.src = out, source, audio, src
        self.stream: av.VideoStream | None = None
        self.audio_out: dict[av.AudioStream, av.AudioStream] = {}
        self.early: list[av.Packet[Any]] = []
        self.turns = 0
        ctx = source.codec_context
        self.width, self.height = ctx.width, ctx.height
        # x264's 4:2:0 needs even sizes: the last row / column is repeated (no face pixels added)
        self.out_width, self.out_height = self.width + self.width % 2, self.height + self.height % 2

    @property
    def opened(self) -> bool:
        return self.stream is not None

    def open(self, first: av.VideoFrame) -> None:
        """Set up the streams from the first decoded frame (its rotation), then the audio held back."""
        self.turns = turns(first)
        try:
            self.stream = streams.add_video(self.out, self.source, first, self.out_width, self.out_height)
            self.audio_out = {a: streams.add_audio(self.out, a) for a in self.audio}
        except ValueError as error:
            raise UnsupportedInput(f"{self.src}: {error}") from error
        for packet in self.early:
            self._mux_audio(packet)
        self.early.clear()

    def audio_packet(self, packet: av.Packet[Any]) -> None:
        if self.stream is None:
            self.early.append(packet)
            if len(self.early) > MAX_EARLY_AUDIO:
                raise UnreadableInput(f"{self.src}: no picture in the first {len(self.early)} audio packets")
            return
        self._mux_audio(packet)

    def _mux_audio(self, packet: av.Packet[Any]) -> None:
        packet.stream = self.audio_out[packet.stream]
        self.out.mux(packet)

    def picture(self, frame: av.VideoFrame, pixels: Image | None = None) -> None:
        """Encode `frame`, or in its place `pixels` (upright, masked) with its timestamp."""
        assert self.stream is not None
        padded = (self.out_width, self.out_height) != (self.width, self.height)
        if pixels is None and not padded:
            out = frame if frame.format.name == "yuv420p" else frame.reformat(format="yuv420p")
        else:
            coded = rgb(frame) if pixels is None else pixels
            if pixels is not None and self.turns:
                coded = np.rot90(pixels, -self.turns)
            if padded:
                pad = ((0, self.out_height - self.height), (0, self.out_width - self.width), (0, 0))
                coded = np.pad(coded, pad, mode="edge")
            out = av.VideoFrame.from_ndarray(np.ascontiguousarray(coded), format="rgb24")
            out = out.reformat(format="yuv420p")
        out.pts, out.time_base = frame.pts, self.source.time_base
        self.out.mux(self.stream.encode(out))

    def picture_yuv(
        self, frame: av.VideoFrame, solid: npt.NDArray[np.bool_], noise: npt.NDArray[np.bool_] | None = None
    ) -> bool:
        """Encode `frame` with black over `solid` and random values over `noise` (upright masks),
        painted on its own 4:2:0 planes: no conversion to RGB and back. False when the frame is
        not plain 8-bit 4:2:0 of even size (then `picture` with RGB pixels is the way)."""
        assert self.stream is not None
        if frame.format.name != "yuv420p" or self.width % 2 or self.height % 2:
            return False
        planes = frame.to_ndarray(format="yuv420p")  # a copy: the decoder may still read the frame
        h, w = self.height, self.width
        luma = planes[:h]
        chroma = planes[h:].reshape(2, h // 2, w // 2)  # U then V, each a quarter of the picture
        black = 0 if frame.color_range == 2 else 16  # full ("JPEG") range or video range
        for area, value in ((solid, black), (noise, None)):
            if area is None or not area.any():
                continue
            coded = np.rot90(area, -self.turns) if self.turns else area
            half = coded[0::2, 0::2] | coded[1::2, 0::2] | coded[0::2, 1::2] | coded[1::2, 1::2]
            if value is None:
                rng = np.random.default_rng()
                luma[coded] = rng.integers(0, 256, int(coded.sum()), dtype=np.uint8)
                chroma[:, half] = rng.integers(0, 256, (2, int(half.sum())), dtype=np.uint8)
            else:
                luma[coded] = value
                chroma[:, half] = 128  # no colour: chroma of a face would outline it
        out = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        out.color_range = frame.color_range
        out.pts, out.time_base = frame.pts, self.source.time_base
        self.out.mux(self.stream.encode(out))
        return True

    def finish(self) -> None:
        if self.stream is not None:
            self.out.mux(self.stream.encode(None))
