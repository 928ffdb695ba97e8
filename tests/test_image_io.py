"""Photo files: content sniffing, guarded decoding, colour and orientation, atomic pixel-only writes."""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms

from unseen.errors import InputTooLarge, OutputError, UnreadableInput, UnsupportedInput
from unseen.media import ImageFormat, load_image, read_back, save_image, sniff_format

PIL_NAME = {f: f.name for f in ImageFormat}


def scene(height: int = 96, width: int = 128) -> np.ndarray:
    """Asymmetric blocks plus mild noise: survives lossy coding, shows any flip or rotation."""
    rng = np.random.default_rng(2)
    image = rng.integers(0, 30, (height, width, 3), dtype=np.uint8)
    image[: height // 3, : width // 4] = (230, 40, 40)
    image[height // 2 :, width // 2 :, 1] = 200
    return image


def encoded(fmt: ImageFormat, image: Image.Image | None = None, **options: object) -> bytes:
    buffer = io.BytesIO()
    (image or Image.fromarray(scene())).save(buffer, format=PIL_NAME[fmt], **options)
    return buffer.getvalue()


def close(a: np.ndarray, b: np.ndarray, tolerance: float = 8.0) -> bool:
    return a.shape == b.shape and float(np.abs(a.astype(int) - b.astype(int)).mean()) < tolerance


@pytest.mark.parametrize("fmt", list(ImageFormat), ids=lambda f: f.value)
def test_format_comes_from_content_not_name(fmt: ImageFormat, tmp_path: Path) -> None:
    liar = tmp_path / "photo.gif"
    liar.write_bytes(encoded(fmt))
    assert sniff_format(liar) is fmt
    assert load_image(liar).format is fmt


@pytest.mark.parametrize("fmt", list(ImageFormat), ids=lambda f: f.value)
def test_round_trip_keeps_the_picture(fmt: ImageFormat, tmp_path: Path) -> None:
    out = tmp_path / f"out{fmt.suffix}"
    save_image(scene(), out, fmt)
    loaded = load_image(out)
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.flags.writeable
    assert loaded.alpha is None and loaded.metadata == []
    if fmt in (ImageFormat.PNG, ImageFormat.TIFF):
        assert np.array_equal(loaded.pixels, scene())
    else:
        assert close(loaded.pixels, scene())


@pytest.mark.parametrize("fmt", [f for f in ImageFormat if f is not ImageFormat.JPEG], ids=lambda f: f.value)
def test_alpha_survives(fmt: ImageFormat, tmp_path: Path) -> None:
    alpha = np.tile(np.linspace(0, 255, 128).astype(np.uint8), (96, 1))
    out = tmp_path / f"out{fmt.suffix}"
    save_image(scene(), out, fmt, alpha=alpha)
    loaded = load_image(out)
    assert loaded.alpha is not None and close(loaded.alpha, alpha, 3.0)


def test_jpeg_refuses_alpha_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="transparency"):
        save_image(scene(), tmp_path / "x.jpg", ImageFormat.JPEG, alpha=np.zeros((96, 128), np.uint8))
    assert list(tmp_path.iterdir()) == []


def gray16() -> Image.Image:
    return Image.fromarray(np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (32, 1)))


MODES: list[tuple[str, Callable[[], Image.Image], ImageFormat, bool]] = [
    ("L", lambda: Image.fromarray(scene()).convert("L"), ImageFormat.PNG, False),
    ("LA", lambda: Image.fromarray(scene()).convert("LA"), ImageFormat.PNG, False),  # opaque alpha
    ("1", lambda: Image.fromarray(scene()).convert("1"), ImageFormat.PNG, False),
    ("P", lambda: Image.fromarray(scene()).convert("P"), ImageFormat.PNG, False),
    ("CMYK-jpeg", lambda: Image.fromarray(scene()).convert("CMYK"), ImageFormat.JPEG, False),
    ("CMYK-tiff", lambda: Image.fromarray(scene()).convert("CMYK"), ImageFormat.TIFF, False),
    ("RGBA-opaque", lambda: Image.fromarray(scene()).convert("RGBA"), ImageFormat.WEBP, False),
    ("I;16", gray16, ImageFormat.PNG, False),
    ("I;16-tiff", gray16, ImageFormat.TIFF, False),
]


@pytest.mark.parametrize(("mode", "make", "fmt", "has_alpha"), MODES, ids=[m[0] for m in MODES])
def test_every_mode_becomes_rgb(
    mode: str, make: Callable[[], Image.Image], fmt: ImageFormat, has_alpha: bool, tmp_path: Path
) -> None:
    image = make()
    src = tmp_path / f"src{fmt.suffix}"
    src.write_bytes(encoded(fmt, image))
    loaded = load_image(src)
    assert loaded.pixels.shape == (image.height, image.width, 3) and loaded.pixels.dtype == np.uint8
    assert (loaded.alpha is not None) is has_alpha
    expected = np.asarray(image.convert("RGB")) if not mode.startswith("I;16") else None
    if expected is not None:
        assert close(loaded.pixels, expected, 12.0)
    else:  # 16-bit grey scaled to 8 bits, not clipped
        assert loaded.pixels[0, -1, 0] == 255 and loaded.pixels[0, 32, 0] in range(125, 135)


def test_transparent_palette_and_grey_alpha_give_alpha(tmp_path: Path) -> None:
    palette = Image.fromarray(scene()).convert("P")
    src = tmp_path / "p.png"
    palette.save(src, transparency=int(np.asarray(palette)[0, 0]))
    assert load_image(src).alpha is not None
    grey = Image.fromarray(scene()).convert("LA")
    grey.putalpha(Image.fromarray(np.full((96, 128), 7, np.uint8)))
    grey.save(src)
    loaded = load_image(src)
    assert loaded.alpha is not None and int(loaded.alpha.max()) == 7


@pytest.mark.parametrize("fmt", list(ImageFormat), ids=lambda f: f.value)
def test_orientation_is_applied(fmt: ImageFormat, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90 degrees clockwise (HEIF stores it as an irot box)
    src = tmp_path / f"src{fmt.suffix}"
    src.write_bytes(encoded(fmt, exif=exif.tobytes()))
    loaded = load_image(src)
    assert close(loaded.pixels, np.rot90(scene(), k=-1))
    assert not close(loaded.pixels.transpose(1, 0, 2), np.rot90(scene(), k=-1))


def swapped_primaries_profile() -> bytes:
    """sRGB with its red and green primaries exchanged: pure red in it is green in sRGB."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = int.from_bytes(data[128:132], "big")
    tags = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, green = tags[b"rXYZ"], tags[b"gXYZ"]
    data[red + 4 : red + 12], data[green + 4 : green + 12] = (
        data[green + 4 : green + 12],
        data[red + 4 : red + 12],
    )
    return bytes(data)


@pytest.mark.parametrize("fmt", [ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.TIFF], ids=lambda f: f.value)
def test_icc_profile_is_converted_to_srgb_and_dropped(fmt: ImageFormat, tmp_path: Path) -> None:
    src = tmp_path / f"src{fmt.suffix}"
    red = Image.fromarray(np.full((16, 16, 3), (200, 0, 0), np.uint8))
    src.write_bytes(encoded(fmt, red, icc_profile=swapped_primaries_profile()))
    loaded = load_image(src)
    r, g, _ = (int(v) for v in loaded.pixels[8, 8])
    assert g > 150 and r < 40, "colours were not converted through the embedded profile"
    assert "ICC profile" in loaded.metadata
    out = tmp_path / f"out{fmt.suffix}"
    save_image(loaded.pixels, out, fmt)
    assert read_back(out) == []
    with Image.open(out) as written:
        assert "icc_profile" not in written.info


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )  # fmt: skip


def half(fmt: ImageFormat) -> bytes:
    data = encoded(fmt)
    return data[: len(data) // 2]


BAD_INPUTS: list[tuple[str, str, Callable[[], bytes], type[Exception]]] = [
    ("empty", "empty.jpg", lambda: b"", UnreadableInput),
    ("zeros", "zeros.jpg", lambda: bytes(4096), UnreadableInput),
    ("random", "random.jpg", lambda: np.random.default_rng(3).bytes(4096), UnsupportedInput),
    ("text", "notes.jpg", lambda: b"Meeting at the square at noon.\n" * 20, UnsupportedInput),
    ("dash-name", "-rf.jpg", lambda: b"not an image", UnsupportedInput),
    ("gif", "a.gif", lambda: b"GIF89a" + bytes(40), UnsupportedInput),
    ("pdf", "a.pdf", lambda: b"%PDF-1.7\n" + bytes(100), UnsupportedInput),
    ("video", "clip.heic", lambda: b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(64),
     UnsupportedInput),
    ("bomb", "bomb.png", lambda: png_header_only(60000, 60000), InputTooLarge),
] + [
    (f"truncated-{fmt.value}", f"cut{fmt.suffix}", lambda fmt=fmt: half(fmt), UnreadableInput)
    for fmt in ImageFormat
]  # fmt: skip


@pytest.mark.parametrize(("case", "name", "make", "error"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_refused_by_name(
    case: str, name: str, make: Callable[[], bytes], error: type[Exception], tmp_path: Path
) -> None:
    path = tmp_path / name
    path.write_bytes(make())
    limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(error) as raised:
        load_image(path)
    assert name in str(raised.value) and "\n" not in str(raised.value)
    assert limit == Image.MAX_IMAGE_PIXELS


def test_missing_file_folder_and_device_are_unreadable(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.jpg", tmp_path, Path("/dev/zero")):
        with pytest.raises(UnreadableInput, match=path.name):
            load_image(path)


def test_pixel_limit_is_checked_before_decoding(tmp_path: Path) -> None:
    src = tmp_path / "big.png"
    src.write_bytes(encoded(ImageFormat.PNG))
    with pytest.raises(InputTooLarge, match="big.png"):
        load_image(src, max_pixels=96 * 128 - 1)
    assert load_image(src, max_pixels=96 * 128).pixels.shape == (96, 128, 3)


@pytest.mark.parametrize("fmt", list(ImageFormat), ids=lambda f: f.value)
def test_our_limit_governs_not_pillows_global(
    fmt: ImageFormat, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's TIFF loader rechecks while decoding
    src = tmp_path / f"src{fmt.suffix}"
    src.write_bytes(encoded(fmt))
    assert load_image(src, max_pixels=96 * 128).pixels.shape == (96, 128, 3)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_a_dash_named_photo_loads(tmp_path: Path) -> None:
    src = tmp_path / "-o.jpg"
    src.write_bytes(encoded(ImageFormat.JPEG))
    assert load_image(src).format is ImageFormat.JPEG


def heif_pair() -> bytes:
    heif = pillow_heif.from_pillow(Image.fromarray(scene()))
    heif.add_from_pillow(Image.fromarray(scene()[::-1].copy()))
    buffer = io.BytesIO()
    heif.save(buffer)
    return buffer.getvalue()


def several(fmt: ImageFormat) -> bytes:
    frames = [Image.fromarray(scene()), Image.fromarray(scene()[::-1].copy())]
    return encoded(fmt, frames[0], save_all=True, append_images=frames[1:])


MULTI = [
    ("webp", lambda: several(ImageFormat.WEBP)),
    ("tiff", lambda: several(ImageFormat.TIFF)),
    ("apng", lambda: several(ImageFormat.PNG)),
    ("heif", heif_pair),
]


@pytest.mark.parametrize(("case", "make"), MULTI, ids=[m[0] for m in MULTI])
def test_several_images_in_one_file_are_refused(case: str, make: Callable[[], bytes], tmp_path: Path) -> None:
    path = tmp_path / f"multi.{case}"
    path.write_bytes(make())
    with pytest.raises(UnsupportedInput, match="several images"):
        load_image(path)


def test_mpo_loads_its_main_picture_and_names_the_extras(tmp_path: Path) -> None:
    src = tmp_path / "stereo.jpg"
    frames = [Image.fromarray(scene()), Image.fromarray(scene()[::-1].copy())]
    frames[0].save(src, format="MPO", save_all=True, append_images=frames[1:])
    loaded = load_image(src)
    assert close(loaded.pixels, scene()) and "extra embedded images" in loaded.metadata


def failing_save(exception: BaseException) -> Callable[..., None]:
    def save(self: Image.Image, fp: io.BufferedWriter, *args: object, **kwargs: object) -> None:
        fp.write(b"half a picture")
        raise exception

    return save


@pytest.mark.parametrize("exception", [RuntimeError("encoder broke"), KeyboardInterrupt()])
def test_failed_save_leaves_nothing(
    exception: BaseException, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Image.Image, "save", failing_save(exception))
    with pytest.raises(OutputError if isinstance(exception, Exception) else KeyboardInterrupt):
        save_image(scene(), tmp_path / "out.png", ImageFormat.PNG)
    assert list(tmp_path.iterdir()) == []


def test_failed_save_keeps_an_older_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dst = tmp_path / "out.png"
    save_image(scene(), dst, ImageFormat.PNG)
    before = dst.read_bytes()
    monkeypatch.setattr(Image.Image, "save", failing_save(OSError("disk full")))
    with pytest.raises(OutputError, match="out.png"):
        save_image(scene()[::-1].copy(), dst, ImageFormat.PNG)
    assert dst.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_save_is_a_plain_file_with_normal_permissions(tmp_path: Path) -> None:
    dst = tmp_path / "out.webp"
    save_image(scene(), dst, ImageFormat.WEBP)
    umask = os.umask(0o022)
    os.umask(umask)
    assert [p.name for p in tmp_path.iterdir()] == ["out.webp"]
    assert dst.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("where", ["missing", "is-a-folder"])
def test_unwritable_destination_is_an_output_error(where: str, tmp_path: Path) -> None:
    dst = tmp_path / "no" / "out.jpg" if where == "missing" else tmp_path / "taken"
    if where == "is-a-folder":
        dst.mkdir()
    with pytest.raises(OutputError):
        save_image(scene(), dst, ImageFormat.JPEG)
    assert not [p for p in tmp_path.rglob(".unseen-tmp-*")]


def test_save_checks_its_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        save_image(scene().astype(np.float32), tmp_path / "x.png", ImageFormat.PNG)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        save_image(scene()[..., :2], tmp_path / "x.png", ImageFormat.PNG)
    assert list(tmp_path.iterdir()) == []


def test_suffixes() -> None:
    assert [f.suffix for f in ImageFormat] == [".jpg", ".png", ".webp", ".tif", ".heic"]


@pytest.mark.parametrize("fmt", list(ImageFormat), ids=lambda f: f.value)
def test_damaged_files_fail_only_with_our_errors(fmt: ImageFormat, tmp_path: Path) -> None:
    """A small fuzzer: flipped bytes and cuts either decode or raise an unseen error, never another."""
    rng = np.random.default_rng(4)
    exif = Image.Exif()
    exif[0x0112] = 3
    exif[0x010F] = "Canon"
    original = np.frombuffer(encoded(fmt, exif=exif.tobytes()), np.uint8)
    path = tmp_path / f"fuzz{fmt.suffix}"
    for _ in range(40):
        data = original.copy()
        spots = rng.integers(0, len(data), 4)
        data[spots] = rng.integers(0, 256, 4)
        cut = int(rng.integers(len(data) // 4, len(data) + 1))
        path.write_bytes(data[:cut].tobytes())
        with contextlib.suppress(UnreadableInput, UnsupportedInput, InputTooLarge):
            load_image(path)
        with contextlib.suppress(UnreadableInput, UnsupportedInput):
            assert isinstance(read_back(path), list)
