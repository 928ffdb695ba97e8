"""Seed files for the fuzzers, generated here (no photo of anyone), and the mutations applied to them.

Shared by tests/test_fuzz.py (hypothesis, bounded) and bench/fuzz_atheris.py (long sessions).
Every seed is small, so one decode costs milliseconds, and carries the structures worth breaking:
EXIF with an orientation and a GPS pointer, comments, ICC profiles, XMP, palettes, 16-bit samples,
audio tracks beside the video.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import cast

import av
import numpy as np
import pillow_heif
from PIL import Image, ImageCms
from PIL.PngImagePlugin import PngInfo

from unseen.types import Detections

pillow_heif.register_heif_opener()

# Tags whose neighbourhood holds the length and size fields a hostile file lies about.
LANDMARKS = (
    b"\xff\xc0", b"\xff\xc2", b"\xff\xc4", b"\xff\xda", b"\xff\xdb", b"\xff\xe1", b"\xff\xfe",
    b"IHDR", b"IDAT", b"PLTE", b"tRNS", b"iCCP", b"tEXt", b"eXIf",
    b"RIFF", b"VP8 ", b"VP8L", b"VP8X", b"EXIF", b"ICCP", b"ALPH",
    b"II*\x00", b"MM\x00*", b"Exif",
    b"ftyp", b"meta", b"iloc", b"iinf", b"iprp", b"ispe", b"hvcC", b"moov", b"trak", b"mdhd", b"stsd",
    b"stsz", b"stco", b"stts", b"avcC", b"mdat",
    b"\x1aE\xdf\xa3", b"\x18S\x80g", b"\x16T\xaek", b"\x1fC\xb6u", b"\xa3", b"\xb0", b"\xba",
)  # fmt: skip
INTERESTING = (0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0xEA60, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)  # fmt: skip


def _picture(width: int, height: int, seed: int = 1) -> np.ndarray:
    """Blocks and noise: structure for the codecs, and nothing resembling a face."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    image[: height // 2, : width // 2] = (200, 30, 30)
    return image


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate
    exif[0x010F] = "Fuzzcam"
    exif[0x0110] = "FZ-1"
    exif[0x0132] = "2024:01:02 03:04:05"
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 29.0)  # GPS latitude
    exif.get_ifd(0x8769)[0xA431] = "SERIAL-0001"
    return exif.tobytes()


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


TIFF_TAGS = {271: "Fuzzcam", 272: "FZ-1", 274: 6, 306: "2024:01:02 03:04:05", 315: "fuzz"}


@functools.cache
def image_seeds() -> dict[str, bytes]:
    """Small valid photos in every format unseen reads, each with something to parse besides pixels."""
    rgb = Image.fromarray(_picture(24, 16))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    png_info = PngInfo()
    png_info.add_text("Author", "fuzz")
    png_info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>", zip=True)
    gray16 = Image.fromarray(np.tile(np.linspace(0, 65535, 20).astype(np.uint16), (12, 1)))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    rgba = rgb.convert("RGBA")
    rgba.putalpha(128)
    return {
        "jpeg": _save(rgb, "JPEG", exif=_exif(), comment=b"fuzz comment", quality=80),
        "jpeg-progressive": _save(rgb, "JPEG", progressive=True, icc_profile=icc, quality=60),
        "jpeg-cmyk": _save(rgb.convert("CMYK"), "JPEG"),
        "png": _save(rgb, "PNG", exif=_exif(), pnginfo=png_info),
        "png-16bit": _save(gray16, "PNG"),
        "png-palette": _save(palette, "PNG", transparency=0),
        "png-icc-alpha": _save(rgba, "PNG", icc_profile=icc),
        "webp": _save(rgb, "WEBP", exif=_exif(), quality=70),
        "webp-lossless-alpha": _save(rgba, "WEBP", lossless=True, icc_profile=icc),
        "tiff": _save(rgb, "TIFF", tiffinfo=TIFF_TAGS, compression="tiff_deflate"),
        "tiff-raw-exif": _save(rgb, "TIFF", exif=_exif()),
        "heic": _save(rgb, "HEIF", exif=_exif(), quality=50),
    }


def write_clip(
    path: Path,
    frames: int = 6,
    size: tuple[int, int] = (32, 32),
    audio: str | None = "aac",
    codec: str = "libx264",
    rate: int = 10,
    options: dict[str, str] | None = None,
) -> None:
    """A tiny clip: moving blocks, optional audio, a tag to strip."""
    width, height = size
    with av.open(str(path), "w") as out:
        out.metadata["comment"] = "fuzz"
        video = cast(av.VideoStream, out.add_stream(codec, rate=rate, options=options or {}))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = cast(av.AudioStream, out.add_stream(audio, rate=48000)) if audio else None
        per_frame = 960 if audio == "libopus" else 1024  # Opus takes 20 ms frames only
        samples = 0
        for i in range(frames):
            image = np.roll(_picture(width, height, seed=2), i * 3, axis=1)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, rate)
            out.mux(video.encode(frame))
            if sound is not None:
                while samples < (i + 1) * 48000 // rate:
                    tone = (0.1 * np.sin(np.arange(per_frame) / 9 + samples)).astype(np.float32)
                    chunk = av.AudioFrame.from_ndarray(
                        tone[None], format="fltp" if audio == "aac" else "flt", layout="mono"
                    )
                    chunk.sample_rate, chunk.pts = 48000, samples
                    samples += per_frame
                    out.mux(sound.encode(chunk))
        out.mux(video.encode())
        if sound is not None:
            out.mux(sound.encode())


@functools.cache
def video_seeds() -> dict[str, bytes]:
    """Tiny MP4 (H.264 + AAC), MKV (H.264, no audio) and WebM (VP9 + Opus) clips."""
    import tempfile

    fast = {"preset": "ultrafast"}
    vp9 = {"deadline": "realtime", "cpu-used": "8"}
    specs = {
        "mp4": ("clip.mp4", "libx264", "aac", fast),
        "mkv": ("clip.mkv", "libx264", None, fast),
        "webm": ("clip.webm", "libvpx-vp9", "libopus", vp9),
    }
    seeds = {}
    with tempfile.TemporaryDirectory(prefix="unseen-fuzz-seed-") as folder:
        for name, (file, codec, audio, options) in specs.items():
            path = Path(folder) / file
            write_clip(path, codec=codec, audio=audio, options=options)
            seeds[name] = path.read_bytes()
    return seeds


def landmarks(data: bytes) -> list[int]:
    """Offsets of the structure tags in data (first few of each), where size fields live."""
    found = []
    for tag in LANDMARKS:
        start = 0
        for _ in range(4 if len(tag) > 1 else 0):
            at = data.find(tag, start)
            if at < 0:
                break
            found.append(at)
            start = at + 1
    return sorted(found)


class Mutator:
    """Byte-level mutations driven by a source of integers (hypothesis draws, atheris bytes, numpy)."""

    def __init__(self, pick: object) -> None:
        self.pick = pick  # callable(lo, hi) -> int in [lo, hi]

    def n(self, lo: int, hi: int) -> int:
        return int(self.pick(lo, max(lo, hi)))  # type: ignore[operator]

    def mutate(self, data: bytes, donors: list[bytes]) -> bytes:
        out = bytearray(data)
        for _ in range(self.n(1, 4)):
            op = self.n(0, 6)
            if not out:
                break
            if op == 0:  # flip a bit
                out[self.n(0, len(out) - 1)] ^= 1 << self.n(0, 7)
            elif op == 1:  # overwrite a byte
                out[self.n(0, len(out) - 1)] = self.n(0, 255)
            elif op == 2:  # truncate
                out = out[: self.n(0, len(out) - 1)]
            elif op == 3:  # splice: keep a head, graft the tail of another seed
                donor = donors[self.n(0, len(donors) - 1)]
                out = out[: self.n(0, len(out))] + donor[self.n(0, len(donor)) :]
            elif op == 4:  # duplicate or move a block
                a = self.n(0, len(out) - 1)
                b = self.n(a, min(len(out), a + 256))
                at = self.n(0, len(out))
                out[at:at] = out[a:b]
            else:  # a size or length field near a structure tag gets a hostile value
                marks = landmarks(bytes(out)) or [0]
                base = marks[self.n(0, len(marks) - 1)] + self.n(-8, 12)
                width = (1, 2, 4, 8)[self.n(0, 3)]
                value = INTERESTING[self.n(0, len(INTERESTING) - 1)] % (1 << (8 * width))
                field = value.to_bytes(width, ("big", "little")[self.n(0, 1)])
                base = max(0, min(base, len(out) - width))
                out[base : base + width] = field
        return bytes(out)


# The properties. `note` receives one outcome name per reader call (for statistics).
FUZZ_PIXELS = 1_000_000  # a mutated header may claim any size; tests/test_limits.py covers big ones
Note = Callable[[str], None]


def _ignore(outcome: str) -> None:
    pass


def check_image(data: bytes, folder: Path, note: Note = _ignore) -> None:
    """Any bytes: load_image decodes a sane picture or raises an UnseenError; so does read_back."""
    from unseen.errors import UnreadableInput, UnseenError, UnsupportedInput
    from unseen.media.image import load_image, read_back, sniff_format

    path = folder / "input.bin"
    path.write_bytes(data)
    try:
        fmt = sniff_format(path)
    except (UnreadableInput, UnsupportedInput):
        fmt = None
    try:
        loaded = load_image(path, FUZZ_PIXELS)
    except UnseenError as error:
        note(f"load_image: {type(error).__name__}")
    else:
        note("load_image: loaded")
        assert fmt is loaded.format
        pixels = loaded.pixels
        assert pixels.dtype == np.uint8 and pixels.ndim == 3 and pixels.shape[2] == 3
        assert 0 < pixels.shape[0] * pixels.shape[1] <= FUZZ_PIXELS
        assert loaded.alpha is None or loaded.alpha.shape == pixels.shape[:2]
        assert all(isinstance(name, str) for name in loaded.metadata)
    try:
        left = read_back(path)
    except UnseenError:
        assert fmt is None, "read_back refused a file whose format sniffs fine"
    else:
        assert isinstance(left, list) and all(isinstance(name, str) for name in left)


class NoFaces:
    """A detector that finds nothing: the fuzzer tests the container and codec path, not the model."""

    def detect(self, image: np.ndarray) -> Detections:
        return Detections.empty()


def check_video(data: bytes, folder: Path, suffix: str, note: Note = _ignore) -> None:
    """Any bytes: is_video answers a bool; the video path writes a whole output or raises an
    UnseenError leaving nothing, never a stray temporary file."""
    from unseen.errors import UnseenError
    from unseen.media.video import TMP_PREFIX, anonymize_video, is_video
    from unseen.settings import Settings

    src = folder / f"input{suffix}"
    src.write_bytes(data)
    out_dir = folder / "out"
    out_dir.mkdir(exist_ok=True)
    dst = out_dir / f"output{suffix}"
    dst.unlink(missing_ok=True)
    answer = is_video(src)
    assert answer in (True, False)
    if not answer:
        note("is_video: False")
        return
    try:
        settings = Settings(verify=False, max_pixels=FUZZ_PIXELS)
        report = anonymize_video(src, dst, settings, detector=NoFaces())
    except UnseenError as error:
        note(f"anonymize_video: {type(error).__name__}")
        assert not dst.exists()
    else:
        note("anonymize_video: written")
        assert dst.is_file() and report.output == str(dst)
    assert not list(out_dir.glob(TMP_PREFIX + "*")), "a temporary file survived"
