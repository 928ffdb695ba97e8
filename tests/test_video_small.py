"""Small faces in video: a face of 10-16 px in view for a second is masked on every frame it is in.

Faces of known size and path: the public-domain astronaut's head, shrunk, moving over a blurred
noise background; the real detector from the photo factory, no scripted one.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import ASTRONAUT_FACE
from support.clips import FAST, decoded, write_clip
from unseen.types import Image
from unseen.video import anonymize_video

Box = tuple[float, float, float, float]


def scene(
    width: int, height: int, astronaut: Image, sizes: list[int], frames: int, speed: int = 1, apart: int = 90
) -> tuple[list[Image], list[list[Box]]]:
    """Frames with a face of each size in `sizes` (px tall) walking right `speed` px a frame, and
    their boxes."""
    rng = np.random.default_rng(3)
    ground = cv2.GaussianBlur(rng.integers(90, 160, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    images, boxes = [], []
    for i in range(frames):
        image = ground.copy()
        here = []
        for k, size in enumerate(sizes):
            w = int(round(size * (x2 - x1) / (y2 - y1)))
            x, y = 40 + apart * k + speed * i, height // 3 + 40 * (k % 2)
            image[y : y + size, x : x + w] = cv2.resize(
                astronaut[y1:y2, x1:x2], (w, size), interpolation=cv2.INTER_AREA
            )
            here.append((float(x), float(y), float(x + w), float(y + size)))
        images.append(image)
        boxes.append(here)
    return images, boxes


def hidden(image: Image, box: Box) -> bool:
    """At least 60% of the face's pixels are under the mask (the photo benchmark's 'protected')."""
    x1, y1, x2, y2 = (int(v) for v in box)
    return bool((image[y1:y2, x1:x2].max(axis=2) < 40).mean() >= 0.6)


@pytest.mark.slow
@pytest.mark.parametrize(("size", "faces"), [((640, 360), [14, 16]), ((640, 480), [14, 16])])
def test_small_faces_are_masked_on_every_frame(
    tmp_path: Path, astronaut: Image, size: tuple[int, int], faces: list[int]
) -> None:
    """Faces the photo detector finds at 2x on one frame stay masked on every frame of their
    second in view. (Here 10 and 12 px faces score under 0.1 at 2x and 3x: found by no pass.)"""
    width, height = size
    images, boxes = scene(width, height, astronaut, faces, frames=30)
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=len(images), size=size, draw=lambda i: images[i], audio_tracks=0)
    anonymize_video(src, dst, FAST)
    bare = [(i, b) for i, image in enumerate(decoded(dst)) for b in boxes[i] if not hidden(image, b)]
    assert bare == [], f"{len(bare)} small faces bare, e.g. {bare[:4]}"


@pytest.mark.slow
def test_tiny_faces_in_a_720p_clip_are_masked_through_the_public_entry(
    tmp_path: Path, astronaut: Image
) -> None:
    """10-16 px faces walking across a 1280x720 clip (no whole-picture 2x pass at this size):
    the 4x looks around what moved find them, and they are masked on every frame they are in."""
    from unseen import anonymize_file
    from unseen.settings import Settings

    images, boxes = scene(1280, 720, astronaut, [10, 12, 14, 16], frames=40)
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=len(images), size=(1280, 720), draw=lambda i: images[i], audio_tracks=0)
    anonymize_file(src, dst, Settings(verify=False))
    bare = [(i, b) for i, image in enumerate(decoded(dst)) for b in boxes[i] if not hidden(image, b)]
    assert bare == [], f"{len(bare)} small faces bare, e.g. {bare[:4]}"
    # a face-sized mask, not a blackout: most of the picture is untouched
    last = decoded(dst)[-1]
    assert (last.max(axis=2) < 40).mean() < 0.05


@pytest.mark.slow
def test_faces_of_30_to_48_px_walking_fast_are_masked_on_every_frame(
    tmp_path: Path, astronaut: Image
) -> None:
    """Faces looked at upscaled around where they were (under ~48 px) but taller than the
    upscaled passes' 30 px: what the crop finds is kept, so they are followed between the
    whole-picture passes (they were dropped, and left bare on most frames of a 1080p clip)."""
    images, boxes = scene(1600, 960, astronaut, [36, 44], frames=36, speed=12, apart=400)
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=len(images), size=(1600, 960), draw=lambda i: images[i], audio_tracks=0)
    anonymize_video(src, dst, FAST)
    bare = [(i, b) for i, image in enumerate(decoded(dst)) for b in boxes[i] if not hidden(image, b)]
    assert bare == [], f"{len(bare)} faces bare, e.g. {bare[:4]}"


@pytest.mark.slow
def test_small_faces_that_stand_still_in_a_720p_clip_are_masked_on_every_frame(
    tmp_path: Path, astronaut: Image
) -> None:
    """14-16 px faces that do not move (a tripod over a crowd, a press conference): nothing moves
    for the 4x motion looks to find, and there is no whole-picture 2x pass at 1280x720, so they
    were never found. The upscaled sweep finds them on the first look and the looks around known
    faces keep them; masked on every frame."""
    from unseen import anonymize_file
    from unseen.settings import Settings

    images, boxes = scene(1280, 720, astronaut, [14, 16, 14, 16], frames=45, speed=0, apart=280)
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=len(images), size=(1280, 720), draw=lambda i: images[i], audio_tracks=0)
    anonymize_file(src, dst, Settings(verify=False))
    bare = [(i, b) for i, image in enumerate(decoded(dst)) for b in boxes[i] if not hidden(image, b)]
    assert bare == [], f"{len(bare)} small faces bare, e.g. {bare[:4]}"
    assert (decoded(dst)[-1].max(axis=2) < 40).mean() < 0.05
