"""Clips the tests write with PyAV, the detectors that read them, and what the tests look for.

Moving squares do not look like faces to CenterFace, so tracking tests use `Scripted`, a
detector that reads the frame number drawn into each frame and answers from a script.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from unseen.settings import Settings
from unseen.tempfiles import PREFIX as TMP_PREFIX
from unseen.types import Detections, Image

FPS = 30
W, H = 320, 240
FAST = Settings(verify=False)
Boxes = list[tuple[float, float, float, float]]


def write_clip(
    path: Path,
    frames: int = 30,
    size: tuple[int, int] = (W, H),
    draw: Callable[[int], Image] | None = None,
    audio_tracks: int = 1,
    pts: list[int] | None = None,
    rotation: int | None = None,
    metadata: dict[str, str] | None = None,
    data_track: bool = False,
    pix_fmt: str = "yuv420p",
) -> None:
    """A clip with the frame number drawn into each frame, AAC tones, and optional extras."""
    width, height = size
    with av.open(str(path), "w") as out:
        out.metadata.update(metadata or {})
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "10"})
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        if rotation is not None:
            video.set_display_rotation(rotation)
        for key, value in (metadata or {}).items():
            video.metadata[key] = value
        sounds = [out.add_stream("aac", rate=48000) for _ in range(audio_tracks)]
        data = out.add_data_stream(codec_name="bin_data") if data_track else None
        samples = 0
        for i in range(frames):
            image = draw(i) if draw else numbered(i, width, height)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = (pts[i] if pts else i), Fraction(1, FPS)
            out.mux(video.encode(frame))
            for k, sound in enumerate(sounds):
                while samples * len(sounds) < (i + 1) * 48000 // FPS * (k + 1):
                    tone = 0.1 * np.sin(np.arange(1024) * (k + 1) / 7 + samples).astype(np.float32)
                    chunk = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
                    chunk.sample_rate, chunk.pts = 48000, samples // len(sounds) * len(sounds)
                    samples += 1024
                    out.mux(sound.encode(chunk))
            if data is not None:
                packet = av.Packet(b"GPS +48.8584+002.2945 serial 12345")
                packet.stream, packet.time_base = data, Fraction(1, FPS)
                packet.pts = packet.dts = i
                out.mux(packet)
        out.mux(video.encode())
        for sound in sounds:
            out.mux(sound.encode())


def numbered(index: int, width: int = W, height: int = H, face: Boxes | None = None) -> Image:
    """Grey frame, the index in binary as 16 px black/white cells along the top, white boxes as faces."""
    image = np.full((height, width, 3), 128, np.uint8)
    for bit in range(8):
        image[:16, bit * 16 : bit * 16 + 16] = 255 if index >> bit & 1 else 0
    for x1, y1, x2, y2 in face or []:
        image[int(y1) : int(y2), int(x1) : int(x2)] = 230
    return image


def frame_index(image: Image) -> int:
    return sum(1 << bit for bit in range(8) if image[4:12, bit * 16 + 4 : bit * 16 + 12].mean() > 128)


class Scripted:
    """A detector that answers from a script keyed by the frame number drawn in the frame."""

    def __init__(self, script: Callable[[int], Boxes]) -> None:
        self.script = script
        self.seen: list[int] = []

    def detect(self, image: Image) -> Detections:
        index = frame_index(image)
        self.seen.append(index)
        boxes = self.script(index)
        return Detections(np.float32(boxes).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32))


def decoded(path: Path) -> list[Image]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def audio_packets(path: Path) -> list[list[bytes]]:
    with av.open(str(path)) as container:
        tracks = list(container.streams.audio)
        packets: dict[int, list[bytes]] = {s.index: [] for s in tracks}
        for packet in container.demux(tracks):
            if packet.size:
                packets[packet.stream.index].append(bytes(packet))
    return list(packets.values())


def masked(image: Image, box: tuple[float, float, float, float]) -> bool:
    """Most of the box is the solid mask's black."""
    x1, y1, x2, y2 = (int(v) for v in box)
    return bool((image[y1:y2, x1:x2].max(axis=2) < 40).mean() > 0.9)


def no_temp_files(folder: Path) -> bool:
    return not list(folder.glob(TMP_PREFIX + "*"))
