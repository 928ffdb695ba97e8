"""One registry says what a file is: a photo by its bytes first, then a video, else refused."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pillow_heif
import pytest
from PIL import Image

from unseen.errors import OutputError, UnreadableInput, UnsupportedInput
from unseen.media.image import ImageFormat
from unseen.media.registry import FileKind, MediaType, identify, is_video, output_type
from unseen.media.video import is_video as video_is_video

pillow_heif.register_heif_opener()
PICTURE = np.random.default_rng(3).integers(0, 255, (64, 64, 3), dtype=np.uint8)


def clip(path: Path, codec: str = "libx264", container: str | None = None) -> Path:
    with av.open(str(path), "w", format=container) as out:
        stream = out.add_stream(codec, rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(PICTURE, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def test_a_heic_photo_is_a_photo_though_ffmpeg_opens_it(tmp_path: Path) -> None:
    heic = tmp_path / "photo.heic"
    Image.fromarray(PICTURE).save(heic, format="HEIF")
    assert identify(heic) == MediaType(FileKind.IMAGE, ".heic", ImageFormat.HEIF)
    assert not is_video(heic) and not video_is_video(heic)


@pytest.mark.parametrize(
    ("name", "fmt", "suffix"),
    [("a.mp4", "JPEG", ".jpg"), ("b.heic", "PNG", ".png"), ("c", "WEBP", ".webp"), ("d.jpg", "TIFF", ".tif")],
)
def test_photos_by_content_not_name(name: str, fmt: str, suffix: str, tmp_path: Path) -> None:
    Image.fromarray(PICTURE).save(tmp_path / name, format=fmt)
    found = identify(tmp_path / name)
    assert found.kind is FileKind.IMAGE and found.suffix == suffix


def test_videos_by_content_and_their_container(tmp_path: Path) -> None:
    assert identify(clip(tmp_path / "x.mp4")) == MediaType(FileKind.VIDEO, ".mp4")
    assert identify(clip(tmp_path / "x.mov")).suffix == ".mov"
    disguised = clip(tmp_path / "clip.mp4")
    disguised.rename(tmp_path / "clip.jpg")
    assert identify(tmp_path / "clip.jpg") == MediaType(FileKind.VIDEO, ".mp4")
    h264_webm = clip(tmp_path / "y.mkv")
    h264_webm.rename(tmp_path / "y.webm")  # H.264 in Matroska: WebM cannot hold it
    assert identify(tmp_path / "y.webm").suffix == ".mkv"
    vp9 = clip(tmp_path / "z.bin", "libvpx-vp9", "webm")
    assert identify(vp9).suffix == ".webm"


def test_refused_and_unreadable(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.jpg").write_bytes(b"")
    good = clip(tmp_path / "good.mp4")
    (tmp_path / "cut.mp4").write_bytes(good.read_bytes()[:200])
    with pytest.raises(UnsupportedInput, match="notes.txt"):
        identify(tmp_path / "notes.txt")
    with pytest.raises(UnreadableInput, match="empty"):
        identify(tmp_path / "empty.jpg")
    with pytest.raises(UnreadableInput, match="truncated or corrupt"):
        identify(tmp_path / "cut.mp4")


def test_avif_is_refused_not_taken_for_a_video(tmp_path: Path) -> None:
    avif = tmp_path / "a.avif"
    try:
        Image.fromarray(PICTURE).save(avif, format="AVIF")
    except (KeyError, OSError, ValueError):
        pytest.skip("this Pillow writes no AVIF")
    with pytest.raises(UnsupportedInput, match="AVIF"):
        identify(avif)


PHOTO = MediaType(FileKind.IMAGE, ".heic", ImageFormat.HEIF)
VIDEO = MediaType(FileKind.VIDEO, ".mp4")
OUTPUTS = [
    (PHOTO, "out.jpg", ImageFormat.JPEG),
    (PHOTO, "out.JPEG", ImageFormat.JPEG),
    (PHOTO, "out.png", ImageFormat.PNG),
    (PHOTO, "out.webp", ImageFormat.WEBP),
    (PHOTO, "out.tiff", ImageFormat.TIFF),
    (PHOTO, "out.heif", ImageFormat.HEIF),
    (PHOTO, "out.mp4", "cannot be written as a video"),
    (PHOTO, "out.gif", "writes a photo as"),
    (PHOTO, "out", "writes a photo as"),
    (VIDEO, "out.mkv", None),
    (VIDEO, "out.webm", None),
    (VIDEO, "out.jpg", "cannot be written as a photo"),
    (VIDEO, "out.avi", "writes a video as"),
]


@pytest.mark.parametrize(
    ("source", "name", "expected"), OUTPUTS, ids=[f"{s.kind.value}-{n}" for s, n, _ in OUTPUTS]
)
def test_output_extension_picks_the_format_within_a_kind(
    source: MediaType, name: str, expected: ImageFormat | str | None
) -> None:
    if isinstance(expected, str) and not isinstance(expected, ImageFormat):
        with pytest.raises(OutputError, match=expected):
            output_type(Path(name), source)
        return
    chosen = output_type(Path(name), source)
    assert chosen.kind is source.kind and chosen.image_format == expected


def test_the_registry_loads_no_model(tmp_path: Path) -> None:
    Image.fromarray(PICTURE).save(tmp_path / "a.heic", format="HEIF")
    clip(tmp_path / "b.mp4")
    code = (
        "import sys\n"
        "from unseen.media.registry import identify\n"
        f"identify({str(tmp_path / 'a.heic')!r}); identify({str(tmp_path / 'b.mp4')!r})\n"
        "print(sorted(m for m in sys.modules if m.startswith(('unseen.detect', 'unseen.verify', "
        "'unseen.models', 'cv2', 'dlib'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_fifo_is_refused_without_reading_it(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableInput, match="not a regular file"):
        identify(fifo)  # would block forever if it were opened
    with pytest.raises(UnreadableInput, match="no such file"):
        identify(tmp_path / "ghost.jpg")


@pytest.mark.parametrize(
    ("name", "data"),
    [("clip.mp4", b"<html>404</html>"), ("IMG_1.JPG", b"\x13\x37" * 500), ("trip.MOV", b"meet at noon\n" * 9),
     ("scan.heic", b"\x01" * 64)],
)  # fmt: skip
def test_a_file_named_as_media_whose_bytes_are_not_is_unreadable(
    name: str, data: bytes, tmp_path: Path
) -> None:
    (tmp_path / name).write_bytes(data)
    with pytest.raises(UnreadableInput, match=f"{name}: named as a (photo|video)"):
        identify(tmp_path / name)


def test_other_files_and_known_formats_under_a_media_name_stay_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_bytes(b"<html>404</html>")
    (tmp_path / "anim.jpg").write_bytes(b"GIF89a" + bytes(40))
    with pytest.raises(UnsupportedInput, match="notes.txt: not a JPEG"):
        identify(tmp_path / "notes.txt")
    with pytest.raises(UnsupportedInput, match="anim.jpg: GIF files are not supported"):
        identify(tmp_path / "anim.jpg")
