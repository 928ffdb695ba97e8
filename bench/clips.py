"""Synthetic test clips: public-domain astronaut faces moving over a moving background, with audio."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from unseen.types import Image

# the astronaut's head inside skimage.data.astronaut() (512 x 512): CenterFace finds the face at
# about x 181-271, y 61-180; the crop keeps hair and shoulders so the face is not cut at the edge
HEAD = (20, 120, 330, 240)  # y1, x1, y2, x2


def astronaut_head() -> Image:
    """The astronaut's head and shoulders, RGB."""
    from skimage import data

    y1, x1, y2, x2 = HEAD
    return np.ascontiguousarray(data.astronaut()[y1:y2, x1:x2])


def background(width: int, height: int, t: int) -> Image:
    """A textured background that scrolls, so the encoder has real work to do."""
    rng = np.random.default_rng(7)
    tile = cv2.resize(
        rng.integers(40, 200, (height // 16 + 2, width // 16 + 2, 3), np.uint8),
        (width + 32, height + 32),
        interpolation=cv2.INTER_LINEAR,
    )
    off = (t * 3) % 32
    return np.ascontiguousarray(tile[off : off + height, off : off + width])


def face_positions(width: int, height: int, t: int, frames: int) -> list[tuple[int, int, float]]:
    """(x, y, scale) of each face at frame t: three sizes crossing the frame at different speeds.

    Speeds are 0.2-0.6% of the width a frame (4-12 px at 1080p, a walk or a slow pan at 30 fps);
    a face that leaves on the right comes back at the left, like a cut. `frames` is not used.
    """
    out = []
    for k, (size, row) in enumerate(((1.5, 0.05), (0.75, 0.5), (0.375, 0.8))):
        x = int((0.02 + 0.7 * ((t * 0.002 * (1 + k) / 0.7 + 0.3 * k) % 1.0)) * width)
        out.append((x, int(row * height), size * height / 1080))
    return out


def head_boxes(width: int, height: int, t: int) -> list[tuple[int, int, int, int]]:
    """Where `make_clip` pasted each head on frame t (x1, y1, x2, y2, clipped to the frame)."""
    h, w = HEAD[2] - HEAD[0], HEAD[3] - HEAD[1]
    out = []
    for x, y, scale in face_positions(width, height, t, 0):
        out.append((x, y, min(width, x + int(w * scale)), min(height, y + int(h * scale))))
    return out


def make_clip(path: Path, width: int, height: int, frames: int, fps: int = 30, audio: bool = True) -> None:
    """Write an H.264 MP4 with moving astronaut faces and, optionally, an AAC sine track."""
    head = astronaut_head()
    bgs = [background(width, height, t) for t in range(32)]  # the scroll repeats every 32 frames
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream("aac", rate=48000, layout="stereo") if audio else None
        samples = 0
        for t in range(frames):
            img = bgs[t % 32].copy()
            for x, y, scale in face_positions(width, height, t, frames):
                h, w = int(head.shape[0] * scale), int(head.shape[1] * scale)
                patch = cv2.resize(head, (w, h), interpolation=cv2.INTER_AREA)
                x2, y2 = min(width, x + w), min(height, y + h)
                img[y:y2, x:x2] = patch[: y2 - y, : x2 - x]
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = t
            frame.time_base = Fraction(1, fps)
            out.mux(video.encode(frame))
            if sound is not None:
                while samples < (t + 1) * 48000 // fps:
                    n = 1024
                    tone = 0.2 * np.sin(2 * np.pi * 440 * (samples + np.arange(n)) / 48000)
                    chunk = np.repeat(tone.astype(np.float32)[None], 2, axis=0)
                    af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
                    af.sample_rate, af.pts = 48000, samples
                    samples += n
                    out.mux(sound.encode(af))
        out.mux(video.encode())
        if sound is not None:
            out.mux(sound.encode())


def pan_clip(photo: Path, path: Path, width: int, height: int, frames: int, fps: int = 30) -> None:
    """A slow pan across a real crowd photo: a `width` x `height` window moving left to right over
    the photo scaled to twice the window's width (faces as a phone filming a march sees them)."""
    import cv2

    image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
    scale = 2 * width / image.shape[1]
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if image.shape[0] < height:
        image = cv2.resize(image, (image.shape[1] * height // image.shape[0] + 1, height))
    top = (image.shape[0] - height) // 2
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        for t in range(frames):
            x = round((image.shape[1] - width) * t / max(1, frames - 1))
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(image[top : top + height, x : x + width]), format="rgb24"
            )
            frame.pts, frame.time_base = t, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode())
