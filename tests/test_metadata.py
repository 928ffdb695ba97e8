"""Identifying metadata is named on the way in and gone on the way out, with exiftool as the oracle."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from unseen.media import ImageFormat, load_image, read_back, save_image
from unseen.media._exif import ORDER
from unseen.media.metadata import scan

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool is absent: apt-get install libimage-exiftool-perl"
)
SECRETS = (b"CAM123456", b"LENS4242", b"Jane Doe", b"Canon", b"secret note", b"Acme Photo")

COMMON_PLANT = [
    "-GPSLatitude=51.5", "-GPSLatitudeRef=N", "-GPSLongitude=0.12", "-GPSLongitudeRef=W",
    "-SerialNumber=CAM123456", "-LensSerialNumber=LENS4242", "-XMP-aux:SerialNumber=CAM123456",
    "-OwnerName=Jane Doe", "-Artist=Jane Doe", "-XMP-dc:Creator=Jane Doe",
    "-DateTimeOriginal=2024:01:02 03:04:05", "-CreateDate=2024:01:02 03:04:05",
    "-Make=Canon", "-Model=EOS 5D", "-Software=Acme Photo 1.0",
    "-XMP:GPSLatitude=51.5", "-XMP:GPSLongitude=0.12", "-UserComment=secret note",
]  # fmt: skip
EXTRA_PLANT = {
    ImageFormat.JPEG: ["-IPTC:By-line=Jane Doe", "-Comment=secret note", "-ThumbnailImage<=@THUMB@"],
    ImageFormat.PNG: ["-IPTC:By-line=Jane Doe", "-PNG:Comment=secret note", "-ThumbnailImage<=@THUMB@"],
    ImageFormat.WEBP: ["-ThumbnailImage<=@THUMB@"],
    ImageFormat.TIFF: ["-IPTC:By-line=Jane Doe", "-ImageDescription=secret note"],
    ImageFormat.HEIF: ["-ThumbnailImage<=@THUMB@"],
}
EXPECTED = {"GPS", "camera serial", "capture time", "camera make/model", "owner name", "software",
            "XMP", "comment", "ICC profile"}  # fmt: skip
EXPECTED_EXTRA = {
    ImageFormat.JPEG: {"IPTC", "thumbnail"},
    ImageFormat.PNG: {"IPTC", "thumbnail"},
    ImageFormat.WEBP: {"thumbnail"},
    ImageFormat.TIFF: {"IPTC"},
    ImageFormat.HEIF: {"thumbnail"},
}
IDENTIFYING_NAME = re.compile(
    r"GPS|Serial|Owner|Artist|Creator|Author|By-line|DateTime|CreateDate|ModifyDate|Make|Model"
    r"|Thumbnail|Comment|Software|Copyright|Description|Orientation|Preview"
)
IDENTIFYING_GROUP = ("XMP", "IPTC", "ICC", "Photoshop", "MakerNotes", "GPS", "IFD1", "ExifIFD", "MPF")


def scene(height: int = 96, width: int = 128) -> np.ndarray:
    """Asymmetric blocks plus noise: survives lossy coding, shows any flip or rotation."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 40, (height, width, 3), dtype=np.uint8)
    image[: height // 3, : width // 4] = (230, 40, 40)
    image[height // 2 :, width // 2 :, 1] = 200
    return image


def srgb_profile() -> bytes:
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def exiftool(*args: str | Path) -> list[dict[str, object]]:
    assert EXIFTOOL is not None
    done = subprocess.run([EXIFTOOL, *map(str, args)], capture_output=True, text=True, check=True)
    return json.loads(done.stdout) if done.stdout.startswith("[") else []


def plant(path: Path, args: list[str]) -> None:
    exiftool("-q", "-q", "-overwrite_original", *args, "--", path)


def identifying_tags(path: Path) -> dict[str, object]:
    """Every tag exiftool finds that could identify a person, place, time or device."""
    (tags,) = exiftool("-j", "-a", "-G1", "-ee", "--", path)
    left = {}
    for key, value in tags.items():
        group, _, name = key.partition(":")
        if group in ("System", "ExifTool") or (group == "File" and "Comment" not in name):
            continue
        if group.startswith(IDENTIFYING_GROUP) or IDENTIFYING_NAME.search(name):
            left[key] = value
    return left


@pytest.fixture
def planted(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, ImageFormat]:
    fmt: ImageFormat = request.param
    src = tmp_path / f"src{fmt.suffix}"
    Image.fromarray(scene()).save(src, format=fmt.name if fmt is not ImageFormat.HEIF else "HEIF",
                                  icc_profile=srgb_profile())  # fmt: skip
    thumb = tmp_path / "thumb.jpg"
    Image.fromarray(scene()).resize((32, 24)).save(thumb)  # the thumbnail shows the picture itself
    extra = [arg.replace("@THUMB@", str(thumb)) for arg in EXTRA_PLANT[fmt]]
    plant(src, COMMON_PLANT + extra)
    return src, fmt


@needs_exiftool
@pytest.mark.parametrize("planted", list(ImageFormat), indirect=True, ids=lambda f: f.value)
def test_planted_metadata_is_named_then_gone(planted: tuple[Path, ImageFormat], tmp_path: Path) -> None:
    src, fmt = planted
    assert identifying_tags(src), "the planting itself failed"
    loaded = load_image(src)
    assert EXPECTED | EXPECTED_EXTRA[fmt] <= set(loaded.metadata)
    out = tmp_path / f"out{fmt.suffix}"
    save_image(loaded.pixels, out, fmt)
    assert identifying_tags(out) == {}
    assert read_back(out) == []
    written = out.read_bytes()
    assert not [secret for secret in SECRETS if secret in written]


PLANT_AFTER = [
    (ImageFormat.JPEG, ["-GPSLatitude=51.5", "-GPSLatitudeRef=N"], "GPS"),
    (ImageFormat.JPEG, ["-XMP-dc:Creator=Jane Doe"], "XMP"),
    (ImageFormat.JPEG, ["-Comment=secret note"], "comment"),
    (ImageFormat.JPEG, ["-IPTC:By-line=Jane Doe"], "IPTC"),
    (ImageFormat.JPEG, ["-ICC_Profile<=@ICC@"], "ICC profile"),
    (ImageFormat.PNG, ["-SerialNumber=CAM123456"], "camera serial"),
    (ImageFormat.PNG, ["-XMP-dc:Creator=Jane Doe"], "XMP"),
    (ImageFormat.PNG, ["-PNG:Author=Jane Doe"], "owner name"),
    (ImageFormat.PNG, ["-ICC_Profile<=@ICC@"], "ICC profile"),
    (ImageFormat.WEBP, ["-GPSLatitude=51.5", "-GPSLatitudeRef=N"], "GPS"),
    (ImageFormat.WEBP, ["-XMP-dc:Creator=Jane Doe"], "XMP"),
    (ImageFormat.WEBP, ["-ICC_Profile<=@ICC@"], "ICC profile"),
    (ImageFormat.TIFF, ["-Artist=Jane Doe"], "owner name"),
    (ImageFormat.TIFF, ["-GPSLatitude=51.5", "-GPSLatitudeRef=N"], "GPS"),
    (ImageFormat.TIFF, ["-XMP-dc:Creator=Jane Doe"], "XMP"),
    (ImageFormat.HEIF, ["-Make=Canon"], "camera make/model"),
    (ImageFormat.HEIF, ["-XMP-dc:Creator=Jane Doe"], "XMP"),
]


@needs_exiftool
@pytest.mark.parametrize(("fmt", "args", "name"), PLANT_AFTER, ids=lambda v: getattr(v, "value", None))
def test_read_back_catches_what_is_planted_after_writing(
    fmt: ImageFormat, args: list[str], name: str, tmp_path: Path
) -> None:
    out = tmp_path / f"out{fmt.suffix}"
    save_image(scene(), out, fmt)
    assert read_back(out) == []
    icc = tmp_path / "p.icc"
    icc.write_bytes(srgb_profile())
    plant(out, [arg.replace("@ICC@", str(icc)) for arg in args])
    assert name in read_back(out)


FRESH = [(fmt, False) for fmt in ImageFormat] + [
    (fmt, True) for fmt in ImageFormat if fmt is not ImageFormat.JPEG
]


@pytest.mark.parametrize(("fmt", "with_alpha"), FRESH, ids=[f"{f.value}-{a and 'alpha'}" for f, a in FRESH])
def test_fresh_writes_read_back_clean(fmt: ImageFormat, with_alpha: bool, tmp_path: Path) -> None:
    alpha = np.tile(np.linspace(0, 255, 128, dtype=np.uint8), (96, 1)) if with_alpha else None
    out = tmp_path / f"out{fmt.suffix}"
    save_image(scene(), out, fmt, alpha=alpha)
    assert read_back(out) == []
    written = out.read_bytes().lower()
    assert not [name for name in (b"x265", b"libheif", b"pillow", b"libwebp", b"libtiff") if name in written]


# Hand-made damage, no exiftool needed: each block must be named by the byte walk alone.


def clean_bytes(fmt: ImageFormat, tmp_path: Path) -> bytes:
    out = tmp_path / f"clean{fmt.suffix}"
    save_image(scene(), out, fmt)
    return out.read_bytes()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


def with_png_chunk(data: bytes, chunk: bytes) -> bytes:
    iend = data.rindex(b"IEND") - 4
    return data[:iend] + chunk + data[iend:]


def with_jpeg_segment(data: bytes, marker: int, body: bytes) -> bytes:
    return data[:2] + bytes([0xFF, marker]) + (len(body) + 2).to_bytes(2, "big") + body + data[2:]


def gps_exif() -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)
    return exif.tobytes()


@pytest.mark.parametrize(
    ("fmt", "damage", "name"),
    [
        (ImageFormat.JPEG, lambda d: with_jpeg_segment(d, 0xFE, b"hello"), "comment"),
        (ImageFormat.JPEG, lambda d: with_jpeg_segment(d, 0xEB, b"JP\x00\x00jumb c2pa"), "other metadata"),
        (ImageFormat.JPEG, lambda d: with_jpeg_segment(d, 0xE1, b"Exif\x00\x00" + gps_exif()[6:]), "GPS"),
        (ImageFormat.JPEG, lambda d: d + d, "extra embedded images"),
        (ImageFormat.JPEG, lambda d: d + b"SEFT trailer", "data after the image"),
        (ImageFormat.JPEG, lambda d: d[: len(d) // 2], "unreadable file structure"),
        (ImageFormat.PNG, lambda d: with_png_chunk(d, png_chunk(b"tEXt", b"Author\x00Jane")), "owner name"),
        (ImageFormat.PNG, lambda d: with_png_chunk(d, png_chunk(b"tEXt", b"Whatever\x00x")), "comment"),
        (ImageFormat.PNG, lambda d: with_png_chunk(d, png_chunk(b"eXIf", gps_exif()[6:])), "GPS"),
        (ImageFormat.PNG, lambda d: with_png_chunk(d, png_chunk(b"caBX", b"c2pa")), "other metadata"),
        (
            ImageFormat.PNG,
            lambda d: with_png_chunk(d, png_chunk(b"tIME", b"\x07\xe8\x01\x02\x03\x04\x05")),
            "capture time",
        ),
        (ImageFormat.PNG, lambda d: d + b"appended", "data after the image"),
        (ImageFormat.PNG, lambda d: d[:-20], "unreadable file structure"),
        (ImageFormat.WEBP, lambda d: d + b"appended", "data after the image"),
    ],  # fmt: skip
)
def test_byte_walk_names_planted_blocks(fmt: ImageFormat, damage, name: str, tmp_path: Path) -> None:  # noqa: ANN001
    assert name in scan(damage(clean_bytes(fmt, tmp_path)), fmt)


def test_webp_exif_chunk_is_named(tmp_path: Path) -> None:
    out = tmp_path / "x.webp"
    Image.fromarray(scene()).save(out, exif=gps_exif())
    assert {"GPS", "other EXIF"} <= set(read_back(out))


def test_second_tiff_page_is_named(tmp_path: Path) -> None:
    out = tmp_path / "x.tif"
    Image.fromarray(scene()).save(out, save_all=True, append_images=[Image.fromarray(scene())])
    assert "extra embedded images" in read_back(out)


def test_names_come_once_in_a_fixed_order(tmp_path: Path) -> None:
    data = clean_bytes(ImageFormat.JPEG, tmp_path)
    for _ in range(3):
        data = with_jpeg_segment(data, 0xFE, b"again")
        data = with_jpeg_segment(data, 0xE1, b"Exif\x00\x00" + gps_exif()[6:])
    names = scan(data, ImageFormat.JPEG)
    assert names == ["GPS", "comment"]
    assert names == sorted(names, key=ORDER.index)
