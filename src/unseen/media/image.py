"""Photo files in and out: format from content, a guarded full decode, an atomic pixel-only write.

Decoding refuses what it cannot handle completely (unknown content, several images in one file,
more pixels than allowed) instead of guessing. Writing builds a fresh image from the pixels alone,
so nothing of the source file (EXIF, XMP, IPTC, ICC, comments, thumbnails) can ride along.
"""

from __future__ import annotations

import enum
import io
import os
import stat
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pillow_heif
from PIL import Image, ImageCms

from unseen.errors import (
    InputTooLarge,
    OutputError,
    UnknownContent,
    UnreadableInput,
    UnseenError,
    UnsupportedInput,
)
from unseen.tempfiles import make_temp

pillow_heif.register_heif_opener()

HEAD_BYTES = 512  # enough for every signature we check, including a long HEIF ftyp box


class ImageFormat(str, enum.Enum):
    """A photo format unseen reads and writes, named by content, never by file name."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    TIFF = "tiff"
    HEIF = "heif"

    @property
    def suffix(self) -> str:
        return _SUFFIX[self]


_SUFFIX = {
    ImageFormat.JPEG: ".jpg",
    ImageFormat.PNG: ".png",
    ImageFormat.WEBP: ".webp",
    ImageFormat.TIFF: ".tif",
    ImageFormat.HEIF: ".heic",
}
_PIL_NAME = {
    ImageFormat.JPEG: "JPEG",
    ImageFormat.PNG: "PNG",
    ImageFormat.WEBP: "WEBP",
    ImageFormat.TIFF: "TIFF",
    ImageFormat.HEIF: "HEIF",
}
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
# major brands of an ISO media (ftyp) file that is a still picture, not a movie
ISO_PHOTO_BRANDS = frozenset({*_HEIC_BRANDS, b"mif1", b"msf1", b"miaf", b"avif", b"avis"})
_REFUSED_SIGNATURES = (
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"%PDF", "PDF"),
    (b"BM", "BMP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"8BPS", "Photoshop"),
)


@dataclass
class LoadedImage:
    """A decoded photo ready for detection, with the identifying metadata its file carried."""

    pixels: npt.NDArray[np.uint8]  # H x W x 3 RGB, orientation applied, colours in sRGB
    alpha: npt.NDArray[np.uint8] | None  # H x W, only when the source had transparency
    format: ImageFormat
    metadata: list[str]


def sniff_format(path: str | os.PathLike[str]) -> ImageFormat:
    """Name the format of a photo file from its first bytes; refuse anything else."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(HEAD_BYTES)
    except OSError as e:
        raise UnreadableInput(f"{path}: cannot be read ({_why(e)})") from e
    return _format_of(head, path)


def read_image_file(path: str | os.PathLike[str]) -> tuple[bytes, ImageFormat]:
    """Read a whole photo file once, so every later step sees the same bytes."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            # A device or pipe (/dev/zero, a FIFO) would never end: only regular files are read.
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise UnreadableInput(f"{path}: not a regular file")
            data = f.read()
    except OSError as e:
        raise UnreadableInput(f"{path}: cannot be read ({_why(e)})") from e
    return data, _format_of(data[:HEAD_BYTES], path)


def read_back(path: str | os.PathLike[str]) -> list[str]:
    """Identifying metadata left in a written photo file, read from its bytes; [] means clean."""
    from unseen.media.metadata import scan  # metadata imports this module for ImageFormat

    data, fmt = read_image_file(path)
    return scan(data, fmt)


def _format_of(head: bytes, path: Path) -> ImageFormat:
    if not head:
        raise UnreadableInput(f"{path}: the file is empty")
    if head[:3] == b"\xff\xd8\xff":
        return ImageFormat.JPEG
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return ImageFormat.PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return ImageFormat.TIFF
    if head[4:8] == b"ftyp":
        return _heif_brand(head, path)
    if not head.strip(b"\x00"):
        raise UnreadableInput(f"{path}: holds only zero bytes where its header should be (damaged)")
    for signature, name in _REFUSED_SIGNATURES:
        if head.startswith(signature):
            raise UnsupportedInput(f"{path}: {name} files are not supported")
    raise UnknownContent(f"{path}: not a JPEG, PNG, WebP, TIFF or HEIF image")


def _why(error: BaseException) -> str:
    """A backend's reason on one line: messages must stay one line for logs and reports."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join(reason.split()) or type(error).__name__


def _heif_brand(head: bytes, path: Path) -> ImageFormat:
    size = int.from_bytes(head[:4], "big")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(size, len(head)) - 3, 4)}
    if major in _HEIC_BRANDS or (major in (b"mif1", b"msf1", b"miaf") and compatible & _HEIC_BRANDS):
        return ImageFormat.HEIF
    if major in (b"avif", b"avis") or b"avif" in compatible:
        raise UnsupportedInput(f"{path}: AVIF images are not supported")
    raise UnsupportedInput(f"{path}: an ISO media file (video?) but not a HEIF photo")


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_LAB = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))

# Pillow's bomb limit is a module global that its TIFF loader reads again while decoding, so it is
# raised to max_pixels for the whole decode and restored after; the lock keeps threads consistent.
_LIMIT_LOCK = threading.Lock()


def load_image(path: str | os.PathLike[str], max_pixels: int = 250_000_000) -> LoadedImage:
    """Decode a photo fully into RGB pixels (and alpha), refusing bombs, animations and damage."""
    from unseen.media.metadata import scan  # metadata imports this module for ImageFormat

    path = Path(path)
    data, fmt = read_image_file(path)
    found = scan(data, fmt)
    img = _decode(data, fmt, path, max_pixels)
    try:
        rgb, alpha = _to_rgb(img, path)
        # After load(): Pillow's TIFF loader has already turned the pixels and dropped the tag.
        rgb, alpha = _orient(img, rgb, alpha)
        pixels = np.array(rgb, dtype=np.uint8)
        alpha_arr = None if alpha is None else np.array(alpha, dtype=np.uint8)
    except UnseenError:
        raise
    except MemoryError as e:
        raise InputTooLarge(f"{path}: not enough memory to convert it") from e
    except Exception as e:  # a colour conversion Pillow cannot do: the mode is the problem
        raise UnsupportedInput(f"{path}: colour mode {img.mode} is not supported ({_why(e)})") from e
    finally:
        img.close()
    if alpha_arr is not None and alpha_arr.min() == 255:
        alpha_arr = None
    return LoadedImage(pixels=pixels, alpha=alpha_arr, format=fmt, metadata=found)


def _decode(data: bytes, fmt: ImageFormat, path: Path, max_pixels: int) -> Image.Image:
    """Open with the sniffed format's decoder only, check frames and size, then decode it all."""
    with _LIMIT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # damaged EXIF: scan() names it, the CLI reports
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        img = None
        try:
            img = Image.open(io.BytesIO(data), formats=[_PIL_NAME[fmt]])
            if getattr(img, "n_frames", 1) > 1 and img.format != "MPO":
                # MPO extras are previews/depth of the same shot; the first frame is the photo itself.
                raise UnsupportedInput(f"{path}: several images in one file are not supported")
            width, height = img.size
            if width * height > max_pixels:
                raise InputTooLarge(f"{path}: {width}x{height} is more than {max_pixels} pixels")
            if width == 0 or height == 0:
                raise UnreadableInput(f"{path}: the image has no pixels")
            img.load()  # a full decode now, so damage shows here and not halfway through a later step
            return img
        except BaseException as e:
            if img is not None:
                img.close()
            if isinstance(e, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
                raise InputTooLarge(f"{path}: more than {max_pixels} pixels ({_why(e)})") from e
            if isinstance(e, MemoryError):
                raise InputTooLarge(f"{path}: not enough memory to decode it") from e
            if isinstance(e, UnseenError) or not isinstance(e, Exception):
                raise
            # Pillow's decoders raise many exception types on hostile input; all mean "corrupt".
            raise UnreadableInput(f"{path}: damaged or truncated {fmt.value} data ({_why(e)})") from e
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _to_rgb(img: Image.Image, path: Path) -> tuple[Image.Image, Image.Image | None]:
    alpha = None
    if "A" in img.getbands():
        alpha = img.getchannel("A")
    elif img.mode in ("RGBa", "La") or "transparency" in img.info:
        alpha = img.convert("RGBA").getchannel("A")
    colour = _colour_part(img, path)
    profile = img.info.get("icc_profile")
    if profile:
        try:
            converted = ImageCms.profileToProfile(
                colour, ImageCms.ImageCmsProfile(io.BytesIO(profile)), _SRGB, outputMode="RGB"
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            converted = None  # a broken or mismatched profile costs colour accuracy, not privacy
        if isinstance(converted, Image.Image):
            return converted, alpha
    if colour.mode == "LAB":  # Pillow has no direct LAB to RGB conversion
        converted = ImageCms.profileToProfile(colour, _LAB, _SRGB, outputMode="RGB")
        if isinstance(converted, Image.Image):
            return converted, alpha
    return colour.convert("RGB"), alpha


def _colour_part(img: Image.Image, path: Path) -> Image.Image:
    """The colour channels in their own colour space, so an embedded profile still applies."""
    mode = img.mode
    if mode.startswith("I;16") or mode == "I":
        wide = np.asarray(img).astype(np.float32)
        return Image.fromarray(np.clip(np.rint(wide / 257.0), 0, 255).astype(np.uint8))
    if mode == "F":
        raise UnsupportedInput(f"{path}: floating-point images are not supported")
    if mode in ("L", "RGB", "CMYK", "LAB"):
        return img
    if mode in ("LA", "La", "1"):
        return img.convert("L")
    return img.convert("RGB")  # P, PA, RGBA, RGBa, RGBX, YCbCr, HSV


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orient(
    img: Image.Image, rgb: Image.Image, alpha: Image.Image | None
) -> tuple[Image.Image, Image.Image | None]:
    """Turn the pixels upright, since the orientation tag will not be written out."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on damaged EXIF; scan() already named it
            orientation = img.getexif().get(0x0112)  # also reads an XMP tiff:Orientation
    except Exception:  # an unreadable EXIF only costs rotation; the pixels are still correct
        orientation = None
    method = _TRANSPOSE.get(orientation) if isinstance(orientation, int) else None
    if method is None:
        return rgb, alpha
    return rgb.transpose(method), None if alpha is None else alpha.transpose(method)


def save_image(
    pixels: npt.NDArray[np.uint8],
    dst: str | os.PathLike[str],
    format: ImageFormat,
    alpha: npt.NDArray[np.uint8] | None = None,
    quality: int = 92,
    check: Callable[[Path], None] | None = None,
) -> None:
    """Write the pixels alone to dst, atomically: a complete file appears there or nothing does.

    `check` runs on the finished temp file before it is renamed into place; if it raises, nothing
    appears at dst (the pipeline reads the metadata back there).
    """
    dst = Path(dst)
    fmt = ImageFormat(format)
    img = _fresh_image(pixels, alpha, fmt, dst)
    options = _encoder_options(fmt, quality, has_alpha=alpha is not None)
    folder = dst.parent
    try:
        fd, tmp = make_temp(folder, fmt.suffix)
    except OSError as e:
        raise OutputError(f"{dst}: cannot write in {folder} ({_why(e)})") from e
    try:
        with os.fdopen(fd, "wb") as f:
            img.save(f, format=_PIL_NAME[fmt], **options)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if check is not None:
            check(tmp)
        os.replace(tmp, dst)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, Exception) and not isinstance(e, UnseenError):
            raise OutputError(f"{dst}: writing the {fmt.value} file failed ({_why(e)})") from e
        raise
    _fsync_folder(folder)


def _fresh_image(
    pixels: npt.NDArray[np.uint8], alpha: npt.NDArray[np.uint8] | None, fmt: ImageFormat, dst: Path
) -> Image.Image:
    """A new image from pixels only: no info dict, hence no EXIF, ICC, XMP, comment or dpi."""
    if not (isinstance(pixels, np.ndarray) and pixels.dtype == np.uint8 and pixels.ndim == 3):
        raise ValueError("pixels must be an H x W x 3 uint8 array")
    if pixels.shape[2] != 3:
        raise ValueError(f"pixels must have 3 channels, not {pixels.shape[2]}")
    if alpha is None:
        return Image.fromarray(np.ascontiguousarray(pixels))
    if not (isinstance(alpha, np.ndarray) and alpha.dtype == np.uint8 and alpha.shape == pixels.shape[:2]):
        raise ValueError("alpha must be an H x W uint8 array matching the pixels")
    if fmt is ImageFormat.JPEG:
        raise OutputError(f"{dst}: JPEG cannot store transparency; choose PNG, WebP, TIFF or HEIF")
    return Image.fromarray(np.ascontiguousarray(np.dstack([pixels, alpha])))


def _encoder_options(fmt: ImageFormat, quality: int, has_alpha: bool) -> dict[str, Any]:
    if fmt is ImageFormat.JPEG:
        return {"quality": quality}
    if fmt is ImageFormat.PNG:
        return {"optimize": False}
    if fmt is ImageFormat.WEBP:
        # Lossy alpha would blur the transparency edges; the colour stays lossy either way.
        return {"quality": quality, "alpha_quality": 100} if has_alpha else {"quality": quality}
    if fmt is ImageFormat.TIFF:
        return {"compression": "tiff_deflate"}
    return {"quality": quality}  # HEIF


def _umask() -> int:
    """The process umask, so the output gets the permissions a normal file would."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable; best effort, as some systems cannot open folders."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
