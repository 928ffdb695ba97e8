"""Limits: bombs, absurd shapes, lying headers and endless videos are refused or handled in bounded memory.

Each case runs the real command (or load_image) in a subprocess whose peak resident memory is
measured, under an address-space cap so a failure cannot take the machine down with it.
"""

from __future__ import annotations

import os
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from hostile import UNSEEN, measured, png
from unseen.errors import UnreadableInput
from unseen.media.image import load_image

pytestmark = pytest.mark.slow
GB = 1024**3
# load_image in a subprocess: the shape (and, with a second argument, the brightest pixel below
# row 10) on stdout, or the error's class and message on stderr and exit code 2
LOAD = """
import sys
from unseen.errors import UnseenError
from unseen.media.image import load_image
try:
    pixels = load_image(sys.argv[1]).pixels
except UnseenError as error:
    sys.exit(f"{type(error).__name__}: {error}")
print(pixels.shape)
if len(sys.argv) > 2:
    print(int(pixels[10:].max()))
"""
# decoding costs the file's pixels (1 byte each for grey), the RGB array (3) and Pillow's RGB copy (3),
# plus headroom; measured 10.9 bytes a pixel at 100 megapixels
BYTES_PER_PIXEL = 14
BASE_MB = 250  # the interpreter with numpy, Pillow, pillow-heif


def clean_exit(run_stderr: str, name: str) -> None:
    assert "Traceback" not in run_stderr, run_stderr[-2000:]
    errors = [line for line in run_stderr.splitlines() if "warning" not in line]
    assert errors and all(name in line for line in errors), run_stderr


def test_png_bomb_past_the_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png(16384, 16384))  # 268 megapixels of zeros in 261 kB
    assert bomb.stat().st_size < 300_000
    out = tmp_path / "out"
    run = measured([*UNSEEN, str(bomb), "--no-verify", "-o", f"{out}/"], cap_bytes=3 * GB)
    assert run.code == 2
    clean_exit(run.stderr, "bomb.png")
    assert "pixels" in run.stderr
    assert list(out.iterdir()) == []
    assert run.peak_mb < 300, f"refusing a bomb took {run.peak_mb:.0f} MB"


def test_bomb_under_the_limit_decodes_in_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "zeros.png"
    bomb.write_bytes(png(8000, 8000))  # 64 megapixels in 60 kB: under the default limit, so decoded
    run = measured([sys.executable, "-c", LOAD, str(bomb)], cap_bytes=4 * GB)
    assert run.code == 0, run.stderr
    assert run.stdout.strip() == "(8000, 8000, 3)"
    bound = BASE_MB + 64e6 * BYTES_PER_PIXEL / 2**20
    assert run.peak_mb < bound, f"{run.peak_mb:.0f} MB to decode 64 megapixels (bound {bound:.0f})"


def test_header_claiming_more_rows_than_the_file_holds(tmp_path: Path) -> None:
    """A 6000 x 6000 header over ten rows of data: refused as damaged, or the missing rows are
    blank (Pillow ends a short zlib stream quietly); either way in memory bounded by the claim."""
    liar = tmp_path / "liar.png"
    liar.write_bytes(png(6000, 6000, rows=10, colour=True))
    run = measured([sys.executable, "-c", LOAD, str(liar), "rows"], cap_bytes=3 * GB)
    if run.code == 0:
        assert run.stdout.split("\n")[:2] == ["(6000, 6000, 3)", "0"], run.stdout
    else:
        clean_exit(run.stderr, "liar.png")
        assert run.stderr.startswith("UnreadableInput: ")
    bound = BASE_MB + 36e6 * BYTES_PER_PIXEL / 2**20
    assert run.peak_mb < bound, f"{run.peak_mb:.0f} MB (bound {bound:.0f})"


def test_header_claiming_fewer_pixels_than_the_file_holds(tmp_path: Path) -> None:
    """A 16 x 16 header over the data of a 400 x 400 picture: the header's size, or refused."""
    small = png(16, 16, colour=True)
    big = png(400, 400, colour=True)
    idat = big.index(b"IDAT") - 4
    liar = tmp_path / "liar.png"
    liar.write_bytes(small[: small.index(b"IDAT") - 4] + big[idat:])
    try:
        assert load_image(liar).pixels.shape == (16, 16, 3)
    except UnreadableInput as error:
        assert "liar.png" in str(error)


def wide_or_large(path: Path, width: int, height: int) -> None:
    pixels = np.zeros((height, width, 3), np.uint8)
    pixels[..., 1] = np.arange(width) % 251  # something to code, nothing like a face
    Image.fromarray(pixels).save(path)


def test_sixty_thousand_pixel_wide_photo(tmp_path: Path) -> None:
    wide = tmp_path / "wide.png"
    wide_or_large(wide, 60000, 8)
    run = measured([*UNSEEN, str(wide), "--no-verify", "-o", f"{tmp_path}/out/"], cap_bytes=3 * GB)
    assert run.code in (0, 2)
    if run.code == 2:
        clean_exit(run.stderr, "wide.png")
    assert run.peak_mb < 1500, f"{run.peak_mb:.0f} MB for a 480,000-pixel photo"


def test_ordinary_twelve_megapixel_photo_fits_in_four_gigabytes(tmp_path: Path) -> None:
    photo = tmp_path / "phone.jpg"
    wide_or_large(photo, 4000, 3000)
    run = measured([*UNSEEN, str(photo), "--no-verify", "-o", f"{tmp_path}/out/"], cap_bytes=4 * GB)
    assert "Traceback" not in run.stderr, run.stderr[-1500:]
    assert run.code == 0


def tiny_frames(path: Path, count: int, fps: int = 1000) -> None:
    """count frames of 1 x 1 pixel (FFV1: x264 refuses odd sizes), written in about a second per 100k."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=fps)
        stream.width = stream.height = 1
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((1, 1, 3), np.uint8), format="rgb24")
        frame = frame.reformat(format="yuv420p")
        for i in range(count):
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(video=0) if packet.size)


# 100,000 frames take ~70 s here (each odd-sized frame is padded to 2 x 2 for x264, in numpy); the
# default run takes 10,000 and shows memory does not grow with the count; UNSEEN_VIDEO_FRAMES=100000
# runs the full one.
FRAMES = int(os.environ.get("UNSEEN_VIDEO_FRAMES", "10000"))


def test_many_tiny_frames_stream_in_flat_memory(tmp_path: Path) -> None:
    peaks = {}
    for count in (FRAMES // 10, FRAMES):
        clip = tmp_path / f"tiny{count}.mkv"
        tiny_frames(clip, count)
        out = tmp_path / f"out{count}"
        run = measured(  # --names keep: "tiny1000" would become "video" (four digits: a counter?)
            [*UNSEEN, str(clip), "--no-verify", "-q", "--names", "keep", "-o", f"{out}/"], cap_bytes=3 * GB
        )
        assert run.code == 0, run.stderr[-1500:]
        written = out / f"tiny{count}.unseen.mkv"
        assert frame_count(written) == count
        peaks[count] = run.peak_mb
    growth = peaks[FRAMES] - peaks[FRAMES // 10]
    assert growth < 40, f"memory grew {growth:.0f} MB from {FRAMES // 10} to {FRAMES} frames: {peaks}"
    assert peaks[FRAMES] < 1000
